//! Forwarding: one request to one origin, once, aborted when the route's timeout passes before
//! the origin's response headers arrive. Rust decides the origin URL, timeout and header
//! values; `glue.js` does the per-request JavaScript work in one call and finishes the
//! request. Bodies stay JavaScript streams end to end.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::web_sys::Request;
use worker::Env;

use crate::forward::{origin_url, Failure, UrlParts};
use crate::headers::HOP_BY_HOP;
use crate::problem::GatewayError;
use crate::table::RouteMatch;

#[wasm_bindgen(module = "/src/edge/glue.js")]
extern "C" {
    fn configure(names: js_sys::Array, timed_out: JsValue, failed: JsValue);
    #[cfg(test)]
    #[wasm_bindgen(js_name = stripHopByHop)]
    pub(super) fn strip_hop_by_hop(headers: &worker::web_sys::Headers);
    #[cfg(test)]
    pub(super) fn relay(
        response: worker::web_sys::Response,
        request_id: &str,
        version: &str,
    ) -> worker::web_sys::Response;
    #[cfg(test)]
    #[wasm_bindgen(js_name = problem)]
    pub(super) fn problem_js(
        kind: JsValue,
        request_id: &str,
        route_id: &str,
        version: &str,
    ) -> worker::web_sys::Response;
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = proxy)]
    fn proxy_js(
        request: &Request,
        url: &str,
        request_id: &str,
        proto: &str,
        host: &str,
        version: &str,
        timeout_ms: f64,
        access_id: Option<String>,
        access_secret: Option<String>,
        fetcher: &JsValue,
        route_id: &str,
        log_head: &str,
        started: f64,
    ) -> js_sys::Promise;
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

/// Hands the header policy and the 504/502 mapping to the JavaScript side; once per isolate.
/// `glue.js` reports an attempt as `[timed out, failed]`, i.e. the two [`Failure`]s.
pub fn init() {
    let names = HOP_BY_HOP.iter().map(|h| JsValue::from_str(h)).collect();
    let kind = |failure: Failure| failure_kind(failure.into());
    configure(names, kind(Failure::TimedOut), kind(Failure::Failed));
}

/// Where one request goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'t> {
    /// An origin base URL.
    Origin(&'t str),
    /// A service binding.
    Binding(&'t str),
}

/// Starts forwarding `req` to the chosen origin and returns the promise of the client's
/// response (which also writes the access log line from `log_head`). `Err` when the request
/// cannot even be sent (a missing binding or Access secret), with the cause for the log.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    req: &Request,
    env: &Env,
    parts: &UrlParts<'_>,
    matched: &RouteMatch<'_, '_>,
    request_id: &str,
    version: &str,
    destination: Destination<'_>,
    log_head: &str,
    started: f64,
) -> Result<js_sys::Promise, String> {
    let path = match &matched.route.rewrite {
        Some(rewrite) => rewrite.apply(parts.path, |name| matched.params.get(name)),
        None => parts.path.to_owned(),
    };
    let (url, fetcher) = match destination {
        Destination::Origin(base) => (origin_url(base, &path, parts.query), JsValue::UNDEFINED),
        Destination::Binding(name) => {
            let fetcher = env
                .service(name)
                .map_err(|e| format!("service binding {name}: {e}"))?;
            // A service binding ignores the host; name the upstream for the origin's logs.
            let base = format!("https://{}", matched.upstream.name);
            (origin_url(&base, &path, parts.query), fetcher.into())
        }
    };
    let (access_id, access_secret) = match &matched.upstream.access_secrets {
        None => (None, None),
        Some(access) => {
            let secret = |name: &str| {
                env.secret(name)
                    .map(|s| s.to_string())
                    .map_err(|e| format!("Access secret {name}: {e}"))
            };
            (
                Some(secret(&access.client_id)?),
                Some(secret(&access.client_secret)?),
            )
        }
    };
    Ok(proxy_js(
        req,
        &url,
        request_id,
        parts.scheme,
        parts.host,
        version,
        matched.route.timeout_ms as f64,
        access_id,
        access_secret,
        &fetcher,
        &matched.route.id,
        log_head,
        started,
    ))
}
