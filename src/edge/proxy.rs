//! Forwarding and answering through `glue.js`: Rust decides the origin URL, timeout and every
//! header operation and hands one [`Plan`] to the JavaScript half; the gateway's own
//! responses are [`Answer`]s that `glue.js` builds. Bodies stay JavaScript streams end to end.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::web_sys::{Request, Response};

use super::exchange::Exchange;
use crate::context::{Effects, HeaderOp};
use crate::forward::{origin_url, Failure, Plan};
use crate::headers::HOP_BY_HOP;
use crate::problem::{Answer, GatewayError};
use crate::table::{RouteMatch, Upstream};

#[wasm_bindgen(module = "/src/edge/glue.js")]
extern "C" {
    fn configure(names: js_sys::Array, failures: JsValue, stats: JsValue);
    #[wasm_bindgen(js_name = answer)]
    fn answer_js(answer: &str) -> Response;
    #[wasm_bindgen(js_name = proxy)]
    fn proxy_js(request: &Request, env: &JsValue, plan: &str) -> js_sys::Promise;
    #[cfg(test)]
    #[wasm_bindgen(js_name = stripHopByHop)]
    pub(super) fn strip_hop_by_hop(headers: &worker::web_sys::Headers, owned: bool);
    #[cfg(test)]
    pub(super) fn relay(
        response: worker::web_sys::Response,
        request_id: &str,
        version: &str,
        ops: JsValue,
    ) -> worker::web_sys::Response;
    /// Imports a public JWK (JSON text) for `alg`; resolves to a `CryptoKey`.
    #[wasm_bindgen(js_name = importKey)]
    pub(super) fn import_key(jwk: &str, alg: &str) -> js_sys::Promise;
    /// GETs a URL with a timeout; resolves to its text.
    #[wasm_bindgen(js_name = fetchText)]
    pub(super) fn fetch_text(url: &str, timeout_ms: f64) -> js_sys::Promise;
    /// Verifies a signature; resolves to a boolean.
    pub(super) fn verify(key: &JsValue, alg: &str, signature: &[u8], data: &str)
        -> js_sys::Promise;
}

/// The `{status, title, detail}` of a failure, as `glue.js` renders it.
pub(super) fn failure_kind(error: GatewayError) -> JsValue {
    let kind = js_sys::Object::new();
    let set =
        |k: &str, v: JsValue| js_sys::Reflect::set(&kind, &k.into(), &v).expect("plain object");
    set("status", error.status().into());
    set("title", error.title().into());
    set("detail", error.detail().into());
    kind.into()
}

/// Hands the header policy, the texts of the failures `proxy` answers itself (504, 502,
/// 413, 400) and the statistics' window and latency bucket bounds to the JavaScript side;
/// once per isolate. `glue.js` tells a timeout from a failure as the two [`Failure`]s.
pub fn init() {
    let names = HOP_BY_HOP.iter().map(|h| JsValue::from_str(h)).collect();
    let failures = js_sys::Object::new();
    for (key, error) in [
        ("timedOut", Failure::TimedOut.into()),
        ("failed", Failure::Failed.into()),
        ("tooLarge", GatewayError::PayloadTooLarge),
        ("bodyNotAllowed", GatewayError::BodyNotAllowed),
    ] {
        js_sys::Reflect::set(&failures, &key.into(), &failure_kind(error)).expect("plain object");
    }
    configure(names, failures.into(), stats_settings());
}

/// `{windowMs, bounds}` for `glue.js`' tallies, from [`crate::stats`].
fn stats_settings() -> JsValue {
    let settings = js_sys::Object::new();
    let bounds: js_sys::Array = crate::stats::BUCKET_BOUNDS_MS
        .iter()
        .map(|&ms| JsValue::from(ms as f64))
        .collect();
    let set = |k: &str, v: JsValue| {
        js_sys::Reflect::set(&settings, &k.into(), &v).expect("plain object");
    };
    set("windowMs", JsValue::from(crate::stats::WINDOW_MS as f64));
    set("bounds", bounds.into());
    settings.into()
}

/// The response for an answer the gateway gives itself.
pub fn answer(answer: &Answer) -> Response {
    answer_js(&answer.to_json())
}

/// Where one request goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'t> {
    /// An origin base URL.
    Origin(&'t str),
    /// A service binding.
    Binding(&'t str),
}

/// Where a routed request goes: its route match, the upstream chosen (a split may pick
/// another than the route's own), the serving table's version and the origin or binding.
pub struct Target<'a, 't, 'p> {
    /// The route that matched, with its captures.
    pub matched: &'a RouteMatch<'t, 'p>,
    /// The upstream the request goes to.
    pub upstream: &'t Upstream,
    /// The version of the table that routed it.
    pub version: &'a str,
    /// The origin (or binding) chosen.
    pub destination: Destination<'t>,
}

/// Starts forwarding the request and returns the promise of the client's response (which
/// also writes the access log line from `log_head`). `Err` when the request cannot even be
/// sent (a missing binding or Access secret), with the cause for the log.
pub fn forward(
    ex: &Exchange,
    target: &Target<'_, '_, '_>,
    effects: &mut Effects,
    log_head: &str,
) -> Result<js_sys::Promise, String> {
    let Target {
        matched,
        upstream,
        version,
        destination,
    } = *target;
    let request = &ex.request;
    let path = match &matched.route.rewrite {
        Some(rewrite) => rewrite.apply(request.path(), |name| matched.params.get(name)),
        None => request.path().to_owned(),
    };
    let (url, binding) = match destination {
        Destination::Origin(base) => (origin_url(base, &path, request.query()), None),
        Destination::Binding(name) => {
            ex.env
                .service(name)
                .map_err(|e| format!("service binding {name}: {e}"))?;
            // A service binding ignores the host; name the upstream for the origin's logs.
            let base = format!("https://{}", upstream.name);
            (origin_url(&base, &path, request.query()), Some(name))
        }
    };
    if let Some(access) = &upstream.access_secrets {
        let secret = |name: &str| {
            ex.env
                .secret(name)
                .map(|s| s.to_string())
                .map_err(|e| format!("Access secret {name}: {e}"))
        };
        effects.request_ops.push(HeaderOp::Set(
            "cf-access-client-id".into(),
            secret(&access.client_id)?,
        ));
        effects.request_ops.push(HeaderOp::Set(
            "cf-access-client-secret".into(),
            secret(&access.client_secret)?,
        ));
    }
    let (max_body, body_policy) = match &effects.max_body {
        Some((max, policy)) => (Some(*max), Some(policy.as_str())),
        None => (None, None),
    };
    let plan = Plan {
        url: &url,
        binding,
        timeout_ms: matched.route.timeout_ms,
        request_id: &request.request_id,
        route_id: &matched.route.id,
        version,
        upstream: &upstream.name,
        proto: request.scheme(),
        host: request.host(),
        request_headers: &effects.request_ops,
        response_headers: &effects.response_ops,
        gates: &effects.gates,
        gate_timeout_ms: (!effects.gates.is_empty())
            .then_some(ex.config.rate_limit_timeout_ms as u64),
        max_body,
        body_policy,
        log_head,
        started: request.started_ms,
    };
    Ok(proxy_js(&ex.req, ex.env.as_ref(), &plan.to_json()))
}
