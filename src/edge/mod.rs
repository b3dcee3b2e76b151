//! The runtime layer: the Worker's handlers. Everything here is glue between the `worker`
//! runtime and the pure core; decisions are made in the core.
//!
//! `fetch` builds one [`Exchange`] per request and runs [`handle`], an async function polled
//! once on the spot: when every step is answered from memory (the route table, cached API
//! keys, policies without I/O) it completes synchronously and `fetch` returns the promise of
//! the JavaScript half (`glue.js`) itself — no Rust futures, wakers or closures on the hot
//! path. Only a step that really waits (an isolate's first table load, a KV key lookup, a
//! JWT signature, the admin API) hands the rest to the JavaScript event loop.

mod actions;
mod admin;
mod canary;
mod deadline;
mod exchange;
mod health;
mod isolate;
mod jwks;
mod limiter;
mod policies;
mod probe;
mod proxy;
mod routes;
mod stats;

use std::future::Future;
use std::task::{Context as TaskContext, Poll, Waker};

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;
use worker::web_sys::Request;
use worker::{event, Context, Env};

use self::exchange::Exchange;
use crate::access_log::AccessLog;
use crate::context::{Effects, RequestContext};
use crate::health::{choose, Choice};
use crate::policy::{self, cors, Stop};
use crate::problem::{Answer, GatewayError};
use crate::rollout::shadow::{compare, Compared};
use crate::table::{Lookup, RouteTable, Target};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    proxy::init();
}

/// The fetch handler (exported as `fetch`; worker-build's entrypoint calls it).
#[wasm_bindgen]
pub fn fetch(req: Request, env: Env, ctx: worker::worker_sys::Context) -> Promise {
    let started = js_sys::Date::now();
    match Exchange::new(req, env, Context::new(ctx), started) {
        Ok(ex) => settle(handle(ex)),
        // The runtime always hands the worker an absolute URL; anything else is a bug here.
        Err(request_id) => {
            let answer = Answer::problem(GatewayError::Internal, &request_id);
            Promise::resolve(&JsValue::from(proxy::answer(&answer)))
        }
    }
}

/// Polls `future` once; if it finished, its value (a response, or the promise of one) is
/// returned at once, else the rest runs on the JavaScript event loop.
fn settle(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let mut future = Box::pin(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(Ok(value)) => match value.dyn_into::<Promise>() {
            Ok(promise) => promise,
            Err(value) => Promise::resolve(&value),
        },
        Poll::Ready(Err(error)) => Promise::reject(&error),
        Poll::Pending => future_to_promise(future),
    }
}

/// One request: the admin API, or the route table (loaded first on an isolate's first
/// request) and [`serve`].
async fn handle(ex: Exchange) -> Result<JsValue, JsValue> {
    let request = &ex.request;
    // Traffic statistics: a background flush of this isolate's counts when one is due.
    stats::flush_if_due(&ex.env, &ex.ctx, &ex.config, request.started_ms);
    if let Some(route) = crate::admin::route(&request.method, request.path()) {
        return admin::serve(&ex.req, &ex.env, route, &request.request_id)
            .await
            .map(JsValue::from)
            .map_err(|e| e.to_string().into());
    }
    let cached = routes::cached(&ex.env, &ex.ctx, &ex.config, request.started_ms);
    let serving = match cached {
        Some(serving) => serving,
        None => match routes::load_now(&ex.env).await {
            Some(serving) => serving,
            None => {
                let log = access_log(request, None);
                let answer = Answer::problem(GatewayError::NoRouteTable, &request.request_id);
                return Ok(finish(&answer, &log, request.started_ms, None, None));
            }
        },
    };
    let table = serving.table_for(request, isolate::random);
    serve(&ex, table, serving.shadow.as_deref()).await
}

/// Routes one request with the table that serves it (and, when a shadow table is evaluated,
/// counts how it would have routed it), runs its route's policies, and forwards it or
/// answers it.
async fn serve(
    ex: &Exchange,
    table: &RouteTable,
    shadow: Option<&RouteTable>,
) -> Result<JsValue, JsValue> {
    let request = &ex.request;
    let version = table.version.as_str();
    let mut log = access_log(request, Some(version));
    let problem = |error| Answer::problem(error, &request.request_id).on(None, Some(version));
    let lookup = cors::lookup(table, request);
    if let Some(shadow) = shadow {
        evaluate_shadow(table, &lookup, shadow, request);
    }
    let matched = match lookup {
        Lookup::Found(matched) => matched,
        Lookup::NotFound => {
            let mut answer = problem(GatewayError::NoRoute);
            answer.ops = cors::unrouted_headers(table, request);
            return Ok(finish(&answer, &log, request.started_ms, None, None));
        }
        Lookup::MethodNotAllowed { allow } => {
            let mut answer = problem(GatewayError::MethodNotAllowed).with("allow", allow);
            answer.ops = cors::unrouted_headers(table, request);
            return Ok(finish(&answer, &log, request.started_ms, None, None));
        }
    };
    let route_id = matched.route.id.as_str();
    log.route_id = Some(route_id);
    log.upstream = Some(&matched.upstream.name);
    if let Some(param) = matched.encoded_separator() {
        let mut answer = problem(GatewayError::EncodedSeparator).on(Some(route_id), Some(version));
        answer.ops = cors::unrouted_headers(table, request);
        let why = format!("parameter `{param}` holds an encoded separator");
        return Ok(finish(&answer, &log, request.started_ms, Some(&why), None));
    }

    let mut effects = Effects::default();
    let mut x = policy::Exchange {
        request,
        route_id,
        params: &matched.params,
        effects: &mut effects,
        policy: "",
    };
    let resolver = policies::EdgeResolver(ex);
    let outcome = policy::run(table.policies(), &matched.route.policies, &mut x, &resolver).await;
    let consumer = effects.consumer.clone();
    log.consumer = consumer.as_deref();
    match outcome {
        Ok(()) => {}
        Err(Stop::Preflight(headers)) => {
            let mut answer =
                Answer::empty(204, &request.request_id).on(Some(route_id), Some(version));
            answer.headers = headers;
            return Ok(finish(&answer, &log, request.started_ms, None, None));
        }
        Err(Stop::Reject { policy, rejection }) => {
            let mut answer = problem(rejection.error).on(Some(route_id), Some(version));
            answer.headers.extend(rejection.headers);
            answer.ops = effects.response_ops.clone();
            let reason = Some(rejection.reason.as_str());
            return Ok(finish(
                &answer,
                &log,
                request.started_ms,
                reason,
                Some(policy),
            ));
        }
    }

    let upstream = match matched.route.split {
        Some(_) => table.choose_upstream(
            matched.route,
            request,
            consumer.as_deref(),
            isolate::random(),
        ),
        None => matched.upstream,
    };
    log.upstream = Some(&upstream.name);
    let destination = match &upstream.target {
        Target::Binding(name) => proxy::Destination::Binding(name),
        Target::Origins(origins) => {
            let view = health::current(&ex.env, &ex.ctx, &ex.config, request.started_ms);
            let config = &ex.config;
            let choice = choose(
                upstream,
                origins,
                &view,
                request.started_ms,
                config.health_fresh_ms,
                isolate::random(),
            );
            match choice {
                Choice::Origin(origin) => proxy::Destination::Origin(&origin.url),
                Choice::AllUnhealthy => {
                    let mut answer = problem(GatewayError::UpstreamUnavailable)
                        .on(Some(route_id), Some(version));
                    answer.ops = effects.response_ops.clone();
                    let why = Some("every origin is unhealthy");
                    return Ok(finish(&answer, &log, request.started_ms, why, None));
                }
            }
        }
    };
    log.origin = Some(match destination {
        proxy::Destination::Origin(url) | proxy::Destination::Binding(url) => url,
    });
    let head = log.head();
    let target = proxy::Target {
        matched: &matched,
        upstream,
        version,
        destination,
    };
    match proxy::forward(ex, &target, &mut effects, &head) {
        Ok(promise) => Ok(promise.into()),
        Err(cause) => {
            let mut answer = problem(GatewayError::Internal).on(Some(route_id), Some(version));
            answer.ops = effects.response_ops;
            Ok(finish(
                &answer,
                &log,
                request.started_ms,
                Some(&cause),
                None,
            ))
        }
    }
}

/// Looks the request up in the shadow table too and counts whether it would be handled
/// differently (pure, from memory; flushed with the traffic statistics).
fn evaluate_shadow(
    table: &RouteTable,
    lookup: &Lookup<'_, '_>,
    shadow: &RouteTable,
    request: &RequestContext,
) {
    let shadow_lookup = cors::lookup(shadow, request);
    let difference = compare(&Compared {
        active: table,
        active_lookup: lookup,
        shadow,
        shadow_lookup: &shadow_lookup,
        path: request.path(),
    });
    let versions = (table.version.as_str(), shadow.version.as_str());
    isolate::with_shadow(|tally| tally.add(versions, &request.method, request.path(), difference));
}

fn access_log<'a>(request: &'a RequestContext, version: Option<&'a str>) -> AccessLog<'a> {
    AccessLog {
        event: "request",
        request_id: &request.request_id,
        method: &request.method,
        host: request.host(),
        path: request.path(),
        route_id: None,
        upstream: None,
        origin: None,
        route_version: version,
        consumer: None,
    }
}

/// Builds, logs and counts a response the gateway gives itself.
fn finish(
    answer: &Answer,
    log: &AccessLog<'_>,
    started: f64,
    error: Option<&str>,
    policy: Option<&str>,
) -> JsValue {
    let duration = (js_sys::Date::now() - started).max(0.0) as u64;
    worker::console_log!("{}", log.line(answer.status, duration, error, policy));
    // Traffic statistics: counted like the responses `glue.js` gives.
    stats::tally(&crate::stats::Outcome {
        version: log.route_version.unwrap_or(""),
        route: log.route_id.unwrap_or(""),
        upstream: log.upstream.unwrap_or(""),
        status: answer.status,
        duration_ms: duration,
    });
    proxy::answer(answer).into()
}

/// The message of a JavaScript error value (an `Error`'s message, a string, or its debug form).
fn js_error(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// The message of a runtime error, on one line: D1's errors display as a multi-line debug
/// dump with a stack, which an event should not carry (and their `Display` assumes a cause).
fn worker_error(error: worker::Error) -> String {
    match error {
        worker::Error::D1(e) => {
            let inner: &js_sys::Error = e.as_ref();
            let cause = inner.cause();
            let message = if cause.is_undefined() || cause.is_null() {
                String::from(inner.message())
            } else {
                js_error(&cause)
            };
            format!("D1: {message}")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
