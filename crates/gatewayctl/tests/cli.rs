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
fn check_lists_every_problem_in_every_environment() {
    let file = "crates/gatewayctl/tests/fixtures/bad.toml";
    let (code, stdout, stderr) = gatewayctl(&["check", file]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr,
        "crates/gatewayctl/tests/fixtures/bad.toml: 11 problem(s)
  [local] upstream `users`: timeout_ms = 5 is out of bounds (10..=100000)
  [local] route `a`: unknown upstream `billing`
  [local] route `a`: path segment `:id` uses the old syntax: write `{id}` (matchit 0.9)
  [local] route `b`: method `get` must be upper case: write `GET`
  [local] route `b`: rewrite uses `{id}`, which the path does not capture
  [production] upstream `users`: timeout_ms = 5 is out of bounds (10..=100000)
  [production] upstream `users`: origin `users.example.com` must start with http:// or https://
  [production] route `a`: unknown upstream `billing`
  [production] route `a`: path segment `:id` uses the old syntax: write `{id}` (matchit 0.9)
  [production] route `b`: method `get` must be upper case: write `GET`
  [production] route `b`: rewrite uses `{id}`, which the path does not capture
"
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
