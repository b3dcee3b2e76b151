//! The runtime layer against real JavaScript `Headers` and `Response` objects, including the
//! hot path's JavaScript half (`glue.js`) through its Rust bindings (wasm-bindgen-test, run in
//! Node by `npm test`).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use worker::web_sys::{Headers, Response, ResponseInit};

use super::proxy::{self, relay, strip_hop_by_hop};
use super::stats::{take_stats, tally};
use crate::context::HeaderOp;
use crate::problem::{Answer, GatewayError};
use crate::stats::sql::parse_taken;
use crate::stats::{Outcome, Totals, BUCKET_BOUNDS_MS, WINDOW_MS};

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
    strip_hop_by_hop(&h, false);
    assert_eq!(names(&h), ["accept", "traceparent"]);

    // A client may not speak for the gateway: its `x-gateway-*` and Access service-token
    // headers go on requests.
    let spoofed = headers(&[
        ("X-Gateway-Consumer", "admin"),
        ("CF-Access-Client-Id", "stolen.access"),
        ("CF-Access-Client-Secret", "s3cret"),
        ("Accept", "*/*"),
    ]);
    strip_hop_by_hop(&spoofed, true);
    assert_eq!(names(&spoofed), ["accept"]);

    let ws = headers(&[
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Keep-Alive", "1"),
    ]);
    strip_hop_by_hop(&ws, false);
    assert_eq!(names(&ws), ["connection", "upgrade"]);
}

#[wasm_bindgen_test]
async fn answers_are_problem_json_with_ids_and_headers() {
    proxy::init();
    let mut answer = Answer::problem(GatewayError::MethodNotAllowed, "req-1")
        .on(None, Some("v7"))
        .with("allow", "GET, HEAD");
    answer.ops = vec![
        HeaderOp::Set(
            "access-control-allow-origin".into(),
            "https://a.example".into(),
        ),
        HeaderOp::Append("vary".into(), "Origin".into()),
    ];
    let response = proxy::answer(&answer);
    assert_eq!(response.status(), 405);
    let h = response.headers();
    let get = |name: &str| h.get(name).unwrap();
    assert_eq!(
        get("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(get("allow").as_deref(), Some("GET, HEAD"));
    assert_eq!(get("x-request-id").as_deref(), Some("req-1"));
    assert_eq!(get("x-gateway-route-version").as_deref(), Some("v7"));
    assert_eq!(
        get("access-control-allow-origin").as_deref(),
        Some("https://a.example")
    );
    assert_eq!(get("vary").as_deref(), Some("Origin"));
    let body_text = text(&response).await;
    let body: serde_json::Value = serde_json::from_str(&body_text).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "type": "about:blank", "status": 405, "title": "Method Not Allowed",
            "detail": GatewayError::MethodNotAllowed.detail(), "request_id": "req-1",
        })
    );
    // The body glue.js renders is the problem the contract shared with the services defines.
    assert_eq!(
        contracts::Problem::from_json(&body_text).ok(),
        answer.body(),
        "{body_text}"
    );

    let unavailable = proxy::answer(&Answer::problem(GatewayError::NoRouteTable, "req-2"));
    assert_eq!(unavailable.status(), 503);
    let h = unavailable.headers();
    assert_eq!(h.get("retry-after").unwrap().as_deref(), Some("5"));
    assert_eq!(h.get("x-gateway-route-version").unwrap(), None);

    let preflight =
        proxy::answer(&Answer::empty(204, "req-3").with("access-control-max-age", "600"));
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers().get("content-type").unwrap(), None);
    assert_eq!(text(&preflight).await, "");
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
    let ops =
        js_sys::JSON::parse(r#"[["set","x-served-by","edge"],["remove","set-cookie"]]"#).unwrap();
    let relayed = relay(origin, "req-3", "v9", ops);
    assert_eq!(
        (relayed.status(), relayed.status_text()),
        (418, "I'm a teapot".to_owned())
    );
    let h = relayed.headers();
    assert_eq!(
        names(&h),
        [
            "content-type",
            "x-gateway-route-version",
            "x-request-id",
            "x-served-by"
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
fn failure_kinds_come_from_the_rust_mapping() {
    for error in [
        GatewayError::OriginTimeout,
        GatewayError::OriginFailure,
        GatewayError::PayloadTooLarge,
        GatewayError::BodyNotAllowed,
    ] {
        let kind = proxy::failure_kind(error);
        let get = |k: &str| js_sys::Reflect::get(&kind, &k.into()).unwrap();
        assert_eq!(get("status").as_f64(), Some(error.status() as f64));
        assert_eq!(get("title").as_string().as_deref(), Some(error.title()));
        assert_eq!(get("detail").as_string().as_deref(), Some(error.detail()));
    }
}

#[wasm_bindgen_test]
fn tallies_in_glue_js_count_as_the_rust_counters_do() {
    proxy::init();
    let _ = take_stats();
    // Every status class, and durations on and just above every bucket bound.
    let mut want = Totals::default();
    let durations = BUCKET_BOUNDS_MS.iter().flat_map(|&b| [b, b + 1]);
    for duration_ms in std::iter::once(0).chain(durations) {
        for status in [101, 200, 204, 302, 404, 429, 500, 502, 503, 504] {
            let outcome = Outcome {
                version: "v1",
                route: "orders-get",
                upstream: "orders",
                status,
                duration_ms,
            };
            tally(&outcome);
            want.record(status, duration_ms, true);
        }
    }
    tally(&Outcome {
        version: "",
        route: "",
        upstream: "",
        status: 503,
        duration_ms: 1,
    });
    let rows = parse_taken(&take_stats()).unwrap();
    assert!(rows.iter().all(|r| r.window_start % WINDOW_MS == 0));
    let sum = |version: &str| -> Totals {
        rows.iter()
            .filter(|r| r.version == version)
            .map(|r| &r.totals)
            .sum()
    };
    assert_eq!(sum("v1"), want);
    let unrouted = rows.iter().find(|r| r.version.is_empty()).unwrap();
    assert_eq!(
        (unrouted.route.as_str(), unrouted.upstream.as_str()),
        ("", "")
    );
    let mut one = Totals::default();
    one.record(503, 1, true);
    assert_eq!(sum(""), one);
    assert_eq!(take_stats(), "[]", "taking the counts starts over");
}

#[wasm_bindgen_test]
async fn admin_refusals_are_problem_json_that_say_why() {
    proxy::init();
    let refusal = crate::admin::actions::Refusal::Conflict("V1 is already active.".into());
    let response = proxy::answer(&refusal.answer("req-9"));
    assert_eq!(response.status(), 409);
    let h = response.headers();
    assert_eq!(
        h.get("content-type").unwrap().as_deref(),
        Some("application/problem+json")
    );
    let body_text = text(&response).await;
    let body: serde_json::Value = serde_json::from_str(&body_text).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "type": "about:blank", "status": 409, "title": "Conflict",
            "detail": "V1 is already active.", "request_id": "req-9",
        })
    );
    assert_eq!(
        contracts::Problem::from_json(&body_text).ok(),
        refusal.answer("req-9").body()
    );
}

#[wasm_bindgen_test]
async fn console_files_carry_their_policy() {
    use crate::admin::console::{Asset, CONTENT_SECURITY_POLICY};
    for asset in [Asset::Index, Asset::Script, Asset::Style] {
        let response = super::admin::console(asset, "req-c").unwrap();
        assert_eq!(response.status(), 200);
        let h = response.headers();
        let get = |name: &str| h.get(name).unwrap();
        assert_eq!(get("content-type").as_deref(), Some(asset.content_type()));
        assert_eq!(
            get("content-security-policy").as_deref(),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(get("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(get("referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(get("cache-control").as_deref(), Some("no-store"));
        assert_eq!(get("x-request-id").as_deref(), Some("req-c"));
        assert_eq!(text(&response).await, asset.body());
    }
    let redirect = super::admin::respond(308, None, &[("location", "/__gateway/")], "r").unwrap();
    assert_eq!(
        (
            redirect.status(),
            redirect.headers().get("location").unwrap()
        ),
        (308, Some("/__gateway/".to_owned()))
    );
}
