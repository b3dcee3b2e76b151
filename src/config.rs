//! The worker's settings (`[vars]` in wrangler.toml): parsed once per isolate, each with a
//! documented default. A value that does not parse is reported (the edge logs a
//! `config_error` event naming the variable) and its default used, never silently.

use std::fmt;

/// The environment when `GATEWAY_ENV` is unset: a deployed worker serves production.
pub const DEFAULT_ENVIRONMENT: &str = "production";
/// Default interval between route table refreshes (`ROUTES_REFRESH_MS`).
pub const DEFAULT_REFRESH_MS: f64 = 5_000.0;
/// Default time limit for reading the route table from KV (`ROUTES_LOAD_TIMEOUT_MS`).
pub const DEFAULT_LOAD_TIMEOUT_MS: f64 = 2_000.0;
/// Default time limit for a rate-limit check (`RATE_LIMIT_TIMEOUT_MS`).
pub const DEFAULT_RATE_LIMIT_TIMEOUT_MS: f64 = 500.0;
/// Default interval between health view refreshes (`HEALTH_REFRESH_MS`).
pub const DEFAULT_HEALTH_REFRESH_MS: f64 = 10_000.0;
/// Default age after which a snapshot no longer counts (`HEALTH_FRESH_MS`): three probe rounds.
pub const DEFAULT_HEALTH_FRESH_MS: f64 = 180_000.0;
/// Default snapshot retention (`HEALTH_RETENTION_HOURS`): a week.
pub const DEFAULT_RETENTION_HOURS: f64 = 168.0;
/// Default time an API key lookup is cached (`API_KEY_CACHE_MS`).
pub const DEFAULT_KEY_CACHE_MS: f64 = 30_000.0;
/// Default time an unknown API key is cached (`API_KEY_NEGATIVE_CACHE_MS`).
pub const DEFAULT_KEY_NEGATIVE_CACHE_MS: f64 = 5_000.0;
/// Default age at which a JWK set is refreshed in the background (`JWKS_REFRESH_MS`).
pub const DEFAULT_JWKS_REFRESH_MS: f64 = 300_000.0;
/// Default least time between two fetches of one JWK set (`JWKS_MIN_REFRESH_MS`).
pub const DEFAULT_JWKS_MIN_REFRESH_MS: f64 = 10_000.0;
/// Default timeout of a JWK set fetch (`JWKS_TIMEOUT_MS`).
pub const DEFAULT_JWKS_TIMEOUT_MS: f64 = 3_000.0;
/// Default interval between flushes of an isolate's traffic statistics (`STATS_FLUSH_MS`).
pub const DEFAULT_STATS_FLUSH_MS: f64 = 5_000.0;
/// Default traffic statistics retention (`STATS_RETENTION_HOURS`): a week.
pub const DEFAULT_STATS_RETENTION_HOURS: f64 = 168.0;

/// Settings read once per isolate from `wrangler.toml` vars.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// How often the route table is re-read from KV (`ROUTES_REFRESH_MS`).
    pub refresh_ms: f64,
    /// How long reading the route table from KV may take (`ROUTES_LOAD_TIMEOUT_MS`).
    pub load_timeout_ms: f64,
    /// How long a rate-limit check (binding or Durable Object) may take before the request
    /// goes on unchecked (`RATE_LIMIT_TIMEOUT_MS`).
    pub rate_limit_timeout_ms: f64,
    /// The environment whose route tables this worker accepts (`GATEWAY_ENV`).
    pub environment: String,
    /// How often the health view is re-read from D1 (`HEALTH_REFRESH_MS`).
    pub health_refresh_ms: f64,
    /// How old a snapshot may be and still count (`HEALTH_FRESH_MS`).
    pub health_fresh_ms: f64,
    /// How long snapshots are kept (`HEALTH_RETENTION_HOURS`), in ms.
    pub health_retention_ms: f64,
    /// How long an API key lookup is cached (`API_KEY_CACHE_MS`): a revoked key keeps
    /// working at most this long (plus KV's own propagation).
    pub api_key_cache_ms: f64,
    /// How long an unknown API key is cached (`API_KEY_NEGATIVE_CACHE_MS`).
    pub api_key_negative_cache_ms: f64,
    /// Age at which a JWK set is refreshed in the background (`JWKS_REFRESH_MS`).
    pub jwks_refresh_ms: f64,
    /// Least time between two fetches of one JWK set (`JWKS_MIN_REFRESH_MS`).
    pub jwks_min_refresh_ms: f64,
    /// Timeout of a JWK set fetch (`JWKS_TIMEOUT_MS`).
    pub jwks_timeout_ms: f64,
    /// How often an isolate adds its traffic statistics to D1 (`STATS_FLUSH_MS`; at least
    /// a second, whatever is set).
    pub stats_flush_ms: f64,
    /// How long traffic statistics are kept (`STATS_RETENTION_HOURS`), in ms.
    pub stats_retention_ms: f64,
}

/// A variable whose value could not be used.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// Its value as set.
    pub value: String,
    /// The default used instead.
    pub default: f64,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {:?} is not a non-negative number; using the default, {}",
            self.var, self.value, self.default as u64
        )
    }
}

impl Config {
    /// Reads every setting through `var`; unset variables take their defaults silently,
    /// unusable ones are listed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> (Config, Vec<ConfigError>) {
        let mut errors = Vec::new();
        let mut number = |name: &'static str, default: f64| match var(name) {
            None => default,
            Some(text) => match text.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => n,
                _ => {
                    errors.push(ConfigError {
                        var: name,
                        value: text,
                        default,
                    });
                    default
                }
            },
        };
        let config = Config {
            refresh_ms: number("ROUTES_REFRESH_MS", DEFAULT_REFRESH_MS),
            load_timeout_ms: number("ROUTES_LOAD_TIMEOUT_MS", DEFAULT_LOAD_TIMEOUT_MS),
            health_refresh_ms: number("HEALTH_REFRESH_MS", DEFAULT_HEALTH_REFRESH_MS),
            health_fresh_ms: number("HEALTH_FRESH_MS", DEFAULT_HEALTH_FRESH_MS),
            health_retention_ms: number("HEALTH_RETENTION_HOURS", DEFAULT_RETENTION_HOURS)
                * 3_600_000.0,
            api_key_cache_ms: number("API_KEY_CACHE_MS", DEFAULT_KEY_CACHE_MS),
            api_key_negative_cache_ms: number(
                "API_KEY_NEGATIVE_CACHE_MS",
                DEFAULT_KEY_NEGATIVE_CACHE_MS,
            ),
            jwks_refresh_ms: number("JWKS_REFRESH_MS", DEFAULT_JWKS_REFRESH_MS),
            jwks_min_refresh_ms: number("JWKS_MIN_REFRESH_MS", DEFAULT_JWKS_MIN_REFRESH_MS),
            jwks_timeout_ms: number("JWKS_TIMEOUT_MS", DEFAULT_JWKS_TIMEOUT_MS),
            stats_flush_ms: number("STATS_FLUSH_MS", DEFAULT_STATS_FLUSH_MS),
            stats_retention_ms: number("STATS_RETENTION_HOURS", DEFAULT_STATS_RETENTION_HOURS)
                * 3_600_000.0,
            rate_limit_timeout_ms: number("RATE_LIMIT_TIMEOUT_MS", DEFAULT_RATE_LIMIT_TIMEOUT_MS),
            environment: String::new(),
        };
        let environment = var("GATEWAY_ENV")
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned());
        (
            Config {
                environment,
                ..config
            },
            errors,
        )
    }
}
