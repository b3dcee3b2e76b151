//! The diff of two route table versions (`gatewayctl diff` and `GET /__gateway/diff`): every
//! item-level change with the fields that differ, the sample requests that move, and the JSON
//! the admin API answers — each entry with the line the CLI prints.

mod common;

use gateway::admin::DiffReport;
use gateway::diff::{changes, compare, Change, FieldChange, Item, Op};
use gateway::table::{RouteDocument, RouteTable};
use serde_json::json;

const OLD: &str = r#"
[policies.small]
type = "body_limit"
max_bytes = 1024

[policies.gone]
type = "body_limit"
max_bytes = 10

[[routes]]
id = "users-get"
methods = ["GET"]
path = "/api/users/{id}"
upstream = "users"
rewrite = { strip_prefix = "/api" }

[[routes]]
id = "legacy"
path = "/v0/{*rest}"
upstream = "users"

[[routes]]
id = "orders"
methods = ["GET", "POST"]
path = "/api/orders"
upstream = "orders"
policies = ["small"]
"#;

const NEW: &str = r#"
[policies.small]
type = "body_limit"
max_bytes = 2048

[[routes]]
id = "users-get"
methods = ["GET"]
path = "/api/users/{id}"
upstream = "users"
rewrite = { template = "/v2/users/{id}" }
timeout_ms = 2000

[[routes]]
id = "orders"
methods = ["GET", "POST"]
path = "/api/orders"
upstream = "orders"

[[routes]]
id = "health"
methods = ["GET"]
path = "/api/health"
upstream = "orders"
"#;

fn versions() -> (RouteDocument, RouteDocument) {
    let mut old = common::doc(OLD);
    old.version = "V1".into();
    let mut new = common::doc(NEW);
    new.version = "V2".into();
    new.default_policies = vec!["small".into()];
    (old, new)
}

fn field(field: &str, from: &str, to: &str) -> FieldChange {
    FieldChange {
        field: field.into(),
        from: from.into(),
        to: to.into(),
    }
}

#[test]
fn every_changed_item_and_field_is_named() {
    let (old, new) = versions();
    let found = changes(&old, &new);
    let change = |op, item, name: &str, summary: &str, fields: Vec<FieldChange>| Change {
        op,
        item,
        name: name.into(),
        summary: summary.into(),
        fields,
    };
    assert_eq!(
        found,
        [
            change(
                Op::Changed,
                Item::Route,
                "users-get",
                "",
                vec![
                    field("rewrite.strip_prefix", "/api", "none"),
                    field("rewrite.template", "none", "/v2/users/{id}"),
                    field("timeout_ms", "none", "2000"),
                ]
            ),
            change(
                Op::Changed,
                Item::Route,
                "orders",
                "",
                vec![field("policies", "[\"small\"]", "none")]
            ),
            change(
                Op::Added,
                Item::Route,
                "health",
                "GET /api/health → orders",
                vec![]
            ),
            change(
                Op::Removed,
                Item::Route,
                "legacy",
                "* /v0/{*rest} → users",
                vec![]
            ),
            change(Op::Removed, Item::Policy, "gone", "body_limit", vec![]),
            change(
                Op::Changed,
                Item::Policy,
                "small",
                "",
                vec![field("body_limit.max_bytes", "1024", "2048")]
            ),
            change(
                Op::Changed,
                Item::DefaultPolicies,
                "default_policies",
                "",
                vec![field("", "[]", "[\"small\"]")]
            ),
        ]
    );
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "~ route users-get        rewrite.strip_prefix: /api → none; rewrite.template: none → /v2/users/{id}; timeout_ms: none → 2000",
            "~ route orders           policies: [\"small\"] → none",
            "+ route health           GET /api/health → orders",
            "- route legacy           * /v0/{*rest} → users",
            "- policy gone            body_limit",
            "~ policy small           body_limit.max_bytes: 1024 → 2048",
            "~ default_policies [] → [\"small\"]",
        ]
    );
    assert_eq!(changes(&old, &old), []);
}

#[test]
fn samples_from_both_tables_show_what_moves() {
    let (old, new) = versions();
    let (old_table, new_table) = (table(&old), table(&new));
    let diff = compare((&old, &old_table), (&new, &new_table), Vec::new());
    assert_eq!(diff.samples, 4);
    let lines: Vec<String> = diff.moved.iter().map(ToString::to_string).collect();
    // `orders` lost its own `small` but gets it by default: it is not among them.
    assert_eq!(
        lines,
        [
            "GET /api/health: 404 → health (orders, 10000 ms, small) /api/health",
            "GET /api/users/1: users-get (users, 3000 ms) /users/1 → users-get (users, 2000 ms, small) /v2/users/1",
            "GET /v0/sample/path: legacy (users, 3000 ms) /v0/sample/path → 404",
        ]
    );
    let same = compare((&old, &old_table), (&old, &old_table), Vec::new());
    assert_eq!(
        (same.changes.len(), same.moved.len(), same.samples),
        (0, 0, 3)
    );
}

#[test]
fn the_admin_api_answers_json_with_the_cli_lines() {
    let (old, new) = versions();
    let (old_table, new_table) = (table(&old), table(&new));
    let diff = compare((&old, &old_table), (&new, &new_table), Vec::new());
    let report = DiffReport {
        environment: "local",
        from: "V1",
        to: "V2",
        diff: &diff,
    };
    let body = serde_json::to_value(&report).unwrap();
    assert_eq!(body["environment"], "local");
    assert_eq!((&body["from"], &body["to"]), (&json!("V1"), &json!("V2")));
    assert_eq!(body["samples"], 4);
    assert_eq!(
        body["changes"][0],
        json!({
            "op": "changed", "item": "route", "name": "users-get", "summary": "",
            "fields": [
                {"field": "rewrite.strip_prefix", "from": "/api", "to": "none"},
                {"field": "rewrite.template", "from": "none", "to": "/v2/users/{id}"},
                {"field": "timeout_ms", "from": "none", "to": "2000"}
            ],
            "line": diff.changes[0].to_string()
        })
    );
    assert_eq!(body["changes"][2]["op"], "added");
    assert_eq!(
        body["moved"][0],
        json!({
            "request": {"method": "GET", "host": "", "path": "/api/health", "headers": []},
            "from": "404",
            "to": "health (orders, 10000 ms, small) /api/health",
            "line": "GET /api/health: 404 → health (orders, 10000 ms, small) /api/health"
        })
    );
    assert_eq!(body["moved"].as_array().unwrap().len(), diff.moved.len());
}

fn table(doc: &RouteDocument) -> RouteTable {
    RouteTable::try_from(doc.clone()).unwrap()
}
