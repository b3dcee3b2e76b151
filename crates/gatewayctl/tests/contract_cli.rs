//! `gatewayctl check` against services' contracts and `gatewayctl contract-diff`, as a user
//! runs them: exit codes and exact output.
#[path = "support/run.rs"]
mod run;
use run::gatewayctl;

#[test]
fn check_fails_on_routes_that_reach_nothing_with_their_positions() {
    let file = "crates/gatewayctl/tests/fixtures/contracts.toml";
    let (code, stdout, stderr) = gatewayctl(&["check", file, "--config", "nowhere.toml"]);
    let on = "the contract of upstream `shop` (contract-shop.json)";
    assert_eq!(
        (code, stdout.as_str()),
        (
            1,
            [
                format!("{file}:2:1: info: upstream `shop`: PUT /items/{{item_id}} in its contract contract-shop.json is exposed by no route"),
                format!("{file}:2:1: info: upstream `shop`: GET /stock in its contract contract-shop.json is exposed by no route\n"),
            ]
            .join("\n")
            .as_str()
        )
    );
    assert_eq!(
        stderr,
        [
            "note: nowhere.toml not found; bindings were not checked (--config names the wrangler configuration)".to_owned(),
            format!("{file}:7:1: upstream `lost`: contract no-such-contract.json: No such file or directory (os error 2) [local]"),
            format!("{file}:24:6: route `item`: DELETE /items/{{id}} (after its rewrite) reaches no operation in {on}, which has GET, PUT only [local]"),
            format!("{file}:31:6: route `carts`: GET /carts/{{id}} (after its rewrite) reaches no operation in {on} [local]"),
            format!("{file}:38:6: route `by-owner`: its rewrite sets query parameter `owner`, which GET /items in {on} does not take [local]"),
            format!("{file}: 4 problems; nothing was changed\n"),
        ]
        .join("\n")
    );
}

#[test]
fn contract_diff_classifies_changes_and_wants_a_major_bump_for_breaking_ones() {
    // orders-v2 is orders' API plus a field: compatible, and a minor version up.
    let (old, new) = (
        "backends/orders/openapi.json",
        "backends/orders-v2/openapi.json",
    );
    let (code, stdout, stderr) = gatewayctl(&["contract-diff", old, new]);
    let added = "required field `currency` added";
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(
        stdout,
        [
            format!("compatible GET /orders: response 200 body[]: {added}"),
            format!("compatible POST /orders: response 201 body: {added}"),
            format!("compatible GET /orders/{{id}}: response 200 body: {added}"),
            format!("{old} → {new} (version 1.0.0 → 1.1.0): 0 breaking changes, 3 compatible\n"),
        ]
        .join("\n")
    );

    // Back again: the field disappears from every response, and 1.0.0 is no major bump.
    let (code, stdout, stderr) = gatewayctl(&["contract-diff", new, old]);
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        [
            "breaking   GET /orders: response 200 body[] field `currency` removed",
            "breaking   POST /orders: response 201 body field `currency` removed",
            "breaking   GET /orders/{id}: response 200 body field `currency` removed\n",
        ]
        .join("\n")
    );
    assert_eq!(
        stderr,
        format!("{new} → {old} (version 1.1.0 → 1.0.0): 3 breaking changes, 0 compatible: a breaking change needs a new major version: 2.0.0 or above\n")
    );
}

#[test]
fn contract_diff_accepts_breaking_changes_with_a_major_bump() {
    let dir = std::env::temp_dir().join(format!("gatewayctl-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let old = std::fs::read_to_string("tests/fixtures/contract-shop.json").unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let without_stock = old.replace(
        r#""/stock": { "get": { "responses": { "200": { "description": "stock" } } } }"#,
        r#""/inventory": { "get": { "responses": { "200": { "description": "stock" } } } }"#,
    );
    let minor = write(
        "minor.json",
        without_stock.replace("\"1.0.0\"", "\"1.1.0\""),
    );
    let major = write(
        "major.json",
        without_stock.replace("\"1.0.0\"", "\"2.0.0\""),
    );
    let old = "crates/gatewayctl/tests/fixtures/contract-shop.json";
    let lines =
        "breaking   GET /stock: operation removed\ncompatible GET /inventory: operation added\n";

    let (code, stdout, stderr) = gatewayctl(&["contract-diff", old, &minor]);
    assert_eq!((code, stdout.as_str()), (1, lines));
    assert!(stderr.ends_with("(version 1.0.0 → 1.1.0): 1 breaking change, 1 compatible: a breaking change needs a new major version: 2.0.0 or above\n"), "{stderr}");

    let (code, stdout, stderr) = gatewayctl(&["contract-diff", old, &major]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(
        stdout,
        format!("{lines}{old} → {major} (version 1.0.0 → 2.0.0): 1 breaking change, 1 compatible; the major version bump announces them\n")
    );

    let (code, _, stderr) = gatewayctl(&["contract-diff", old]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: contract-diff needs two contracts: OLD NEW"),
        "{stderr}"
    );
    let (code, _, stderr) = gatewayctl(&["contract-diff", old, "nowhere.json"]);
    assert_eq!(
        (code, stderr.as_str()),
        (1, "nowhere.json: No such file or directory (os error 2)\n")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
