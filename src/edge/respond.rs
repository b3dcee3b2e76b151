//! Responses the gateway writes: relayed origin responses and problem+json errors.

use worker::web_sys::{Headers, Response, ResponseInit};
use worker::Result;

use super::proxy::strip_hop_by_hop;
use crate::headers::{REQUEST_ID, ROUTE_VERSION};
use crate::problem::{GatewayError, Problem, PROBLEM_JSON};

/// The origin's response with hop-by-hop headers removed and the gateway's headers added.
/// The body stream is handed over untouched.
pub fn relay(origin: Response, request_id: &str, version: &str) -> Result<Response> {
    if origin.status() == 101 {
        // A WebSocket handshake: the socket travels with the response object itself.
        return Ok(origin);
    }
    let headers = Headers::new_with_headers(&origin.headers())?;
    strip_hop_by_hop(&headers)?;
    headers.set(REQUEST_ID, request_id)?;
    headers.set(ROUTE_VERSION, version)?;
    let init = ResponseInit::new();
    init.set_status(origin.status());
    init.set_status_text(&origin.status_text());
    init.set_headers(&headers);
    Ok(Response::new_with_opt_readable_stream_and_init(
        origin.body().as_ref(),
        &init,
    )?)
}

/// A problem+json response for `error`.
pub fn problem(
    error: GatewayError,
    request_id: &str,
    route_id: Option<&str>,
    version: Option<&str>,
    allow: Option<&str>,
) -> Result<Response> {
    let headers = Headers::new()?;
    headers.set("content-type", PROBLEM_JSON)?;
    headers.set("cache-control", "no-store")?;
    headers.set(REQUEST_ID, request_id)?;
    if let Some(version) = version {
        headers.set(ROUTE_VERSION, version)?;
    }
    if let Some(allow) = allow {
        headers.set("allow", allow)?;
    }
    if let Some(seconds) = error.retry_after() {
        headers.set("retry-after", &seconds.to_string())?;
    }
    let init = ResponseInit::new();
    init.set_status(error.status());
    init.set_headers(&headers);
    let body = Problem::new(error, request_id, route_id).to_json();
    Ok(Response::new_with_opt_str_and_init(Some(&body), &init)?)
}
