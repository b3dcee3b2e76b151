//! The `headers` policy: validation of names and templates, rendering of `{request_id}`,
//! `{route_id}`, `{consumer}` and `{param.NAME}`, operation order, and the header-name rules
//! every policy shares (`is_header_name`, `check_header_name`).

mod common;
mod policy_support;

use gateway::context::{Effects, HeaderOp};
use gateway::policy::{check_header_name, is_header_name, Exchange, Verdict};
use gateway::table::Lookup;
use policy_support::{check, policy, problems, request_to};

#[test]
fn header_names() {
    for name in ["x-a", "etag", "x_b", "a1!#$%&'*+-.^_`|~"] {
        assert!(is_header_name(name), "{name}");
    }
    for name in ["", "X-A", "x a", "x:a", "é", "x\u{0}"] {
        assert!(!is_header_name(name), "{name:?}");
    }
    let cases: &[(&str, Option<&str>)] = &[
        ("x-user", None),
        (
            "X-User",
            Some("f: `X-User` is not a lower-case header name"),
        ),
        ("host", Some("f: `host` is managed by the gateway")),
        (
            "x-request-id",
            Some("f: `x-request-id` is managed by the gateway"),
        ),
        (
            "x-gateway-route-version",
            Some("f: `x-gateway-route-version` is managed by the gateway"),
        ),
        (
            "cf-access-client-secret",
            Some("f: `cf-access-client-secret` is managed by the gateway"),
        ),
        (
            "content-length",
            Some("f: `content-length` is managed by the gateway"),
        ),
        (
            "transfer-encoding",
            Some("f: `transfer-encoding` is managed by the gateway"),
        ),
        (
            "proxy-authorization",
            Some("f: `proxy-authorization` is managed by the gateway"),
        ),
    ];
    for (name, want) in cases {
        assert_eq!(check_header_name("f", name).as_deref(), *want, "{name}");
    }
}

#[test]
fn every_bad_operation_is_reported() {
    let hint = "write {request_id}, {route_id}, {consumer} or {param.NAME}";
    let cases: &[(&str, &[&str])] = &[
        ("{}", &["needs at least one `request` or `response` operation"]),
        (r#"{"request": {}, "response": {}}"#, &["needs at least one `request` or `response` operation"]),
        (r#"{"request": {"remove": ["Server"]}}"#, &["request.remove: `Server` is not a lower-case header name"]),
        (r#"{"response": {"remove": ["x-request-id"]}}"#, &["response.remove: `x-request-id` is managed by the gateway"]),
        (r#"{"request": {"set": {"host": "a"}}}"#, &["request.set: `host` is managed by the gateway"]),
        (r#"{"response": {"append": {"Vary": "a"}}}"#, &["response.append: `Vary` is not a lower-case header name"]),
        (r#"{"request": {"set": {"x-a": "{nope}"}}}"#, &["request.set.x-a: template `{nope}` uses `{nope}`; HINT"]),
        (r#"{"request": {"set": {"x-a": "{param.}"}}}"#, &["request.set.x-a: template `{param.}` uses `{param.}`; HINT"]),
        (r#"{"request": {"set": {"x-a": "{oops"}}}"#, &["request.set.x-a: template `{oops` has an unbalanced or empty `{}` (write `{{` or `}}` for a literal brace)"]),
        (r#"{"response": {"append": {"x-a": "a}"}}}"#, &["response.append.x-a: template `a}` has an unbalanced or empty `{}` (write `{{` or `}}` for a literal brace)"]),
        (r#"{"request": {"set": {"x-a": "a\r\nx-admin: 1"}}}"#, &["request.set.x-a: template `a\r\nx-admin: 1` contains a control character"]),
        (
            r#"{"request": {"remove": ["Host"], "set": {"X-A": "{x}"}}, "response": {"append": {"te": "{}"}}}"#,
            &[
                "request.remove: `Host` is not a lower-case header name",
                "request.set: `X-A` is not a lower-case header name",
                "request.set.X-A: template `{x}` uses `{x}`; HINT",
                "response.append: `te` is managed by the gateway",
                "response.append.te: template `{}` has an unbalanced or empty `{}` (write `{{` or `}}` for a literal brace)",
            ],
        ),
    ];
    for (json, want) in cases {
        let want: Vec<String> = want.iter().map(|w| w.replace("HINT", hint)).collect();
        assert_eq!(
            problems(&format!(r#"{{"headers": {json}}}"#)),
            want,
            "{json}"
        );
    }
}

fn set(n: &str, v: &str) -> HeaderOp {
    HeaderOp::Set(n.into(), v.into())
}
fn append(n: &str, v: &str) -> HeaderOp {
    HeaderOp::Append(n.into(), v.into())
}
fn remove(n: &str) -> HeaderOp {
    HeaderOp::Remove(n.into())
}

#[test]
fn templates_render_and_operations_keep_their_order() {
    let p = policy(
        r#"{"headers": {
        "request": {"append": {"x-z": "z", "x-trace": "{request_id}"}, "set": {"x-who": "user {consumer}", "x-route": "{route_id}", "x-lit": "{{id}} {param.id}"}, "remove": ["cookie", "x-debug"]},
        "response": {"set": {"x-served-by": "edge"}, "append": {"x-consumer": "{consumer}"}}}}"#,
    );
    let request = request_to("GET", "/a", &[]);
    // Without a consumer, operations that need one are skipped; a parameter the route does
    // not capture renders empty.
    let mut effects = Effects::default();
    assert!(matches!(
        check(&p, &request, &mut effects),
        Verdict::Continue
    ));
    let want = Effects {
        request_ops: vec![
            remove("cookie"),
            remove("x-debug"),
            set("x-lit", "{id} "),
            set("x-route", "r"),
            append("x-trace", "req-1"),
            append("x-z", "z"),
        ],
        response_ops: vec![set("x-served-by", "edge")],
        ..Effects::default()
    };
    assert_eq!(effects, want);
    // With one, they render; operations add to what earlier policies decided.
    let mut effects = Effects {
        consumer: Some("alice".into()),
        request_ops: vec![set("x-gateway-consumer", "alice")],
        ..Effects::default()
    };
    check(&p, &request, &mut effects);
    assert_eq!(
        effects.request_ops,
        [
            set("x-gateway-consumer", "alice"),
            remove("cookie"),
            remove("x-debug"),
            set("x-lit", "{id} "),
            set("x-route", "r"),
            set("x-who", "user alice"),
            append("x-trace", "req-1"),
            append("x-z", "z"),
        ]
    );
    assert_eq!(
        effects.response_ops,
        [set("x-served-by", "edge"), append("x-consumer", "alice")]
    );
}

#[test]
fn path_parameters_render_as_received() {
    let table = common::table(
        r#"
[policies.tag]
type = "headers"
request = { set = { "x-user" = "{param.id}", "x-file" = "{param.rest}" } }

[[routes]]
id = "files"
path = "/users/{id}/files/{*rest}"
upstream = "users"
policies = ["tag"]
"#,
    );
    let path = "/users/a%20b/files/x/y%2Fz";
    let Lookup::Found(m) = table.lookup("gw.dev", "GET", path) else {
        panic!("routed")
    };
    let request = request_to("GET", path, &[]);
    let mut effects = Effects::default();
    let named = &table.policies()[m.route.policies[0]];
    let mut x = Exchange {
        request: &request,
        route_id: &m.route.id,
        params: &m.params,
        effects: &mut effects,
        policy: &named.name,
    };
    assert!(matches!(named.policy.check(&mut x), Verdict::Continue));
    assert_eq!(
        effects.request_ops,
        [set("x-file", "x/y%2Fz"), set("x-user", "a%20b")]
    );
}

#[test]
fn transforms_may_not_speak_for_authentication() {
    assert_eq!(
        problems(r#"{"headers": {"request": {"set": {"x-gateway-consumer": "root"}}}}"#),
        ["request.set: `x-gateway-consumer` is an identity header only authentication sets"]
    );
    // On the response side the name is the route's own business.
    policy(r#"{"headers": {"response": {"set": {"x-gateway-note": "hi"}}}}"#);
}
