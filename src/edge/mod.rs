//! The runtime layer: the Worker's fetch handler. Everything here is glue between the
//! `worker` runtime and the pure core; decisions are made in the core.

mod admin;
mod health;
mod isolate;
mod probe;
mod proxy;
mod respond;
mod routes;

use worker::web_sys::{Request, Response};
use worker::{event, Context, Env, Result};

use crate::access_log::AccessLog;
use crate::forward::UrlParts;
use crate::headers::{is_valid_request_id, REQUEST_ID};
use crate::health::{choose, Choice};
use crate::problem::GatewayError;
use crate::table::{Lookup, RouteTable, Target};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = js_sys::Date::now();
    let url = req.url();
    let method = req.method();
    let request_id = match req.headers().get(REQUEST_ID).ok().flatten() {
        Some(id) if is_valid_request_id(&id) => id,
        _ => isolate::next_request_id(),
    };
    let Some(parts) = UrlParts::split(&url) else {
        // The runtime always hands the worker an absolute URL; anything else is a bug here.
        return respond::problem(GatewayError::Internal, &request_id, None, None, None);
    };
    if let Some(route) = crate::admin::route(&method, parts.path) {
        return admin::serve(&req, &env, route, &request_id).await;
    }
    let table = routes::current(&env, &ctx, started).await;
    let mut log = AccessLog {
        event: "request",
        request_id: &request_id,
        method: &method,
        host: parts.host,
        path: parts.path,
        route_id: None,
        upstream: None,
        origin: None,
        status: 0,
        duration_ms: 0,
        route_version: table.as_deref().map(|t| t.version.as_str()),
        error: None,
    };
    let response = match table.as_deref() {
        Some(table) => serve(&req, &env, &ctx, &parts, table, &mut log).await,
        None => respond::problem(GatewayError::NoRouteTable, &request_id, None, None, None),
    };
    let response = response.or_else(|e| {
        log.error = Some(e.to_string());
        respond::problem(
            GatewayError::Internal,
            &request_id,
            log.route_id,
            None,
            None,
        )
    })?;
    log.status = response.status();
    log.duration_ms = (js_sys::Date::now() - started).max(0.0) as u64;
    worker::console_log!("{}", log.to_json());
    Ok(response)
}

/// Routes one request with a loaded table and forwards it, filling in the log line.
async fn serve<'a>(
    req: &Request,
    env: &Env,
    ctx: &Context,
    parts: &UrlParts<'a>,
    table: &'a RouteTable,
    log: &mut AccessLog<'a>,
) -> Result<Response> {
    let version = Some(table.version.as_str());
    let request_id = log.request_id;
    let matched = match table.lookup(parts.host, log.method, parts.path) {
        Lookup::Found(matched) => matched,
        Lookup::NotFound => {
            return respond::problem(GatewayError::NoRoute, request_id, None, version, None)
        }
        Lookup::MethodNotAllowed { allow } => {
            let error = GatewayError::MethodNotAllowed;
            return respond::problem(error, request_id, None, version, Some(allow));
        }
    };
    log.route_id = Some(&matched.route.id);
    log.upstream = Some(&matched.upstream.name);
    let origin = match &matched.upstream.target {
        Target::Binding(name) => proxy::Destination::Binding(name),
        Target::Origins(origins) => {
            let config = isolate::config(env);
            let now = js_sys::Date::now();
            let view = health::current(env, ctx, &config, now);
            let fresh_ms = config.health_fresh_ms;
            match choose(
                matched.upstream,
                origins,
                &view,
                now,
                fresh_ms,
                isolate::random(),
            ) {
                Choice::Origin(origin) => proxy::Destination::Origin(&origin.url),
                Choice::AllUnhealthy => {
                    let route_id = Some(matched.route.id.as_str());
                    let error = GatewayError::UpstreamUnavailable;
                    return respond::problem(error, request_id, route_id, version, None);
                }
            }
        }
    };
    let attempt = proxy::forward(req, env, parts, &matched, request_id, origin).await;
    log.origin = Some(attempt.origin);
    match attempt.outcome {
        Ok(origin_response) => respond::relay(origin_response, request_id, &table.version),
        Err((failure, cause)) => {
            log.error = Some(cause);
            let route_id = Some(matched.route.id.as_str());
            respond::problem(failure.into(), request_id, route_id, version, None)
        }
    }
}

/// The message of a JavaScript error value (an `Error`'s message, a string, or its debug form).
fn js_error(error: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

#[cfg(test)]
mod tests;
