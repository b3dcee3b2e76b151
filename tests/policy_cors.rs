//! The `cors` policy's rules: origin rules (exact, `*.` subdomains, `*`) and look-alikes,
//! validation messages, routing a preflight to the route it announces (`cors::lookup`), and
//! the default policies' headers on unrouted answers (`cors::unrouted_headers`).

mod common;
mod policy_support;

use gateway::context::HeaderOp;
use gateway::policy::cors::{self, Cors, OriginRule};
use gateway::policy::Policy;
use gateway::table::{Lookup, RouteTable};
use policy_support::{policy, problems, request_to, Headers};

fn cors(json: &str) -> Cors {
    match policy(&format!(r#"{{"cors": {json}}}"#)) {
        Policy::Cors(c) => c,
        other => panic!("not cors: {other:?}"),
    }
}

fn vary() -> HeaderOp {
    HeaderOp::Append("vary".into(), "Origin".into())
}

#[test]
fn origin_rules_match_exactly_what_they_say() {
    let cases: &[(&str, &str, bool)] = &[
        ("https://app.example.com", "https://app.example.com", true),
        ("https://app.example.com", "http://app.example.com", false),
        (
            "https://app.example.com",
            "https://app.example.com:443",
            false,
        ),
        ("https://app.example.com", "https://APP.EXAMPLE.COM", false),
        (
            "https://app.example.com",
            "https://app.example.com.evil.io",
            false,
        ),
        (
            "https://app.example.com",
            "https://evil-app.example.com",
            false,
        ),
        ("https://app.example.com", "null", false),
        ("http://localhost:5173", "http://localhost:5173", true),
        ("http://localhost:5173", "http://localhost:5174", false),
        ("https://*.example.com", "https://a.example.com", true),
        ("https://*.example.com", "https://a.b.example.com", true),
        ("https://*.example.com", "https://x-1.example.com", true),
        ("https://*.example.com", "https://example.com", false),
        ("https://*.example.com", "https://evil-example.com", false),
        (
            "https://*.example.com",
            "https://a.example.com.evil.io",
            false,
        ),
        ("https://*.example.com", "https://A.EXAMPLE.COM", false),
        ("https://*.example.com", "https://A.example.com", false),
        ("https://*.example.com", "http://a.example.com", false),
        ("https://*.example.com", "https://.example.com", false),
        ("https://*.example.com", "https://a..example.com", false),
        ("https://*.example.com", "https://a.example.com:8443", false),
        (
            "https://*.example.com",
            "https://evil.io/.example.com",
            false,
        ),
        ("https://*.example.com", "https://user@a.example.com", false),
        (
            "https://*.example.com",
            "https://evil.io?.example.com",
            false,
        ),
        (
            "https://*.example.com:8443",
            "https://a.example.com:8443",
            true,
        ),
        ("https://*.example.com:8443", "https://a.example.com", false),
        ("*", "https://anything.io", true),
        ("*", "null", true),
    ];
    for (rule, origin, want) in cases {
        let c = cors(&format!(r#"{{"allow_origins": ["{rule}"]}}"#));
        assert_eq!(c.allows(origin), *want, "{rule} vs {origin}");
    }
}

#[test]
fn origins_validate_into_rules() {
    let c = cors(r#"{"allow_origins": ["*", "https://a.example.com", "https://*.example.com"]}"#);
    assert_eq!(
        c.origins,
        [
            OriginRule::Any,
            OriginRule::Exact("https://a.example.com".into()),
            OriginRule::Subdomains {
                scheme: "https://".into(),
                suffix: ".example.com".into()
            },
        ]
    );
}

#[test]
fn every_bad_setting_is_reported() {
    let hint = "must be `*` or scheme://host[:port] in lower case, without a path (`https://*.example.com` for subdomains)";
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "no origins",
            r#"{"allow_origins": []}"#,
            &["allow_origins must list at least one origin"],
        ),
        (
            "bad origins",
            r#"{"allow_origins": ["https://App.example.com", "https://app.example.com/", "ftp://x.io", "app.example.com", "https://*.com", "https://*", "https://a.*.example.com", "https://"]}"#,
            &[
                "allow_origins: `https://App.example.com` HINT",
                "allow_origins: `https://app.example.com/` HINT",
                "allow_origins: `ftp://x.io` HINT",
                "allow_origins: `app.example.com` HINT",
                "allow_origins: `https://*.com` HINT",
                "allow_origins: `https://*` HINT",
                "allow_origins: `https://a.*.example.com` HINT",
                "allow_origins: `https://` HINT",
            ],
        ),
        (
            "any with credentials",
            r#"{"allow_origins": ["*"], "allow_credentials": true}"#,
            &["allow_origins `*` cannot be combined with allow_credentials"],
        ),
        (
            "methods",
            r#"{"allow_origins": ["*"], "allow_methods": ["get", "FETCH", "PUT"]}"#,
            &[
                "allow_methods: `get` is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
                "allow_methods: `FETCH` is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
            ],
        ),
        (
            "header names",
            r#"{"allow_origins": ["*"], "allow_headers": ["X-Custom", "*", "content-type"], "expose_headers": ["bad header", ""]}"#,
            &[
                "`X-Custom` is not a lower-case header name",
                "`bad header` is not a lower-case header name",
                "`` is not a lower-case header name",
            ],
        ),
        (
            "any header with credentials",
            r#"{"allow_origins": ["https://a.io"], "allow_headers": ["*"], "allow_credentials": true}"#,
            &["allow_headers `*` cannot be combined with allow_credentials"],
        ),
        (
            "max age",
            r#"{"allow_origins": ["https://a.io"], "max_age_s": 86401}"#,
            &["max_age_s = 86401 is above 86400"],
        ),
    ];
    for (name, json, want) in cases {
        let want: Vec<String> = want.iter().map(|w| w.replace("HINT", hint)).collect();
        assert_eq!(
            problems(&format!(r#"{{"cors": {json}}}"#)),
            want,
            "case: {name}"
        );
    }
    cors(r#"{"allow_origins": ["https://a.io"], "max_age_s": 86400}"#);
}

const ROUTES: &str = r#"
[policies.web]
type = "cors"
allow_origins = ["https://app.example.com"]

[policies.any]
type = "cors"
allow_origins = ["*"]

[policies.via]
type = "headers"
response = { set = { "x-via" = "edge" } }

[[routes]]
id = "users"
methods = ["GET", "POST"]
path = "/users"
upstream = "users"
policies = ["web"]

[[routes]]
id = "plain"
methods = ["GET"]
path = "/plain"
upstream = "users"
"#;

fn table(defaults: &[&str]) -> RouteTable {
    let mut doc = common::doc(ROUTES);
    doc.default_policies = defaults.iter().map(|d| d.to_string()).collect();
    if !defaults.is_empty() {
        doc.routes.iter_mut().for_each(|r| r.policies.clear());
    }
    RouteTable::try_from(doc).unwrap()
}

#[test]
fn a_preflight_is_routed_as_the_request_it_announces() {
    let table = table(&[]);
    let origin = ("origin", "https://app.example.com");
    let cases: &[(&str, &str, Headers, &str)] = &[
        (
            "OPTIONS",
            "/users",
            &[origin, ("access-control-request-method", "POST")],
            "users",
        ),
        (
            "OPTIONS",
            "/users",
            &[origin, ("access-control-request-method", " GET ")],
            "users",
        ),
        (
            "OPTIONS",
            "/users",
            &[origin, ("access-control-request-method", "DELETE")],
            "405 GET, HEAD, POST",
        ),
        (
            "OPTIONS",
            "/users",
            &[("access-control-request-method", "POST")],
            "405 GET, HEAD, POST",
        ),
        ("OPTIONS", "/users", &[origin], "405 GET, HEAD, POST"),
        (
            "OPTIONS",
            "/plain",
            &[origin, ("access-control-request-method", "GET")],
            "405 GET, HEAD",
        ),
        (
            "OPTIONS",
            "/nope",
            &[origin, ("access-control-request-method", "GET")],
            "404",
        ),
        (
            "GET",
            "/users",
            &[origin, ("access-control-request-method", "POST")],
            "users",
        ),
        ("DELETE", "/users", &[origin], "405 GET, HEAD, POST"),
    ];
    for (method, path, headers, want) in cases {
        let request = request_to(method, path, headers);
        let got = match cors::lookup(&table, &request) {
            Lookup::Found(m) => m.route.id.clone(),
            Lookup::MethodNotAllowed { allow } => format!("405 {allow}"),
            Lookup::NotFound => "404".into(),
        };
        assert_eq!(got, *want, "{method} {path} {headers:?}");
    }
}

#[test]
fn unrouted_answers_carry_the_default_cors_headers() {
    let acao = |o: &str| HeaderOp::Set("access-control-allow-origin".into(), o.into());
    let cases: &[(&[&str], Headers, Vec<HeaderOp>)] = &[
        (
            &["web"],
            &[("origin", "https://app.example.com")],
            vec![vary(), acao("https://app.example.com")],
        ),
        (&["web"], &[("origin", "https://evil.io")], vec![vary()]),
        (&["web"], &[], vec![vary()]),
        (
            &["any", "via"],
            &[("origin", "https://x.io")],
            vec![acao("*")],
        ),
        (&["any"], &[], vec![acao("*")]),
        (&["via"], &[("origin", "https://app.example.com")], vec![]),
        (&[], &[("origin", "https://app.example.com")], vec![]),
    ];
    for (defaults, headers, want) in cases {
        let request = request_to("GET", "/nope", headers);
        let got = cors::unrouted_headers(&table(defaults), &request);
        assert_eq!(&got, want, "{defaults:?} {headers:?}");
    }
}
