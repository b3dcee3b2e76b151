//! Responses the gateway writes itself: problem+json errors (relaying is in `glue.js`).

use worker::web_sys::{Headers, Response, ResponseInit};
use worker::Result;

use crate::headers::{REQUEST_ID, ROUTE_VERSION};
use crate::problem::{GatewayError, Problem, PROBLEM_JSON};

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
