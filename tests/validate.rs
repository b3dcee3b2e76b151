//! Validation: every problem reported at once, each naming its route or upstream.

mod common;

use common::{doc, errors};
use gateway::table::{Problem, RouteTable, Subject, ValidationError, ValidationErrors, FORMAT};

#[test]
fn each_problem_is_reported_with_its_route() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("valid", r#"[[routes]]
id = "a"
path = "/a/{id}"
upstream = "users""#, &[]),
        ("unknown upstream", r#"[[routes]]
id = "a"
path = "/a"
upstream = "billing""#, &["route `a`: unknown upstream `billing`"]),
        ("duplicate id", r#"[[routes]]
id = "a"
path = "/a"
upstream = "users"
[[routes]]
id = "a"
path = "/b"
upstream = "users""#, &["route `a`: id is used by another route"]),
        ("old colon syntax", r#"[[routes]]
id = "a"
path = "/users/:id"
upstream = "users""#, &["route `a`: path segment `:id` uses the old syntax: write `{id}` (matchit 0.9)"]),
        ("old star syntax", r#"[[routes]]
id = "a"
path = "/static/*rest"
upstream = "users""#, &["route `a`: path segment `*rest` uses the old syntax: write `{*rest}` (matchit 0.9)"]),
        ("conflicting params", r#"[[routes]]
id = "by-id"
path = "/users/{id}"
upstream = "users"
[[routes]]
id = "by-name"
path = "/users/{name}"
upstream = "users""#, &["route `by-name`: path conflicts with route `by-id`"]),
        ("same path and method twice", r#"[[routes]]
id = "one"
methods = ["GET", "POST"]
path = "/x"
upstream = "users"
[[routes]]
id = "two"
methods = ["POST"]
path = "/x"
upstream = "orders""#, &["route `two`: POST on this path is already served by route `one`"]),
        ("any-method route overlaps", r#"[[routes]]
id = "one"
methods = ["GET"]
path = "/x"
upstream = "users"
[[routes]]
id = "two"
path = "/x"
upstream = "orders""#, &["route `two`: * on this path is already served by route `one`"]),
        ("bad methods", r#"[[routes]]
id = "a"
methods = ["get", "FETCH", "GET", "GET"]
path = "/a"
upstream = "users""#, &[
            "route `a`: method `get` must be upper case: write `GET`",
            "route `a`: method `FETCH` is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
            "route `a`: method `GET` is listed twice",
        ]),
        ("timeout too small and too large", r#"[[routes]]
id = "fast"
path = "/a"
upstream = "users"
timeout_ms = 1
[[routes]]
id = "slow"
path = "/b"
upstream = "users"
timeout_ms = 100001"#, &[
            "route `fast`: timeout_ms = 1 is out of bounds (10..=100000)",
            "route `slow`: timeout_ms = 100001 is out of bounds (10..=100000)",
        ]),
        ("rewrite uses an uncaptured parameter", r#"[[routes]]
id = "a"
path = "/users/{id}"
upstream = "users"
rewrite = { template = "/v1/{user}/{id}" }"#, &["route `a`: rewrite uses `{user}`, which the path does not capture"]),
        ("unbalanced template", r#"[[routes]]
id = "a"
path = "/users/{id}"
upstream = "users"
rewrite = { template = "/v1/{id" }"#, &["route `a`: rewrite template `/v1/{id` has an unbalanced or empty `{}` (write `{{` or `}}` for a literal brace)"]),
        ("strip prefix not on a segment boundary", r#"[[routes]]
id = "a"
path = "/apiv2/users"
upstream = "users"
rewrite = { strip_prefix = "/api" }"#, &["route `a`: rewrite strip_prefix `/api` must be a literal leading segment of `/apiv2/users`"]),
        ("path not absolute", r#"[[routes]]
id = "a"
path = "users"
upstream = "users""#, &["route `a`: path must start with `/`"]),
        ("two params in a segment", r#"[[routes]]
id = "a"
path = "/{a}-{b}"
upstream = "users""#, &["route `a`: path is rejected by matchit: Only one parameter is allowed per path segment"]),
        ("catch-all not last", r#"[[routes]]
id = "a"
path = "/{*rest}/x"
upstream = "users""#, &["route `a`: path is rejected by matchit: Catch-all parameters are only allowed at the end of a route"]),
        ("bad host and id", r#"[[routes]]
id = "a b"
host = "https://API.example.com"
path = "/a"
upstream = "users""#, &[
            "route `a b`: id may only contain letters, digits, `.`, `_` and `-`",
            "route `a b`: host `https://API.example.com` must be a lower-case host name without scheme, port or path",
        ]),
        ("reserved admin prefix", r#"[[routes]]
id = "a"
path = "/__gateway/health"
upstream = "users""#, &["route `a`: path is under `/__gateway/`, reserved for the admin API"]),
        ("missing id", r#"[[routes]]
id = ""
path = "/a"
upstream = "users""#, &["route `routes[0]`: `id` must not be empty"]),
        ("every problem at once", r#"[[routes]]
id = "a"
path = "/a/:id"
upstream = "nope"
timeout_ms = 0
[[routes]]
id = "a"
methods = ["BREW"]
path = "/b"
upstream = "users""#, &[
            "route `a`: unknown upstream `nope`",
            "route `a`: timeout_ms = 0 is out of bounds (10..=100000)",
            "route `a`: path segment `:id` uses the old syntax: write `{id}` (matchit 0.9)",
            "route `a`: id is used by another route",
            "route `a`: method `BREW` is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        ]),
    ];
    for (name, routes, want) in cases {
        assert_eq!(errors(routes), *want, "case: {name}");
    }
}

#[test]
fn upstream_problems_name_the_upstream() {
    let mut d = doc("");
    let users = d.upstreams.get_mut("users").unwrap();
    users.origins = vec![
        "ftp://x".into(),
        "http://user:pw@host".into(),
        "http://h/?q".into(),
        "http://".into(),
    ];
    users.timeout_ms = 0;
    users.health_path = "healthz".into();
    users.health_timeout_ms = 5001;
    users.degraded_ms = 5001;
    let orders = d.upstreams.get_mut("orders").unwrap();
    orders.binding = Some("ORDERS".into());
    d.format = FORMAT + 1;
    let got = RouteTable::try_from(d).unwrap_err();
    let subject = |s: &str| Subject::Upstream(s.into());
    let want = vec![
        ValidationError {
            subject: Subject::Document,
            problem: Problem::UnsupportedFormat(FORMAT + 1),
        },
        ValidationError {
            subject: subject("orders"),
            problem: Problem::OriginsAndBinding,
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::TimeoutOutOfBounds(0),
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::BadHealthPath("healthz".into()),
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::BadOrigin {
                url: "ftp://x".into(),
                reason: "must start with http:// or https://",
            },
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::BadOrigin {
                url: "http://user:pw@host".into(),
                reason: "must not carry credentials (use access_secrets)",
            },
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::BadOrigin {
                url: "http://h/?q".into(),
                reason: "must not have a query or fragment",
            },
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::BadOrigin {
                url: "http://".into(),
                reason: "has no host",
            },
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::HealthTimeoutOutOfBounds(5001),
        },
        ValidationError {
            subject: subject("users"),
            problem: Problem::DegradedOutOfBounds(5001),
        },
    ];
    assert_eq!(got, ValidationErrors(want));
}

#[test]
fn upstream_names_are_ids() {
    // A binding's requests go to `https://<upstream name>/…`: the name must be a clean host.
    for (name, ok) in [
        ("users", true),
        ("team.users_v2-a", true),
        ("team/users", false),
        ("billing v2", false),
        ("a?b", false),
        ("", false),
    ] {
        let mut d = doc("");
        let spec = d.upstreams.remove("orders").unwrap();
        d.upstreams.insert(name.into(), spec);
        let want = (!ok).then(|| {
            format!("upstream `{name}`: id may only contain letters, digits, `.`, `_` and `-`")
        });
        assert_eq!(
            RouteTable::try_from(d).err().map(|e| e.to_string()),
            want,
            "{name:?}"
        );
    }
}

#[test]
fn origin_weights() {
    let with = |origins: &str| {
        let text = format!("[upstreams.w]\n[upstreams.w.env.local]\norigins = {origins}\n[[routes]]\nid = \"r\"\npath = \"/r\"\nupstream = \"w\"\n");
        let file: gateway::table::source::RouteFile = toml::from_str(&text).unwrap();
        let mut doc = file.compile("local").unwrap();
        doc.version = "v".into();
        RouteTable::try_from(doc).err().map(|e| e.to_string())
    };
    assert_eq!(
        with(r#"["http://a", { url = "http://b", weight = 3 }]"#),
        None
    );
    assert_eq!(
        with(r#"[{ url = "http://b", weight = 0 }, { url = "http://c", weight = 1 }]"#),
        None
    );
    let bad =
        Some("upstream `w`: origin weights must be 0..=1000 with at least one above 0".to_owned());
    assert_eq!(with(r#"[{ url = "http://b", weight = 0 }]"#), bad);
    assert_eq!(with(r#"[{ url = "http://b", weight = 1001 }]"#), bad);
}

#[test]
fn a_document_survives_json_round_trip() {
    let d = doc(r#"[[routes]]
id = "a"
methods = ["GET"]
path = "/a/{id}"
host = "api.example.com"
upstream = "users"
rewrite = { template = "/v1/{id}" }
timeout_ms = 250"#);
    let json = d.to_json();
    assert_eq!(gateway::table::RouteDocument::from_json(&json).unwrap(), d);
    assert!(
        gateway::table::RouteDocument::from_json(&json.replace("\"routes\"", "\"rotues\""))
            .is_err()
    );
}
