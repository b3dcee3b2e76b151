//! The worker's settings: defaults, parsed values, and every unusable value reported.

use gateway::config::{Config, ConfigError, DEFAULT_ENVIRONMENT, DEFAULT_REFRESH_MS};

fn parse(vars: &[(&str, &str)]) -> (Config, Vec<ConfigError>) {
    Config::from_vars(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

#[test]
fn unset_variables_take_their_defaults_silently() {
    let (config, errors) = parse(&[]);
    assert!(errors.is_empty());
    assert_eq!(config.refresh_ms, DEFAULT_REFRESH_MS);
    assert_eq!(config.environment, DEFAULT_ENVIRONMENT);
    assert_eq!(config.health_retention_ms, 168.0 * 3_600_000.0);
    assert_eq!(
        (config.api_key_cache_ms, config.api_key_negative_cache_ms),
        (30_000.0, 5_000.0)
    );
    assert_eq!(
        (
            config.jwks_refresh_ms,
            config.jwks_min_refresh_ms,
            config.jwks_timeout_ms
        ),
        (300_000.0, 10_000.0, 3_000.0)
    );
    assert_eq!(
        (config.load_timeout_ms, config.rate_limit_timeout_ms),
        (2_000.0, 500.0)
    );
    assert_eq!(
        (config.stats_flush_ms, config.stats_retention_ms),
        (5_000.0, 168.0 * 3_600_000.0)
    );
}

#[test]
fn values_parse_and_bad_ones_are_reported_by_name() {
    let (config, errors) = parse(&[
        ("ROUTES_REFRESH_MS", " 500 "),
        ("GATEWAY_ENV", "local"),
        ("HEALTH_RETENTION_HOURS", "1.5"),
        ("HEALTH_REFRESH_MS", "5s"),
        ("API_KEY_CACHE_MS", "-1"),
        ("JWKS_TIMEOUT_MS", "NaN"),
        ("JWKS_REFRESH_MS", ""),
        ("ROUTES_LOAD_TIMEOUT_MS", "250"),
        ("RATE_LIMIT_TIMEOUT_MS", "soon"),
        ("STATS_FLUSH_MS", "2000"),
        ("STATS_RETENTION_HOURS", "a week"),
    ]);
    assert_eq!(
        (config.refresh_ms, config.environment.as_str()),
        (500.0, "local")
    );
    assert_eq!(config.health_retention_ms, 1.5 * 3_600_000.0);
    assert_eq!(config.load_timeout_ms, 250.0);
    assert_eq!(config.stats_flush_ms, 2_000.0);
    assert_eq!(config.stats_retention_ms, 168.0 * 3_600_000.0);
    let bad: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        bad,
        [
            r#"HEALTH_REFRESH_MS = "5s" is not a non-negative number; using the default, 10000"#,
            r#"API_KEY_CACHE_MS = "-1" is not a non-negative number; using the default, 30000"#,
            r#"JWKS_REFRESH_MS = "" is not a non-negative number; using the default, 300000"#,
            r#"JWKS_TIMEOUT_MS = "NaN" is not a non-negative number; using the default, 3000"#,
            r#"STATS_RETENTION_HOURS = "a week" is not a non-negative number; using the default, 168"#,
            r#"RATE_LIMIT_TIMEOUT_MS = "soon" is not a non-negative number; using the default, 500"#,
        ]
    );
    assert_eq!(
        config.health_refresh_ms, 10_000.0,
        "the default, not the bad value"
    );
    assert_eq!(config.api_key_cache_ms, 30_000.0);
}
