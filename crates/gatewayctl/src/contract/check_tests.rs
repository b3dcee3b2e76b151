//! Routes against contracts, one case per row.

use gateway::table::source::RouteFile;
use gateway::table::Subject;
use serde_json::json;

use super::*;

fn users() -> Contract {
    let all = ["get", "head", "post", "put", "patch", "delete", "options"];
    let echo: serde_json::Map<String, serde_json::Value> = all
        .iter()
        .map(|m| {
            let op = json!({"x-internal": true, "responses": {},
                "parameters": [{"name": "rest", "in": "path", "required": true, "x-catch-all": true}]});
            (m.to_string(), op)
        })
        .collect();
    let doc = json!({"openapi": "3.1.0", "info": {"version": "1.0.0"}, "paths": {
        "/users": {"get": {"responses": {}}, "post": {"responses": {}}},
        "/users/{id}": {"get": {"responses": {}}, "delete": {"responses": {}}},
        "/users/me": {"get": {"responses": {}}},
        "/orders": {"get": {"parameters": [{"name": "user_id", "in": "query"}], "responses": {}}},
        "/files/{name}.json": {"get": {"responses": {}}},
        "/echo/{rest}": echo,
        "/healthz": {"get": {"x-internal": true, "responses": {}}},
        "/_test/stats": {"get": {"x-internal": true, "responses": {}}},
    }});
    Contract::parse(&doc.to_string()).unwrap()
}

fn v2() -> Contract {
    let doc = json!({"openapi": "3.1.0", "info": {"version": "2.0.0"}, "paths": {
        "/users": {"get": {"responses": {}}},
        "/health": {"get": {"responses": {}}},
    }});
    Contract::parse(&doc.to_string()).unwrap()
}

fn route(toml_route: &str) -> RouteSpec {
    let file: RouteFile = toml::from_str(&format!("[[routes]]\nid = \"r\"\n{toml_route}")).unwrap();
    file.routes.into_iter().next().unwrap()
}

fn run(routes: &[RouteSpec]) -> Report {
    let (users, v2) = (users(), v2());
    let upstreams = [
        Upstream {
            name: "users",
            source: "users.json",
            contract: &users,
            health_path: "/healthz",
        },
        Upstream {
            name: "users-v2",
            source: "v2.json",
            contract: &v2,
            health_path: "/healthz",
        },
    ];
    check(routes, &upstreams)
}

/// The problems of one route on `users`, without the subject.
fn problems(toml_route: &str) -> Vec<String> {
    run(&[route(toml_route)])
        .problems
        .into_iter()
        .filter(|f| f.subject == Subject::Route("r".into()))
        .map(|f| f.message)
        .collect()
}

const ON: &str = "the contract of upstream `users` (users.json)";

#[test]
fn routes_reach_operations_after_their_rewrites() {
    let ok: &[&str] = &[
        // strip_prefix, parameters line up whatever their names
        r#"methods = ["GET", "DELETE"]
path = "/api/users/{uid}"
upstream = "users"
rewrite = { strip_prefix = "/api" }"#,
        // HEAD is served by GET
        r#"methods = ["GET", "HEAD", "POST"]
path = "/api/users"
upstream = "users"
rewrite = { strip_prefix = "/api" }"#,
        // a static segment is one value of a parameter, and a static operation matches it too
        r#"methods = ["GET"]
path = "/me"
upstream = "users"
rewrite = { template = "/users/me" }"#,
        // a query parameter the operation takes
        r#"methods = ["GET"]
path = "/api/users/{id}/orders"
upstream = "users"
rewrite = { template = "/orders?user_id={id}" }"#,
        // catch-alls: into a catch-all parameter, also below a static segment
        r#"path = "/e/{*rest}"
upstream = "users"
rewrite = { template = "/echo/{rest}" }"#,
        r#"path = "/internal/{*rest}"
upstream = "users"
rewrite = { template = "/echo/internal/{rest}" }"#,
        // one-segment patterns
        r#"methods = ["GET"]
path = "/reports/{name}"
upstream = "users"
rewrite = { template = "/files/{name}.json" }"#,
        r#"methods = ["GET"]
path = "/latest"
upstream = "users"
rewrite = { template = "/files/latest.json" }"#,
        // no rewrite
        r#"methods = ["GET"]
path = "/users/{id}"
upstream = "users""#,
        // an upstream without a contract is not checked
        r#"path = "/anything"
upstream = "legacy""#,
    ];
    for r in ok {
        assert_eq!(problems(r), Vec::<String>::new(), "{r}");
    }
}

#[test]
fn routes_that_reach_nothing_are_problems() {
    let cases: &[(&str, String)] = &[
        (
            r#"methods = ["GET"]
path = "/api/accounts"
upstream = "users"
rewrite = { strip_prefix = "/api" }"#,
            format!("GET /accounts (after its rewrite) reaches no operation in {ON}"),
        ),
        (
            r#"methods = ["GET", "PUT", "DELETE"]
path = "/api/users"
upstream = "users"
rewrite = { strip_prefix = "/api" }"#,
            format!("PUT, DELETE /users (after its rewrite) reaches no operation in {ON}, which has GET, POST only"),
        ),
        (
            // every method, when a route lists none
            r#"path = "/users/{id}"
upstream = "users""#,
            format!("POST, PUT, PATCH, OPTIONS /users/{{id}} (after its rewrite) reaches no operation in {ON}, which has GET, DELETE only"),
        ),
        (
            // a catch-all spans segments; `{id}` takes one
            r#"methods = ["GET"]
path = "/u/{*rest}"
upstream = "users"
rewrite = { template = "/users/{rest}" }"#,
            format!("GET /users/{{rest}} (after its rewrite) reaches no operation in {ON}"),
        ),
        (
            // a parameter cannot line up with a static segment
            r#"methods = ["GET"]
path = "/api/{kind}"
upstream = "users"
rewrite = { strip_prefix = "/api" }"#,
            format!("GET /{{kind}} (after its rewrite) reaches no operation in {ON}"),
        ),
        (
            r#"methods = ["GET"]
path = "/reports/{name}"
upstream = "users"
rewrite = { template = "/files/{name}.csv" }"#,
            format!("GET /files/{{name}}.csv (after its rewrite) reaches no operation in {ON}"),
        ),
        (
            r#"methods = ["GET"]
path = "/api/users/{id}/orders"
upstream = "users"
rewrite = { template = "/orders?owner={id}" }"#,
            format!("its rewrite sets query parameter `owner`, which GET /orders in {ON} does not take"),
        ),
        (
            // a trailing slash is another path
            r#"methods = ["GET"]
path = "/users/"
upstream = "users""#,
            format!("GET /users/ (after its rewrite) reaches no operation in {ON}"),
        ),
    ];
    for (r, want) in cases {
        assert_eq!(problems(r), vec![want.clone()], "{r}");
    }
}

#[test]
fn every_side_of_a_split_is_checked() {
    let r = r#"methods = ["GET"]
path = "/api/users/{id}"
upstream = "users"
rewrite = { strip_prefix = "/api" }
split = { to = { users-v2 = 10 } }"#;
    assert_eq!(
        problems(r),
        ["GET /users/{id} (after its rewrite) reaches no operation in the contract of upstream `users-v2` (v2.json)"]
    );
}

#[test]
fn unexposed_operations_are_information_and_health_paths_are_checked() {
    let report = run(&[route(
        r#"methods = ["GET", "POST"]
path = "/users"
upstream = "users""#,
    )]);
    let upstream = |name: &str| Subject::Upstream(name.into());
    assert_eq!(
        report.problems,
        [Finding {
            subject: upstream("users-v2"),
            message: "health_path /healthz is not a GET operation of its contract v2.json".into(),
        }]
    );
    let info: Vec<(Subject, &str)> = report
        .unexposed
        .iter()
        .map(|f| (f.subject.clone(), f.message.as_str()))
        .collect();
    assert_eq!(
        info,
        [
            (
                upstream("users"),
                "GET /files/{name}.json in its contract users.json is exposed by no route"
            ),
            (
                upstream("users"),
                "GET /orders in its contract users.json is exposed by no route"
            ),
            (
                upstream("users"),
                "GET /users/me in its contract users.json is exposed by no route"
            ),
            (
                upstream("users"),
                "GET /users/{id} in its contract users.json is exposed by no route"
            ),
            (
                upstream("users"),
                "DELETE /users/{id} in its contract users.json is exposed by no route"
            ),
            (
                upstream("users-v2"),
                "GET /health in its contract v2.json is exposed by no route"
            ),
            (
                upstream("users-v2"),
                "GET /users in its contract v2.json is exposed by no route"
            ),
        ]
    );
}
