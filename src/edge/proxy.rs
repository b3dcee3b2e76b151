//! Forwarding: one request to one origin, once, aborted when the route's timeout passes before
//! the origin's response headers arrive. Bodies stay JavaScript streams end to end.

use std::time::Duration;

use futures_util::future::{select, Either};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use worker::web_sys::{AbortController, Headers, Request, RequestInit, RequestRedirect, Response};
use worker::{Delay, Env, Result};

use super::js_error;
use crate::forward::{origin_url, Failure, UrlParts};
use crate::headers::{forwarded_for, hop_by_hop, is_websocket, REQUEST_ID};
use crate::table::{RouteMatch, Upstream};

/// How one forwarding attempt went.
pub struct Attempt<'t> {
    /// The origin base URL (or binding name) the request went to.
    pub origin: &'t str,
    /// The origin's response, or why there is none (and the cause, for the log).
    pub outcome: std::result::Result<Response, (Failure, String)>,
}

/// Where one request goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'t> {
    /// An origin base URL.
    Origin(&'t str),
    /// A service binding.
    Binding(&'t str),
}

/// Forwards `req` to the chosen origin of the matched route's upstream.
pub async fn forward<'t>(
    req: &Request,
    env: &Env,
    parts: &UrlParts<'_>,
    matched: &RouteMatch<'t, '_>,
    request_id: &str,
    destination: Destination<'t>,
) -> Attempt<'t> {
    let route = matched.route;
    let (origin, binding) = match destination {
        Destination::Origin(url) => (url, false),
        Destination::Binding(name) => (name, true),
    };
    let outcome = match prepare(req, env, parts, matched, request_id, origin, binding) {
        Ok((out, controller)) => {
            send(
                env,
                out,
                controller,
                binding.then_some(origin),
                route.timeout_ms,
            )
            .await
        }
        Err(e) => Err((Failure::Failed, format!("building the origin request: {e}"))),
    };
    Attempt { origin, outcome }
}

/// Builds the outgoing request: origin URL, filtered headers, the client's body stream.
fn prepare(
    req: &Request,
    env: &Env,
    parts: &UrlParts<'_>,
    matched: &RouteMatch<'_, '_>,
    request_id: &str,
    origin: &str,
    binding: bool,
) -> Result<(Request, AbortController)> {
    let path = match &matched.route.rewrite {
        Some(rewrite) => rewrite.apply(parts.path, |name| matched.params.get(name)),
        None => parts.path.to_owned(),
    };
    // A service binding ignores the host; name the upstream so the origin's logs make sense.
    let binding_base;
    let base = if binding {
        binding_base = format!("https://{}", matched.upstream.name);
        binding_base.as_str()
    } else {
        origin
    };
    let url = origin_url(base, &path, parts.query);
    let headers = outgoing_headers(&req.headers(), env, parts, request_id, matched.upstream)?;
    let controller = AbortController::new()?;
    let init = RequestInit::new();
    init.set_method(&req.method());
    init.set_headers(&headers);
    init.set_redirect(RequestRedirect::Manual);
    init.set_signal(Some(&controller.signal()));
    if let Some(body) = req.body() {
        init.set_body(&body);
    }
    Ok((Request::new_with_str_and_init(&url, &init)?, controller))
}

/// The request headers for the origin, per the header policy.
fn outgoing_headers(
    incoming: &Headers,
    env: &Env,
    parts: &UrlParts<'_>,
    request_id: &str,
    upstream: &Upstream,
) -> Result<Headers> {
    let headers = Headers::new_with_headers(incoming)?;
    strip_hop_by_hop(&headers)?;
    headers.delete("host")?;
    let client_ip = headers.get("cf-connecting-ip")?;
    let existing = headers.get("x-forwarded-for")?;
    if let Some(chain) = forwarded_for(existing.as_deref(), client_ip.as_deref()) {
        headers.set("x-forwarded-for", &chain)?;
    }
    headers.set("x-forwarded-proto", parts.scheme)?;
    headers.set("x-forwarded-host", parts.host)?;
    headers.set(REQUEST_ID, request_id)?;
    if let Some(access) = &upstream.access_secrets {
        headers.set(
            "cf-access-client-id",
            &env.secret(&access.client_id)?.to_string(),
        )?;
        headers.set(
            "cf-access-client-secret",
            &env.secret(&access.client_secret)?.to_string(),
        )?;
    }
    Ok(headers)
}

/// Deletes hop-by-hop headers (and those `Connection` names) from `headers`.
pub fn strip_hop_by_hop(headers: &Headers) -> Result<()> {
    let names: Vec<String> = headers
        .keys()
        .into_iter()
        .filter_map(|k| k.ok().and_then(|k| k.as_string()))
        .collect();
    let websocket = is_websocket(headers.get("upgrade")?.as_deref());
    let connection = headers.get("connection")?;
    for name in hop_by_hop(
        names.iter().map(String::as_str),
        connection.as_deref(),
        websocket,
    ) {
        headers.delete(name)?;
    }
    Ok(())
}

/// Sends `out`, racing the response headers against the route's timeout.
async fn send(
    env: &Env,
    out: Request,
    controller: AbortController,
    binding: Option<&str>,
    timeout_ms: u64,
) -> std::result::Result<Response, (Failure, String)> {
    let failed = |e: String| (Failure::Failed, e);
    let response = async {
        match binding {
            Some(name) => {
                let fetcher = env.service(name).map_err(|e| e.to_string())?;
                let response = fetcher
                    .fetch_request(worker::Request::from(out))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Response::from(response))
            }
            None => {
                let global: worker::web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
                let value = JsFuture::from(global.fetch_with_request(&out))
                    .await
                    .map_err(|e| js_error(&e))?;
                value.dyn_into::<Response>().map_err(|e| js_error(&e))
            }
        }
    };
    let timer = Delay::from(Duration::from_millis(timeout_ms));
    futures_util::pin_mut!(response, timer);
    match select(response, timer).await {
        Either::Left((result, _timer)) => result.map_err(failed),
        Either::Right(((), _response)) => {
            controller.abort();
            Err((
                Failure::TimedOut,
                format!("no response headers within {timeout_ms} ms"),
            ))
        }
    }
}
