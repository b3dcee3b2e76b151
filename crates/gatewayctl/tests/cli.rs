//! gatewayctl as a user runs it: exit codes and exact output.

use std::process::Command;

fn gatewayctl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatewayctl"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_accepts_the_repository_table() {
    let (code, stdout, _) = gatewayctl(&["check"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "routes.toml: ok — 6 routes, 2 upstreams, environments: local, production\n"
    );
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
        ("[upstreams.x]\nbogus = 1\n", ":2:1: unknown field `bogus`, expected one of `timeout_ms`, `health_path`, `health_timeout_ms`, `degraded_ms`, `all_unhealthy`, `env`\nnothing was changed\n"),
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
    ] {
        let (code, _, stderr) = gatewayctl(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
    let (code, _, stderr) = gatewayctl(&["check", "missing.toml"]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("missing.toml: "), "{stderr}");
}
