//! Policies in the route table: validation messages (bad, unknown, repeated, conflicting,
//! unfit policies), phase order of a route's list, defaults, `needed_format`, format 1
//! documents, and compiling `routes.toml` policies with per-environment overrides.

mod common;

use gateway::policy::jwt::JwtSpec;
use gateway::policy::{PolicySpec, TYPES};
use gateway::table::source::{CompileProblem, RouteFile};
use gateway::table::{RouteDocument, RouteTable, Subject};

const POLICIES: &str = r#"
[policies.cors]
type = "cors"
allow_origins = ["https://app.example.com"]

[policies.cors2]
type = "cors"
allow_origins = ["*"]

[policies.key]
type = "api_key"

[policies.jwt]
type = "jwt"
jwks_url = "https://idp.example.com/jwks.json"
issuer = "https://idp.example.com"

[policies.ips]
type = "ip_rules"
deny = ["192.0.2.0/24"]

[policies.small]
type = "body_limit"
max_bytes = 1024

[policies.per-consumer]
type = "rate_limit"
key = "consumer"
limit = 10
period_s = 60
store = "binding"
binding = "RL"

[policies.tag]
type = "headers"
request = { set = { "x-user" = "{param.id}" } }

[policies.via]
type = "headers"
response = { set = { "x-via" = "edge" } }
"#;

fn doc(defaults: &[&str], routes: &str) -> RouteDocument {
    let mut d = common::doc(&format!("{POLICIES}\n{routes}"));
    d.default_policies = defaults.iter().map(|s| s.to_string()).collect();
    d
}

fn errors(defaults: &[&str], routes: &str) -> Vec<String> {
    match RouteTable::try_from(doc(defaults, routes)) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

fn route(id: &str, path: &str, policies: &str) -> String {
    format!("[[routes]]\nid = \"{id}\"\npath = \"{path}\"\nupstream = \"users\"\npolicies = {policies}\n")
}

#[test]
fn policy_problems_name_their_policy_or_route() {
    let conflict = "a route has at most one CORS and one authentication policy";
    let bad_body = "[policies.bad]\ntype = \"body_limit\"\nmax_bytes = 0\n";
    let all = r#"["tag", "per-consumer", "small", "key", "ips", "cors", "via"]"#;
    let two_routes = route("a", "/a", "[]") + &route("b", "/b", "[]");
    let cases: Vec<(&str, &[&str], String, Vec<String>)> = vec![
        ("valid", &[], route("a", "/users/{id}", all), vec![]),
        ("bad settings", &[], bad_body.into(), vec![
            "policy `bad`: max_bytes = 0 is out of bounds (1..=104857600)".into(),
        ]),
        ("bad settings, used: not also unknown", &[], format!("{bad_body}{}", route("a", "/a", r#"["bad"]"#)), vec![
            "policy `bad`: max_bytes = 0 is out of bounds (1..=104857600)".into(),
        ]),
        ("bad name", &[], "[policies.\"a b\"]\ntype = \"body_limit\"\nmax_bytes = 1\n".into(), vec![
            "policy `a b`: id may only contain letters, digits, `.`, `_` and `-`".into(),
        ]),
        ("unknown", &[], route("a", "/a", r#"["nope", "key"]"#), vec![
            "route `a`: unknown policy `nope`".into(),
        ]),
        ("unknown default: reported once", &["nope"], two_routes.clone(), vec![
            "route table: unknown policy `nope`".into(),
        ]),
        ("listed twice", &[], route("a", "/a", r#"["key", "ips", "key"]"#), vec![
            "route `a`: policy `key` runs twice (listed twice, or also a default)".into(),
        ]),
        ("default and own", &["cors"], route("a", "/a", r#"["cors"]"#), vec![
            "route `a`: policy `cors` runs twice (listed twice, or also a default)".into(),
        ]),
        ("default twice: reported once", &["via", "via"], two_routes.clone(), vec![
            "route table: policy `via` runs twice (listed twice, or also a default)".into(),
        ]),
        ("two authentications", &[], route("a", "/a", r#"["key", "jwt"]"#), vec![
            format!("route `a`: policy `jwt` conflicts with `key`: {conflict}"),
        ]),
        ("default CORS and own", &["cors"], route("a", "/a", r#"["cors2"]"#), vec![
            format!("route `a`: policy `cors2` conflicts with `cors`: {conflict}"),
        ]),
        ("two default CORS: reported once", &["cors", "cors2"], two_routes.clone(), vec![
            format!("route table: policy `cors2` conflicts with `cors`: {conflict}"),
        ]),
        ("several headers and limits are fine", &["via"], route("a", "/u/{id}", r#"["tag", "small", "ips", "key", "per-consumer"]"#), vec![]),
        ("consumer limit without authentication", &[], route("a", "/a", r#"["per-consumer"]"#), vec![
            "route `a`: policy `per-consumer` counts by consumer, but the route has no authentication policy".into(),
        ]),
        ("uncaptured parameter", &[], route("a", "/users", r#"["tag"]"#), vec![
            "route `a`: policy `tag` uses `{param.id}`, which the route's path does not capture".into(),
        ]),
        ("default with a parameter: each route that lacks it", &["tag"], route("u", "/users/{id}", "[]") + &two_routes, vec![
            "route `a`: policy `tag` uses `{param.id}`, which the route's path does not capture".into(),
            "route `b`: policy `tag` uses `{param.id}`, which the route's path does not capture".into(),
        ]),
    ];
    let wrong: Vec<String> = cases
        .into_iter()
        .filter_map(|(name, defaults, routes, want)| {
            let got = errors(defaults, &routes);
            (got != want).then(|| format!("{name}:\n  got  {got:?}\n  want {want:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn names(table: &RouteTable, list: &[usize]) -> Vec<String> {
    list.iter()
        .map(|&i| table.policies()[i].name.clone())
        .collect()
}

#[test]
fn routes_run_policies_in_phase_order() {
    let routes = route(
        "all",
        "/users/{id}",
        r#"["tag", "per-consumer", "small", "jwt", "ips", "cors"]"#,
    ) + &route("two-transforms", "/b/{id}", r#"["tag", "via"]"#)
        + &route("none", "/c", "[]");
    let table = RouteTable::try_from(doc(&[], &routes)).unwrap();
    let got: Vec<Vec<String>> = table
        .routes()
        .iter()
        .map(|r| names(&table, &r.policies))
        .collect();
    assert_eq!(
        got,
        [
            vec!["cors", "ips", "jwt", "small", "per-consumer", "tag"],
            vec!["tag", "via"],
            vec![],
        ]
    );
    assert!(table.default_policies().is_empty());
    // Defaults come first within a phase, and also stand alone.
    let routes = route("a", "/users/{id}", r#"["tag", "key"]"#) + &route("b", "/b", "[]");
    let table = RouteTable::try_from(doc(&["via", "ips"], &routes)).unwrap();
    assert_eq!(names(&table, table.default_policies()), ["ips", "via"]);
    assert_eq!(
        names(&table, &table.routes()[0].policies),
        ["ips", "key", "via", "tag"]
    );
    assert_eq!(names(&table, &table.routes()[1].policies), ["ips", "via"]);
    let authenticates = |name: &str| {
        let p = table.policies().iter().find(|p| p.name == name).unwrap();
        p.policy.authenticates()
    };
    assert_eq!(
        ["key", "jwt", "ips", "via"].map(authenticates),
        [true, true, false, false]
    );
}

#[test]
fn needed_format_and_format_1_documents() {
    let plain = common::doc(&route("a", "/a", "[]"));
    assert!(plain.policies.is_empty());
    assert_eq!((plain.needed_format(), plain.format), (1, 1));
    let mut d = plain.clone();
    d.default_policies = vec!["x".into()];
    assert_eq!(d.needed_format(), 2);
    let mut d = plain.clone();
    d.routes[0].policies = vec!["x".into()];
    assert_eq!(d.needed_format(), 2);
    let with = doc(&[], "");
    assert_eq!((with.needed_format(), with.format), (2, 2));
    // A document of the previous release reads and validates.
    let v1 = r#"{"format":1,"version":"v1","environment":"local","upstreams":{"users":
        {"origins":["http://127.0.0.1:9101"],"timeout_ms":3000,"health_path":"/healthz"}},
        "routes":[{"id":"a","path":"/a","upstream":"users"}]}"#;
    let table = RouteTable::try_from(RouteDocument::from_json(v1).unwrap()).unwrap();
    assert!(table.policies().is_empty() && table.routes()[0].policies.is_empty());
    for format in [0, 4] {
        let mut d = RouteDocument::from_json(v1).unwrap();
        d.format = format;
        let want = format!(
            "route table: format {format} is not supported (this gateway reads formats 1 to 3)"
        );
        assert_eq!(RouteTable::try_from(d).unwrap_err().to_string(), want);
    }
    // A document with policies survives JSON.
    let d = doc(&["cors"], &route("a", "/users/{id}", r#"["tag", "jwt"]"#));
    assert_eq!(RouteDocument::from_json(&d.to_json()).unwrap(), d);
    // …and may not call itself format 1, which an older worker would read without them.
    let mut old = d.clone();
    old.format = 1;
    assert_eq!(
        RouteTable::try_from(old).unwrap_err().to_string(),
        "route table: format 1 cannot carry policies (format 2 can)"
    );
}

const SOURCE: &str = r#"
[upstreams.users.env.local]
origins = ["http://127.0.0.1:9101"]
[upstreams.users.env.production]
origins = ["https://users.example.com"]

[policies.jwt]
type = "jwt"
jwks_url = "http://127.0.0.1:9103/jwks.json"
issuer = "http://127.0.0.1:9103"
audiences = ["gw"]

[policies.jwt.env.production]
jwks_url = "https://login.example.com/jwks.json"
issuer = "https://login.example.com"

[[routes]]
id = "a"
path = "/a"
upstream = "users"
policies = ["jwt"]
"#;

#[test]
fn sources_compile_with_environment_overrides() {
    let file: RouteFile = toml::from_str(SOURCE).unwrap();
    let spec = |jwks: &str, issuer: &str| {
        PolicySpec::Jwt(JwtSpec {
            jwks_url: jwks.into(),
            issuer: issuer.into(),
            audiences: vec!["gw".into()],
            algorithms: vec![],
            leeway_s: None,
            header: None,
            claims: Default::default(),
            consumer_claim: None,
            consumer_header: None,
        })
    };
    for (env, jwks, issuer) in [
        (
            "local",
            "http://127.0.0.1:9103/jwks.json",
            "http://127.0.0.1:9103",
        ),
        (
            "production",
            "https://login.example.com/jwks.json",
            "https://login.example.com",
        ),
    ] {
        let mut d = file.compile(env).unwrap();
        assert_eq!(d.format, 2, "{env}");
        assert_eq!(d.policies["jwt"], spec(jwks, issuer), "{env}");
        d.version = "v".into();
        RouteTable::try_from(d).unwrap_or_else(|e| panic!("{env}: {e}"));
    }
}

#[test]
fn policy_sources_that_do_not_compile() {
    let types = TYPES.join(", ");
    let quoted: Vec<String> = TYPES.iter().map(|t| format!("`{t}`")).collect();
    let cases: Vec<(&str, String)> = vec![
        (
            "type = \"oauth\"",
            format!(
                "unknown variant `oauth`, expected one of {}",
                quoted.join(", ")
            ),
        ),
        (
            "max_bytes = 1",
            format!("needs `type = \"…\"`, one of {types}"),
        ),
        ("type = 3", format!("needs `type = \"…\"`, one of {types}")),
        (
            "type = \"body_limit\"\nmax_byte = 1",
            "unknown field `max_byte`, expected `max_bytes`".into(),
        ),
        (
            "type = \"body_limit\"\nmax_bytes = \"big\"",
            "invalid type: string \"big\", expected u64".into(),
        ),
        (
            "type = \"body_limit\"\nmax_bytes = 1\nenv = \"x\"",
            "`env` must be a table of environments".into(),
        ),
        (
            "type = \"body_limit\"\nmax_bytes = 1\nenv = { local = 3 }",
            "`env.local` must be a table".into(),
        ),
        (
            "type = \"body_limit\"\nmax_bytes = 1\nenv = { local = { max_bytes = -1 } }",
            "invalid value: integer `-1`, expected u64".into(),
        ),
    ];
    for (body, want) in cases {
        let text = format!("{}\n[policies.x]\n{body}\n", common::UPSTREAMS);
        let file: RouteFile = toml::from_str(&text).unwrap();
        let got = file.compile("local").unwrap_err();
        let want = CompileProblem {
            subject: Subject::Policy("x".into()),
            message: want,
        };
        assert_eq!(got, std::slice::from_ref(&want), "{body}");
        assert_eq!(got[0].to_string(), format!("policy `x`: {}", want.message));
    }
    // Overrides for another environment are not looked at.
    let text = format!(
        "{}\n[policies.x]\ntype = \"body_limit\"\nmax_bytes = 1\nenv = {{ production = 3 }}\n",
        common::UPSTREAMS
    );
    let file: RouteFile = toml::from_str(&text).unwrap();
    assert!(file.compile("local").is_ok());
}

#[test]
fn type_names() {
    assert_eq!(
        TYPES,
        [
            "cors",
            "ip_rules",
            "api_key",
            "jwt",
            "access",
            "body_limit",
            "rate_limit",
            "headers"
        ]
    );
    let d = doc(&[], "");
    let mut got: Vec<(&str, &str)> = d
        .policies
        .iter()
        .map(|(n, s)| (n.as_str(), s.type_name()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("cors", "cors"),
            ("cors2", "cors"),
            ("ips", "ip_rules"),
            ("jwt", "jwt"),
            ("key", "api_key"),
            ("per-consumer", "rate_limit"),
            ("small", "body_limit"),
            ("tag", "headers"),
            ("via", "headers"),
        ]
    );
}
