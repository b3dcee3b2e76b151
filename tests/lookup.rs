//! Lookup: host, then path (matchit), then method — 404 and 405 fall out of the structure.

mod common;

use common::table;
use gateway::table::Lookup;

const ROUTES: &str = r#"
[[routes]]
id = "user"
methods = ["GET", "PUT"]
path = "/users/{id}"
upstream = "users"

[[routes]]
id = "user-delete"
methods = ["DELETE"]
path = "/users/{id}"
upstream = "users"

[[routes]]
id = "user-orders"
methods = ["GET"]
path = "/users/{id}/orders"
upstream = "orders"

[[routes]]
id = "users-me"
methods = ["GET"]
path = "/users/me"
upstream = "users"

[[routes]]
id = "files"
path = "/files/{*rest}"
upstream = "orders"

[[routes]]
id = "admin-host"
methods = ["GET"]
host = "admin.example.com"
path = "/users/{id}"
upstream = "orders"
timeout_ms = 100
"#;

/// What a lookup returned, flattened for comparison.
#[derive(Debug, PartialEq)]
enum Got {
    Route(&'static str, Vec<(String, String)>),
    NotFound,
    NotAllowed(String),
}

#[test]
fn lookups() {
    let table = table(ROUTES);
    let cases: &[(&str, &str, &str, Got)] = &[
        (
            "gw.dev",
            "GET",
            "/users/42",
            Got::Route("user", vec![("id".into(), "42".into())]),
        ),
        (
            "gw.dev",
            "PUT",
            "/users/42",
            Got::Route("user", vec![("id".into(), "42".into())]),
        ),
        (
            "gw.dev",
            "DELETE",
            "/users/42",
            Got::Route("user-delete", vec![("id".into(), "42".into())]),
        ),
        (
            "gw.dev",
            "HEAD",
            "/users/42",
            Got::Route("user", vec![("id".into(), "42".into())]),
        ),
        ("gw.dev", "GET", "/users/me", Got::Route("users-me", vec![])),
        (
            "gw.dev",
            "GET",
            "/users/7/orders",
            Got::Route("user-orders", vec![("id".into(), "7".into())]),
        ),
        (
            "gw.dev",
            "GET",
            "/users/a%2Fb",
            Got::Route("user", vec![("id".into(), "a%2Fb".into())]),
        ),
        (
            "gw.dev",
            "GET",
            "/files/a/b/c.txt",
            Got::Route("files", vec![("rest".into(), "a/b/c.txt".into())]),
        ),
        (
            "gw.dev",
            "PATCH",
            "/files/x",
            Got::Route("files", vec![("rest".into(), "x".into())]),
        ),
        (
            "gw.dev",
            "POST",
            "/users/42",
            Got::NotAllowed("GET, HEAD, PUT, DELETE".into()),
        ),
        (
            "gw.dev",
            "POST",
            "/users/me",
            Got::NotAllowed("GET, HEAD".into()),
        ),
        // "Every method" is the seven of METHODS: never TRACE, CONNECT or an unknown one.
        (
            "gw.dev",
            "TRACE",
            "/files/x",
            Got::NotAllowed("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS".into()),
        ),
        (
            "gw.dev",
            "CONNECT",
            "/files/x",
            Got::NotAllowed("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS".into()),
        ),
        (
            "gw.dev",
            "PROPFIND",
            "/files/x",
            Got::NotAllowed("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS".into()),
        ),
        ("gw.dev", "GET", "/users", Got::NotFound),
        ("gw.dev", "GET", "/users/42/", Got::NotFound),
        ("gw.dev", "GET", "/files/", Got::NotFound),
        ("gw.dev", "GET", "/", Got::NotFound),
        (
            "admin.example.com",
            "GET",
            "/users/1",
            Got::Route("admin-host", vec![("id".into(), "1".into())]),
        ),
        (
            "ADMIN.example.com:8443",
            "GET",
            "/users/1",
            Got::Route("admin-host", vec![("id".into(), "1".into())]),
        ),
        (
            "admin.example.com",
            "DELETE",
            "/users/1",
            Got::NotAllowed("GET, HEAD".into()),
        ),
        // A host with routes of its own still falls back to host-less routes for other paths.
        (
            "admin.example.com",
            "GET",
            "/files/x",
            Got::Route("files", vec![("rest".into(), "x".into())]),
        ),
    ];
    for (host, method, path, want) in cases {
        let got = match table.lookup(host, method, path) {
            Lookup::Found(m) => {
                let id: &'static str = Box::leak(m.route.id.clone().into_boxed_str());
                let params = m
                    .params
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                Got::Route(id, params)
            }
            Lookup::NotFound => Got::NotFound,
            Lookup::MethodNotAllowed { allow } => Got::NotAllowed(allow.to_owned()),
        };
        assert_eq!(&got, want, "{method} {host}{path}");
    }
}

#[test]
fn matches_carry_the_upstream_and_effective_timeout() {
    let table = table(ROUTES);
    let cases = [
        ("gw.dev", "/users/1", "users", 3000), // the upstream's timeout
        ("gw.dev", "/files/x", "orders", 10_000), // the default timeout
        ("admin.example.com", "/users/1", "orders", 100), // the route's own
    ];
    for (host, path, upstream, timeout) in cases {
        let Lookup::Found(m) = table.lookup(host, "GET", path) else {
            panic!("{host}{path} matches")
        };
        assert_eq!(
            (m.upstream.name.as_str(), m.route.timeout_ms),
            (upstream, timeout),
            "{host}{path}"
        );
    }
}

#[test]
fn ten_thousand_routes_build_and_match() {
    let mut routes = String::new();
    for i in 0..10_000 {
        routes.push_str(&format!(
            "[[routes]]\nid = \"r{i}\"\nmethods = [\"GET\"]\npath = \"/svc{i}/items/{{id}}\"\nupstream = \"users\"\n"
        ));
    }
    let table = table(&routes);
    assert_eq!(table.routes().len(), 10_000);
    let Lookup::Found(m) = table.lookup("h", "GET", "/svc9999/items/5") else {
        panic!("matches")
    };
    assert_eq!(m.route.id, "r9999");
}

#[test]
fn encoded_separators_in_captures() {
    use gateway::table::has_encoded_separator;
    for (value, refused) in [
        ("a/b/c.txt", false),
        ("x%20y", false),
        ("%E2%9C%93", false),
        ("report.v2", false),
        ("a%2Fb", true),
        ("a%2fb", true),
        ("a%5Cb", true),
        ("%2E%2E", true),
        ("a/%2e%2e/b", true),
        ("a/.%2E/b", true),
        ("%2E", true),
        ("file%2Ejson", false),
    ] {
        assert_eq!(has_encoded_separator(value), refused, "{value}");
    }
    let table = table(&format!(
        "{ROUTES}\n[[routes]]\nid = \"raw\"\npath = \"/raw/{{*rest}}\"\nupstream = \"users\"\nallow_encoded_separators = true\n"
    ));
    let param_of = |path: &str| match table.lookup("gw.dev", "GET", path) {
        Lookup::Found(m) => m.encoded_separator().map(str::to_owned),
        other => panic!("{path}: {other:?}"),
    };
    assert_eq!(param_of("/files/a%2F..%2Fetc"), Some("rest".to_owned()));
    assert_eq!(param_of("/users/%2E%2E"), Some("id".to_owned()));
    assert_eq!(param_of("/files/a/b"), None);
    assert_eq!(param_of("/raw/a%2Fb"), None, "the route allows them");
}
