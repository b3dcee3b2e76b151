//! The runtime layer against real JavaScript `Headers` and `Response` objects, including the
//! hot path's JavaScript half (`glue.js`) through its Rust bindings (wasm-bindgen-test, run in
//! Node by `npm test`).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use worker::web_sys::{Headers, Response, ResponseInit};

use super::proxy::{self, relay, strip_hop_by_hop};
use super::respond;
use crate::problem::GatewayError;

fn headers(pairs: &[(&str, &str)]) -> Headers {
    let h = Headers::new().unwrap();
    for (k, v) in pairs {
        h.append(k, v).unwrap();
    }
    h
}

fn names(h: &Headers) -> Vec<String> {
    h.keys()
        .into_iter()
        .map(|k| k.unwrap().as_string().unwrap())
        .collect()
}

async fn text(response: &Response) -> String {
    JsFuture::from(response.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
fn hop_by_hop_headers_leave_a_real_headers_object() {
    proxy::init();
    let h = headers(&[
        ("Connection", "x-named, keep-alive"),
        ("Keep-Alive", "timeout=5"),
        ("X-Named", "1"),
        ("TE", "trailers"),
        ("Proxy-Authorization", "Basic x"),
        ("Upgrade", "h2c"),
        ("Traceparent", "00-abc-def-01"),
        ("Accept", "*/*"),
    ]);
    strip_hop_by_hop(&h);
    assert_eq!(names(&h), ["accept", "traceparent"]);

    let ws = headers(&[
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Keep-Alive", "1"),
    ]);
    strip_hop_by_hop(&ws);
    assert_eq!(names(&ws), ["connection", "upgrade"]);
}

#[wasm_bindgen_test]
async fn problems_are_problem_json_with_ids() {
    let response = respond::problem(
        GatewayError::MethodNotAllowed,
        "req-1",
        None,
        Some("v7"),
        Some("GET, HEAD"),
    )
    .unwrap();
    assert_eq!(response.status(), 405);
    let h = response.headers();
    assert_eq!(
        h.get("content-type").unwrap().as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(h.get("allow").unwrap().as_deref(), Some("GET, HEAD"));
    assert_eq!(h.get("x-request-id").unwrap().as_deref(), Some("req-1"));
    assert_eq!(
        h.get("x-gateway-route-version").unwrap().as_deref(),
        Some("v7")
    );
    let body: serde_json::Value = serde_json::from_str(&text(&response).await).unwrap();
    assert_eq!(body["status"], 405);
    assert_eq!(body["request_id"], "req-1");

    let unavailable =
        respond::problem(GatewayError::NoRouteTable, "req-2", None, None, None).unwrap();
    assert_eq!(unavailable.status(), 503);
    assert_eq!(
        unavailable.headers().get("retry-after").unwrap().as_deref(),
        Some("5")
    );
    assert_eq!(
        unavailable
            .headers()
            .get("x-gateway-route-version")
            .unwrap(),
        None
    );
}

#[wasm_bindgen_test]
async fn relayed_responses_keep_status_body_and_end_to_end_headers() {
    proxy::init();
    let init = ResponseInit::new();
    init.set_status(418);
    init.set_status_text("I'm a teapot");
    init.set_headers(&headers(&[
        ("Connection", "x-hop"),
        ("X-Hop", "1"),
        ("Keep-Alive", "timeout=5"),
        ("Set-Cookie", "a=1"),
        ("Content-Type", "text/plain"),
    ]));
    let origin = Response::new_with_opt_str_and_init(Some("short and stout"), &init).unwrap();
    let relayed = relay(origin, "req-3", "v9");
    assert_eq!(
        (relayed.status(), relayed.status_text()),
        (418, "I'm a teapot".to_owned())
    );
    let h = relayed.headers();
    assert_eq!(
        names(&h),
        [
            "content-type",
            "set-cookie",
            "x-gateway-route-version",
            "x-request-id"
        ]
    );
    assert_eq!(
        h.get("x-gateway-route-version").unwrap().as_deref(),
        Some("v9")
    );
    assert_eq!(text(&relayed).await, "short and stout");
    assert!(relayed.dyn_ref::<Response>().is_some());
}

#[wasm_bindgen_test]
async fn glue_renders_504_and_502_exactly_as_the_rust_mapping() {
    proxy::init();
    for error in [GatewayError::OriginTimeout, GatewayError::OriginFailure] {
        let js = proxy::problem_js(proxy::failure_kind(error), "req-9", "users-get", "v3");
        let rust = respond::problem(error, "req-9", Some("users-get"), Some("v3"), None).unwrap();
        assert_eq!(js.status(), rust.status());
        assert_eq!(names(&js.headers()), names(&rust.headers()));
        for name in names(&rust.headers()) {
            assert_eq!(
                js.headers().get(&name).unwrap(),
                rust.headers().get(&name).unwrap(),
                "{name}"
            );
        }
        assert_eq!(text(&js).await, text(&rust).await);
    }
}
