//! The runtime layer: the Worker's handlers. Everything here is glue between the `worker`
//! runtime and the pure core; decisions are made in the core.
//!
//! The fetch handler is synchronous on the hot path: it routes in Rust and returns the promise
//! of the JavaScript half (`glue.js`), which forwards and finishes the request. Only an
//! isolate's first request (the route table load) and the admin API run as Rust futures.

mod admin;
mod health;
mod isolate;
mod probe;
mod proxy;
mod respond;
mod routes;

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::web_sys::{Request, Response};
use worker::{event, Context, Env};

use crate::access_log::AccessLog;
use crate::forward::UrlParts;
use crate::headers::{is_valid_request_id, REQUEST_ID};
use crate::health::{choose, Choice};
use crate::problem::GatewayError;
use crate::table::{Lookup, RouteTable, Target};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    proxy::init();
}

/// The fetch handler (exported as `fetch`; worker-build's entrypoint calls it).
#[wasm_bindgen]
pub fn fetch(req: Request, env: Env, ctx: worker::worker_sys::Context) -> Promise {
    let ctx = Context::new(ctx);
    let started = js_sys::Date::now();
    let url = req.url();
    let method = req.method();
    let request_id = match req.headers().get(REQUEST_ID).ok().flatten() {
        Some(id) if is_valid_request_id(&id) => id,
        _ => isolate::next_request_id(),
    };
    let Some(parts) = UrlParts::split(&url) else {
        // The runtime always hands the worker an absolute URL; anything else is a bug here.
        return answer(respond::problem(
            GatewayError::Internal,
            &request_id,
            None,
            None,
            None,
        ));
    };
    if let Some(route) = crate::admin::route(&method, parts.path) {
        return future_to_promise(async move {
            admin::serve(&req, &env, route, &request_id)
                .await
                .map(JsValue::from)
                .map_err(|e| e.to_string().into())
        });
    }
    let config = isolate::config(&env);
    if let Some(table) = routes::cached(&env, &ctx, &config, started) {
        return serve(
            &req,
            &env,
            &ctx,
            &config,
            &parts,
            &method,
            &request_id,
            &table,
            started,
        );
    }
    // An isolate's first request: load the table, then serve as usual.
    future_to_promise(async move {
        let parts = UrlParts::split(&url).expect("split above");
        let Some(table) = routes::load_now(&env).await else {
            let log = access_log(&parts, &method, &request_id, None);
            let error = GatewayError::NoRouteTable;
            let response = respond::problem(error, &request_id, None, None, None);
            return finish(response, &log, started, None);
        };
        let promise = serve(
            &req,
            &env,
            &ctx,
            &config,
            &parts,
            &method,
            &request_id,
            &table,
            started,
        );
        JsFuture::from(promise).await
    })
}

/// Routes one request with a loaded table; forwards it or answers it.
#[allow(clippy::too_many_arguments)]
fn serve(
    req: &Request,
    env: &Env,
    ctx: &Context,
    config: &isolate::Config,
    parts: &UrlParts<'_>,
    method: &str,
    request_id: &str,
    table: &RouteTable,
    started: f64,
) -> Promise {
    let version = Some(table.version.as_str());
    let mut log = access_log(parts, method, request_id, version);
    let matched = match table.lookup(parts.host, method, parts.path) {
        Lookup::Found(matched) => matched,
        Lookup::NotFound => {
            let response = respond::problem(GatewayError::NoRoute, request_id, None, version, None);
            return promise(finish(response, &log, started, None));
        }
        Lookup::MethodNotAllowed { allow } => {
            let error = GatewayError::MethodNotAllowed;
            let response = respond::problem(error, request_id, None, version, Some(allow));
            return promise(finish(response, &log, started, None));
        }
    };
    let route_id = Some(matched.route.id.as_str());
    log.route_id = route_id;
    log.upstream = Some(&matched.upstream.name);
    let destination = match &matched.upstream.target {
        Target::Binding(name) => proxy::Destination::Binding(name),
        Target::Origins(origins) => {
            let view = health::current(env, ctx, config, started);
            let random = isolate::random();
            match choose(
                matched.upstream,
                origins,
                &view,
                started,
                config.health_fresh_ms,
                random,
            ) {
                Choice::Origin(origin) => proxy::Destination::Origin(&origin.url),
                Choice::AllUnhealthy => {
                    let error = GatewayError::UpstreamUnavailable;
                    let response = respond::problem(error, request_id, route_id, version, None);
                    return promise(finish(
                        response,
                        &log,
                        started,
                        Some("every origin is unhealthy"),
                    ));
                }
            }
        }
    };
    log.origin = Some(match destination {
        proxy::Destination::Origin(url) | proxy::Destination::Binding(url) => url,
    });
    let forwarded = proxy::forward(
        req,
        env,
        parts,
        &matched,
        request_id,
        &table.version,
        destination,
        &log.head(),
        started,
    );
    match forwarded {
        Ok(promise) => promise,
        Err(cause) => {
            let response =
                respond::problem(GatewayError::Internal, request_id, route_id, version, None);
            promise(finish(response, &log, started, Some(&cause)))
        }
    }
}

fn access_log<'a>(
    parts: &UrlParts<'a>,
    method: &'a str,
    request_id: &'a str,
    version: Option<&'a str>,
) -> AccessLog<'a> {
    AccessLog {
        event: "request",
        request_id,
        method,
        host: parts.host,
        path: parts.path,
        route_id: None,
        upstream: None,
        origin: None,
        route_version: version,
    }
}

/// Logs a response the gateway produced itself.
fn finish(
    response: worker::Result<Response>,
    log: &AccessLog<'_>,
    started: f64,
    error: Option<&str>,
) -> Result<JsValue, JsValue> {
    let response = response.map_err(|e| JsValue::from(e.to_string()))?;
    let duration = (js_sys::Date::now() - started).max(0.0) as u64;
    worker::console_log!("{}", log.line(response.status(), duration, error));
    Ok(response.into())
}

fn promise(result: Result<JsValue, JsValue>) -> Promise {
    match result {
        Ok(value) => Promise::resolve(&value),
        Err(error) => Promise::reject(&error),
    }
}

fn answer(response: worker::Result<Response>) -> Promise {
    promise(
        response
            .map(JsValue::from)
            .map_err(|e| JsValue::from(e.to_string())),
    )
}

/// The message of a JavaScript error value (an `Error`'s message, a string, or its debug form).
fn js_error(error: &JsValue) -> String {
    use wasm_bindgen::JsCast;
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

#[cfg(test)]
mod tests;
