//! Conditional routes and traffic splits in the table: several routes per host, path and
//! method (conditions first, in file order, then the one without), ambiguity, 404 and 405,
//! CORS preflights, format 3, the upstream a split chooses, and problems naming their route.

mod common;

use common::{doc, errors, table};
use gateway::context::RequestContext;
use gateway::policy::cors;
use gateway::table::{Lookup, RouteDocument, RouteTable};

/// A third upstream for the split side.
const V2: &str = r#"
[upstreams.orders-v2]
[upstreams.orders-v2.env.local]
origins = ["http://127.0.0.1:9104"]
"#;

const ROUTES: &str = r#"
[[routes]]
id = "orders-beta"
methods = ["GET"]
path = "/orders"
upstream = "orders-v2"
when = { header = { x-beta = "1", x-client = { prefix = "ios/" } } }

[[routes]]
id = "orders-query"
path = "/orders"
upstream = "orders-v2"
when = { header = { x-beta = "2" }, query = { v = "2 b" } }

[[routes]]
id = "orders-cookie"
methods = ["GET"]
path = "/orders"
upstream = "orders-v2"
when = { header = { x-beta = "3" }, cookie = { beta = { present = true } } }

[[routes]]
id = "orders"
methods = ["GET", "POST"]
path = "/orders"
upstream = "orders"

[[routes]]
id = "beta-only"
methods = ["GET"]
path = "/beta"
upstream = "orders-v2"
when = { query = { beta = "1" } }
"#;

fn request(method: &str, target: &str, headers: &[(&'static str, &'static str)]) -> RequestContext {
    RequestContext::new(
        format!("https://gw.test{target}"),
        method.into(),
        "r".into(),
        0.0,
        Box::new(headers.to_vec()),
    )
    .expect("absolute URL")
}

/// A lookup as `route id`, `404` or `405 <Allow>`.
fn outcome(lookup: Lookup<'_, '_>) -> String {
    match lookup {
        Lookup::Found(m) => m.route.id.clone(),
        Lookup::NotFound => "404".into(),
        Lookup::MethodNotAllowed { allow } => format!("405 {allow}"),
    }
}

#[test]
fn conditional_routes_first_in_file_order_then_the_unconditional_one() {
    let table = table(&format!("{V2}{ROUTES}"));
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: &[Case] = &[
        ("GET", "/orders", &[], "orders"),
        (
            "GET",
            "/orders",
            &[("x-beta", "1"), ("x-client", "ios/17")],
            "orders-beta",
        ),
        (
            "GET",
            "/orders",
            &[("x-beta", "1"), ("x-client", "web")],
            "orders",
        ),
        ("GET", "/orders?v=2+b", &[("x-beta", "2")], "orders-query"),
        ("GET", "/orders?v=2%20b", &[("x-beta", "2")], "orders-query"),
        ("GET", "/orders?v=2", &[("x-beta", "2")], "orders"),
        // A conditional route without methods serves every method, before the plain one.
        ("POST", "/orders?v=2+b", &[("x-beta", "2")], "orders-query"),
        (
            "DELETE",
            "/orders?v=2+b",
            &[("x-beta", "2")],
            "orders-query",
        ),
        ("DELETE", "/orders", &[], "404"),
        ("POST", "/orders", &[], "orders"),
        (
            "GET",
            "/orders",
            &[("x-beta", "3"), ("cookie", "a=1; beta=x")],
            "orders-cookie",
        ),
        ("GET", "/orders", &[("x-beta", "3")], "orders"),
        // HEAD is served by the GET routes, conditions included.
        (
            "HEAD",
            "/orders",
            &[("x-beta", "1"), ("x-client", "ios/1")],
            "orders-beta",
        ),
        ("HEAD", "/orders", &[], "orders"),
        // Only conditional routes: unmatched is a 404, a method no route has a 405.
        ("GET", "/beta?beta=1", &[], "beta-only"),
        ("GET", "/beta", &[], "404"),
        ("POST", "/beta?beta=1", &[], "405 GET, HEAD"),
    ];
    for (method, target, headers, want) in cases {
        let got = outcome(table.lookup_request(&request(method, target, headers)));
        assert_eq!(got, *want, "{method} {target} {headers:?}");
    }
    // Known only by host, method and path, conditional routes never match.
    for (method, path, want) in [
        ("GET", "/orders", "orders"),
        ("DELETE", "/orders", "404"),
        ("GET", "/beta", "404"),
        ("PUT", "/beta", "405 GET, HEAD"),
    ] {
        assert_eq!(
            outcome(table.lookup("gw.test", method, path)),
            want,
            "{method} {path}"
        );
    }
}

#[test]
fn overlapping_conditions_are_ambiguous() {
    let route = |id: &str, methods: &str, when: &str| {
        let when = if when.is_empty() {
            String::new()
        } else {
            format!("when = {when}\n")
        };
        format!("[[routes]]\nid = \"{id}\"\nmethods = {methods}\npath = \"/o\"\nupstream = \"orders\"\n{when}\n")
    };
    let ambiguous = |id: &str, with: &str| {
        format!(
            "route `{id}`: a request could meet both this route's `when` and route `{with}`'s, which serves the same method on this host and path: make them exclusive (test one key with values that cannot both match: different values, or prefixes neither of which starts with the other)"
        )
    };
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "different values",
            route("a", r#"["GET"]"#, r#"{ header = { x-v = "1" } }"#)
                + &route("b", r#"["GET"]"#, r#"{ header = { x-v = "2" } }"#),
            vec![],
        ),
        (
            "prefixes apart, and a plain route beside them",
            route(
                "a",
                r#"["GET"]"#,
                r#"{ header = { x-c = { prefix = "ios/" } } }"#,
            ) + &route(
                "b",
                r#"["GET"]"#,
                r#"{ header = { x-c = { prefix = "android/" } } }"#,
            ) + &route("c", r#"["GET"]"#, ""),
            vec![],
        ),
        (
            "other keys",
            route("a", r#"["GET"]"#, r#"{ header = { x-v = "1" } }"#)
                + &route("b", r#"["GET"]"#, r#"{ cookie = { beta = "1" } }"#),
            vec![ambiguous("b", "a")],
        ),
        (
            "a prefix of the other's",
            route(
                "a",
                r#"["GET"]"#,
                r#"{ header = { x-c = { prefix = "ios/" } } }"#,
            ) + &route(
                "b",
                r#"["GET"]"#,
                r#"{ header = { x-c = { prefix = "ios/17" } } }"#,
            ),
            vec![ambiguous("b", "a")],
        ),
        (
            "presence overlaps a value",
            route(
                "a",
                r#"["GET"]"#,
                r#"{ header = { x-v = { present = true } } }"#,
            ) + &route("b", r#"["GET"]"#, r#"{ header = { x-v = "2" } }"#),
            vec![ambiguous("b", "a")],
        ),
        (
            "every method overlaps GET, each pair once",
            route("a", "[]", r#"{ query = { v = "1" } }"#)
                + &route("b", r#"["GET", "POST"]"#, r#"{ query = { v = "1" } }"#),
            vec![ambiguous("b", "a")],
        ),
        (
            "other methods never overlap",
            route("a", r#"["POST"]"#, r#"{ query = { v = "1" } }"#)
                + &route("b", r#"["GET"]"#, r#"{ query = { v = "1" } }"#),
            vec![],
        ),
        (
            "two without conditions still overlap",
            route("a", r#"["GET"]"#, r#"{ query = { v = "1" } }"#)
                + &route("b", r#"["GET"]"#, "")
                + &route("c", r#"["GET"]"#, ""),
            vec!["route `c`: GET on this path is already served by route `b`".into()],
        ),
        (
            "a bad condition is reported once, not as an overlap",
            route("a", r#"["GET"]"#, "")
                + &route("b", r#"["GET"]"#, r#"{ header = { X-V = "1" } }"#),
            vec!["route `b`: when.header `X-V`: the name must be a lower-case header name".into()],
        ),
    ];
    for (what, routes, want) in cases {
        assert_eq!(errors(&routes), want, "{what}");
    }
}

#[test]
fn a_preflight_reaches_a_conditional_route_with_cors() {
    let routes = r#"
[policies.web]
type = "cors"
allow_origins = ["https://app.example.com"]

[[routes]]
id = "beta"
methods = ["PUT"]
path = "/o"
upstream = "orders"
policies = ["web"]
when = { header = { x-beta = "1" }, query = { v = "1" } }

[[routes]]
id = "by-query"
methods = ["PUT"]
path = "/o"
upstream = "orders"
policies = ["web"]
when = { query = { v = "2" } }
"#;
    let table = table(routes);
    let preflight = |target: &str| {
        request(
            "OPTIONS",
            target,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PUT"),
            ],
        )
    };
    // The query is the actual request's: its route answers. Headers are not sent with a
    // preflight: the first route with CORS answers.
    assert_eq!(
        outcome(cors::lookup(&table, &preflight("/o?v=2"))),
        "by-query"
    );
    assert_eq!(outcome(cors::lookup(&table, &preflight("/o"))), "beta");
    let plain_options = request("OPTIONS", "/o", &[("x-beta", "1")]);
    assert_eq!(outcome(cors::lookup(&table, &plain_options)), "405 PUT");
}

#[test]
fn format_3_only_when_needed() {
    let plain = doc("[[routes]]\nid = \"a\"\npath = \"/a\"\nupstream = \"orders\"\n");
    assert_eq!(plain.needed_format(), 1);
    let with = doc(&format!("{V2}{ROUTES}"));
    assert_eq!((with.needed_format(), with.format), (3, 3));
    // Survives JSON.
    assert_eq!(RouteDocument::from_json(&with.to_json()).unwrap(), with);
    let split = doc(&format!(
        "{V2}[[routes]]\nid = \"a\"\npath = \"/a\"\nupstream = \"orders\"\nsplit = {{ to = {{ orders-v2 = 10 }} }}\n"
    ));
    assert_eq!(split.needed_format(), 3);
    assert!(split
        .to_json()
        .contains(r#""split":{"to":{"orders-v2":10}}"#));
    // An older worker would read it without conditions: it may not say format 2.
    let mut old = with.clone();
    old.format = 2;
    assert_eq!(
        RouteTable::try_from(old).unwrap_err().to_string(),
        "route table: format 2 cannot carry `when` or `split` (format 3 can)"
    );
}

const SPLIT: &str = r#"
[policies.key]
type = "api_key"

[[routes]]
id = "orders-get"
path = "/orders/{id}"
upstream = "orders"
policies = ["key"]
split = { to = { orders-v2 = 10 }, sticky = "consumer", override_header = "x-gateway-split" }
"#;

#[test]
fn a_split_chooses_the_upstream() {
    let table = table(&format!("{V2}{SPLIT}"));
    let chosen = |headers: &[(&'static str, &'static str)], consumer: Option<&str>| {
        let r = request("GET", "/orders/7", headers);
        let Lookup::Found(m) = table.lookup_request(&r) else {
            panic!("routed")
        };
        assert_eq!(
            m.upstream.name, "orders",
            "the lookup names the route's own"
        );
        table
            .choose_upstream(m.route, &r, consumer, 0.5)
            .name
            .clone()
    };
    assert_eq!(
        chosen(&[("x-gateway-split", "orders-v2")], None),
        "orders-v2"
    );
    assert_eq!(chosen(&[("x-gateway-split", "orders")], None), "orders");
    assert_eq!(chosen(&[("x-gateway-split", "users")], None), "orders");
    // Sticky by consumer: about a tenth of them on the side, each always on the same one.
    let on_side = (0..2_000)
        .filter(|i| chosen(&[], Some(&format!("consumer-{i}"))) == "orders-v2")
        .count();
    assert!((140..=260).contains(&on_side), "{on_side} of 2000");
    for i in 0..50 {
        let c = format!("consumer-{i}");
        assert_eq!(chosen(&[], Some(&c)), chosen(&[], Some(&c)));
    }
    // A route without a split: its own upstream.
    let mut no_split = table.routes()[0].clone();
    no_split.split = None;
    let r = request("GET", "/", &[]);
    assert_eq!(
        table.choose_upstream(&no_split, &r, None, 0.99).name,
        "orders"
    );
}

#[test]
fn split_problems_name_the_route() {
    let route = |split: &str, policies: &str| {
        format!("{V2}[[routes]]\nid = \"s\"\npath = \"/s\"\nupstream = \"orders\"\npolicies = {policies}\nsplit = {split}\n[policies.key]\ntype = \"api_key\"\n")
    };
    let cases: &[(&str, &str, &[&str])] = &[
        (r#"{ to = { orders-v2 = 10 } }"#, "[]", &[]),
        (
            r#"{ to = { nope = 10, orders = 5 } }"#,
            "[]",
            &[
                "route `s`: split.to.nope: unknown upstream `nope`",
                "route `s`: split.to.orders: `orders` is the route's own upstream, which gets the share the others leave",
            ],
        ),
        (
            r#"{ to = { orders-v2 = 100.5, users = 1 } }"#,
            "[]",
            &["route `s`: split.to.orders-v2: 100.5 is not a percentage from 0 to 100 with at most two decimals"],
        ),
        (
            r#"{ to = { orders-v2 = 99, users = 1.01 } }"#,
            "[]",
            &["route `s`: split.to: the shares add up to 100.01%, more than 100%"],
        ),
        (
            r#"{ to = { orders-v2 = 10 }, sticky = "consumer" }"#,
            "[]",
            &["route `s`: split.sticky = \"consumer\" needs an authentication policy on the route (api_key, jwt or access)"],
        ),
        (r#"{ to = { orders-v2 = 10 }, sticky = "consumer" }"#, r#"["key"]"#, &[]),
        (
            r#"{ to = { orders-v2 = 10 }, sticky = "header:", override_header = "X-Split" }"#,
            "[]",
            &[
                "route `s`: split.sticky: `header:`: the header name must be a token",
                "route `s`: split.override_header `X-Split` must be a lower-case header name",
            ],
        ),
    ];
    for (split, policies, want) in cases {
        assert_eq!(errors(&route(split, policies)), *want, "{split}");
    }
}

#[test]
fn conditions_and_splits_that_do_not_parse_are_toml_errors() {
    for (snippet, why) in [
        (
            r#"when = { header = { x-v = { suffix = "1" } } }"#,
            "unknown field `suffix`",
        ),
        (r#"when = { path = "/x" }"#, "unknown field `path`"),
        (r#"split = { to = { v2 = "ten" } }"#, "invalid type"),
        (
            r#"split = { to = { v2 = 10 }, stickiness = "ip" }"#,
            "unknown field `stickiness`",
        ),
    ] {
        let text =
            format!("[[routes]]\nid = \"a\"\npath = \"/a\"\nupstream = \"orders\"\n{snippet}\n");
        let e = toml::from_str::<gateway::table::source::RouteFile>(&text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{snippet}: {e}");
    }
}
