//! gatewayctl as a user runs it: exit codes and exact output.

use std::process::Command;

#[path = "support/run.rs"]
mod run;
use run::gatewayctl;

#[test]
fn check_accepts_the_repository_table() {
    let (code, stdout, stderr) = gatewayctl(&["check"]);
    assert_eq!(
        (code, stderr.as_str()),
        (0, ""),
        "bindings match wrangler.toml"
    );
    assert_eq!(
        stdout,
        [
            "routes.toml: ok — 7 routes, 3 upstreams, environments: local, production",
            "routes.toml: every route reaches an operation of its upstream's contract (3 contracts)",
            "routes.toml:41:1: info: upstream `orders-v2`: GET /orders in its contract backends/orders-v2/openapi.json is exposed by no route",
            "routes.toml:41:1: info: upstream `orders-v2`: POST /orders in its contract backends/orders-v2/openapi.json is exposed by no route\n",
        ]
        .join("\n"),
        "the repository's routes reach their services' contracts"
    );
}

#[test]
fn check_verifies_bindings_against_wrangler_toml_per_environment() {
    let file = "crates/gatewayctl/tests/fixtures/bindings.toml";
    let config = "crates/gatewayctl/tests/fixtures/wrangler-bindings.toml";
    let prod = format!("{config} [env.production]");
    let want = [
        format!("{file}:29:1: policy `burst`: rate limit binding `RL_BURST` is not declared in {prod}: add a [[env.production.ratelimits]] entry with name = \"RL_BURST\" and simple = {{ limit = 5, period = 10 }} [production]"),
        format!("{file}:13:1: policy `per-ip`: limit = 20 and period_s = 10, but rate limit binding `RL_PER_IP` in {prod} has simple.limit = 50 and simple.period = 60: make them equal (the binding enforces wrangler's numbers) [production]"),
        format!("{file}:21:1: policy `quota`: Durable Object binding `RATE_LIMITER` in {prod} has class_name = \"Counter\": rate limits need class_name = \"RateLimiter\" [production]"),
        format!("{file}:8:1: upstream `billing`: service binding `BILLING` is not declared in {prod}: add a [[env.production.services]] entry with binding = \"BILLING\" [production]"),
        format!("{file}: 4 problems; nothing was changed\n"),
    ]
    .join("\n");
    let (code, stdout, stderr) = gatewayctl(&["check", file, "--config", config]);
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (1, "", want.as_str())
    );
    let (code, stdout, _) = gatewayctl(&["check", file, "--config", config, "--env", "local"]);
    assert_eq!(
        (code, stdout.as_str()),
        (
            0,
            format!("{file}: ok — 2 routes, 2 upstreams, environments: local\n").as_str()
        )
    );

    // publish runs the same check before it reaches wrangler (which is not even there).
    let out = Command::new(env!("CARGO_BIN_EXE_gatewayctl"))
        .args(["publish", file, "--env", "production", "--config", config])
        .env("WRANGLER", "/nonexistent/wrangler")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stderr).unwrap(), want);
}

#[test]
fn check_skips_the_binding_check_without_wrangler_toml_and_locates_its_errors() {
    let (code, stdout, stderr) = gatewayctl(&["check", "--config", "nowhere.toml"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("routes.toml: ok"), "{stdout}");
    assert_eq!(
        stderr,
        "note: nowhere.toml not found; bindings were not checked (--config names the wrangler configuration)\n"
    );
    let dir = std::env::temp_dir().join(format!("gatewayctl-cli-w-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("wrangler.toml");
    std::fs::write(&config, "name = \"x\"\n\n[[ratelimits]]\nname = \"RL\"\nsimple = { limit = \"100\", period = 60 }\n").unwrap();
    let (code, _, stderr) = gatewayctl(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(
        (code, stderr),
        (
            1,
            format!(
                "{}:5:20: invalid type: string \"100\", expected u64\nnothing was changed\n",
                config.display()
            )
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_lists_every_problem_with_its_position_and_environments() {
    let file = "crates/gatewayctl/tests/fixtures/bad.toml";
    let (code, stdout, stderr) = gatewayctl(&["check", file]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    let at = |pos: &str| format!("{file}:{pos}:");
    assert_eq!(
        stderr,
        [
            format!("{} upstream `users`: timeout_ms = 5 is out of bounds (10..=100000) [local, production]", at("1:1")),
            format!("{} route `a`: unknown upstream `billing` [local, production]", at("9:6")),
            format!("{} route `a`: path segment `:id` uses the old syntax: write `{{id}}` (matchit 0.9) [local, production]", at("9:6")),
            format!("{} route `b`: method `get` must be upper case: write `GET` [local, production]", at("14:6")),
            format!("{} route `b`: rewrite uses `{{id}}`, which the path does not capture [local, production]", at("14:6")),
            format!("{} upstream `users`: origin `users.example.com` must start with http:// or https:// [production]", at("1:1")),
            format!("{file}: 6 problems; nothing was changed\n"),
        ]
        .join("\n")
    );
}

#[test]
fn check_reports_toml_syntax_and_unknown_fields_with_positions() {
    let dir = std::env::temp_dir().join(format!("gatewayctl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, want) in [
        ("[upstreams.x]\nbogus = 1\n", ":2:1: unknown field `bogus`, expected one of `timeout_ms`, `health_path`, `health_timeout_ms`, `degraded_ms`, `all_unhealthy`, `env`, `contract`\nnothing was changed\n"),
        ("[[routes]]\nid = \"a\"\npath = /x\n", ":3:8: invalid string\nexpected `\"`, `'`\nnothing was changed\n"),
    ] {
        let file = dir.join("t.toml");
        std::fs::write(&file, text).unwrap();
        let (code, _, stderr) = gatewayctl(&["check", file.to_str().unwrap()]);
        assert_eq!((code, stderr), (1, format!("{}{want}", file.display())), "{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn diff_shows_route_changes_and_requests_that_move() {
    let (code, stdout, stderr) = gatewayctl(&[
        "diff",
        "crates/gatewayctl/tests/fixtures/changed.toml",
        "--env",
        "local",
        "--against",
        "crates/gatewayctl/tests/fixtures/base.toml",
        "--requests",
        "crates/gatewayctl/tests/fixtures/requests.txt",
    ]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(
        stdout,
        "diff crates/gatewayctl/tests/fixtures/changed.toml (local) against crates/gatewayctl/tests/fixtures/base.toml
routes:
  ~ route users-get        rewrite.strip_prefix: /api → none; rewrite.template: none → /v2/users/{id}
  ~ route orders-get       methods: [\"GET\"] → [\"GET\",\"DELETE\"]
  + route user-orders      GET /api/users/{id}/orders → orders
  - route legacy           * /v0/{*rest} → users [keys]
  ~ upstream users         timeout_ms: 10000 → 2000
  ~ policy keys            api_key.header: none → x-key
  + policy web             cors
requests that would be served differently: 6 of 7
  DELETE /api/orders/3: 405 → orders-get (orders, 10000 ms) /orders/3
  GET /api/users/1: users-get (users, 10000 ms) /users/1 → users-get (users, 2000 ms) /v2/users/1
  GET /api/users/1/orders: 404 → user-orders (orders, 10000 ms) /orders?user_id=1
  GET /api/users/7?fields=name: users-get (users, 10000 ms) /users/7?fields=name → users-get (users, 2000 ms) /v2/users/7?fields=name
  GET /v0/old/thing: legacy (users, 10000 ms, keys) /v0/old/thing → 404
  GET /v0/sample/path: legacy (users, 10000 ms, keys) /v0/sample/path → 404
"
    );
    let (code, stdout, _) = gatewayctl(&[
        "diff",
        "crates/gatewayctl/tests/fixtures/base.toml",
        "--env",
        "local",
        "--against",
        "crates/gatewayctl/tests/fixtures/base.toml",
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.ends_with("routes: no changes\nrequests that would be served differently: 0 of 3\n"),
        "{stdout}"
    );
}

#[test]
fn compile_prints_a_versioned_document_the_worker_accepts() {
    let (code, stdout, _) = gatewayctl(&["compile", "--env", "local"]);
    assert_eq!(code, 0);
    let doc = gateway::table::RouteDocument::from_json(stdout.trim()).unwrap();
    assert_eq!(doc.environment, "local");
    assert_eq!(doc.checksum.len(), 64);
    assert!(doc.version.ends_with(&doc.checksum[..8]), "{}", doc.version);
    gateway::table::RouteTable::try_from(doc).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["compile"],
        &["check", "--bogus"],
        &["publish", "--env"],
        &["publish", "--local", "--canary", "10", "--shadow"],
        &["publish", "--local", "--canary", "100"],
        &["publish", "--local", "--steps", "5,100"],
        &["promote"],
        &["shadow", "--local"],
        &["abort", "--local", "--since", "1h"],
    ] {
        let (code, _, stderr) = gatewayctl(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
    let (code, _, stderr) = gatewayctl(&["check", "missing.toml"]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("missing.toml: "), "{stderr}");
}

#[test]
fn check_reports_every_policy_problem_at_its_position() {
    let file = "crates/gatewayctl/tests/fixtures/bad-policies.toml";
    let (code, stdout, stderr) = gatewayctl(&["check", file, "--config", "no-such-wrangler.toml"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    let want = [
        "note: no-such-wrangler.toml not found; bindings were not checked (--config names the wrangler configuration)".to_owned(),
        format!("{file}:22:1: policy `mystery`: unknown variant `firewall`, expected one of `cors`, `ip_rules`, `api_key`, `jwt`, `access`, `body_limit`, `rate_limit`, `headers` [local, production]"),
        format!("{file}:13:1: policy `tokens`: algorithms: `HS256` is never accepted (no shared secrets, no unsigned tokens); use RS256, RS384, RS512, ES256 or ES384 [local, production]"),
        format!("{file}:9:1: policy `web`: allow_origins: `https://app.example.com/path` must be `*` or scheme://host[:port] in lower case, without a path (`https://*.example.com` for subdomains) [local, production]"),
        format!("{file}:1:1: route table: unknown policy `nowhere` [local, production]"),
        format!("{file}:30:6: route `a`: unknown policy `missing` [local, production]"),
        format!("{file}:30:6: route `a`: policy `tag` uses `{{param.user}}`, which the route's path does not capture [local, production]"),
        format!("{file}:13:1: policy `tokens`: jwks_url `http://idp.example.com/jwks.json` must be https:// (http:// only for 127.0.0.1 or localhost) [production]"),
        format!("{file}: 7 problems; nothing was changed"),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), want);
}

#[test]
fn check_reports_conditions_splits_and_ambiguity_at_their_routes() {
    let file = "crates/gatewayctl/tests/fixtures/bad-rollout.toml";
    let (code, stdout, stderr) = gatewayctl(&["check", file, "--config", "no-such-wrangler.toml"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    let want = [
        "note: no-such-wrangler.toml not found; bindings were not checked (--config names the wrangler configuration)".to_owned(),
        format!("{file}:14:6: route `ios17`: when.header `X-Beta`: the name must be a lower-case header name [local]"),
        format!("{file}:21:6: route `split`: split.to.orders-v3: unknown upstream `orders-v3` [local]"),
        format!("{file}:21:6: route `split`: split.to: the shares add up to 105%, more than 100% [local]"),
        format!("{file}:21:6: route `split`: split.sticky = \"consumer\" needs an authentication policy on the route (api_key, jwt or access) [local]"),
        format!("{file}: 4 problems; nothing was changed"),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), want);

    // Fixed, the two conditions still overlap: a client `ios/17…` meets both.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bad-rollout.toml"
    ))
    .unwrap()
    .replace(", X-Beta = \"1\"", "")
    .replace(", orders-v3 = 10 }, sticky = \"consumer\"", " }");
    let dir = std::env::temp_dir().join(format!("gatewayctl-rollout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixed = dir.join("routes.toml");
    std::fs::write(&fixed, text).unwrap();
    let fixed = fixed.to_str().unwrap();
    let (code, _, stderr) = gatewayctl(&["check", fixed, "--config", "no-such-wrangler.toml"]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr.lines().nth(1).unwrap(),
        format!("{fixed}:14:6: route `ios17`: a request could meet both this route's `when` and route `beta`'s, which serves the same method on this host and path: make them exclusive (test one key with values that cannot both match: different values, or prefixes neither of which starts with the other) [local]")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rollout_verbs_that_cannot_reach_the_store_change_nothing() {
    for args in [
        &["promote", "--local"][..],
        &["abort", "--local"],
        &["shadow", "end", "--local"],
        &["shadow", "report", "--local", "--since", "30m"],
        &["status", "--local"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_gatewayctl"))
            .args(args)
            .env("WRANGLER", "/nonexistent/wrangler")
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("could not run wrangler"),
            "{args:?}: {stderr}"
        );
    }
}
