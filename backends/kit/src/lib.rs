//! What every sample backend shares: `/healthz` (a [`contracts::HealthReport`]), test hooks,
//! JSON access logs, `PORT` from the environment, graceful shutdown, and the service's OpenAPI
//! document ([`openapi`]). Every response names the service that answered it in
//! `x-served-by-service` (so a test can tell which of two origins behind one route served it)
//! and its API version in `x-api-version`.
//!
//! Test hooks (used by the gateway's end-to-end tests to prove forwarding, timeouts and
//! single attempts):
//! - `?delay_ms=N` on any request delays the response headers by N ms;
//! - `ANY /echo` and `/echo/{*rest}` answer with what arrived: method, raw path and query,
//!   headers, body length and SHA-256 (the body is hashed as it streams, never buffered);
//! - `GET /_test/download?bytes=N` streams N deterministic bytes (`x-body-sha256` header);
//! - `GET /_test/status/{code}` answers with that status;
//! - `GET /_test/hop` answers with hop-by-hop headers a proxy must drop;
//! - `GET /_test/stats` counts requests (total, by path, cancelled); `DELETE` resets them;
//! - `PUT /_test/health {"mode": "healthy"|"slow"|"degraded"|"unhealthy", "slow_ms": N}`
//!   (or `HEALTH_MODE`/`HEALTH_SLOW_MS` at start) sets how `/healthz` answers.

mod health;
mod hooks;
pub mod openapi;
mod stats;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::HeaderValue;
use axum::response::Response;
use axum::Router;
use serde_json::json;

pub use health::{Mode, Setting};
pub use hooks::{pattern_byte, pattern_sha256};
pub use stats::{Snapshot, Stats};
pub use store::{not_found, problem, Store};

/// The response header naming the service that answered.
pub const SERVED_BY: &str = contracts::headers::SERVED_BY;
/// The response header carrying the answering service's API version.
pub const API_VERSION: &str = contracts::headers::API_VERSION;

/// A sample service: its name and the API version it reports (its crate's version,
/// `env!("CARGO_PKG_VERSION")`, which is also its OpenAPI document's `info.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// Name: logs, `/healthz`, echoes and [`SERVED_BY`].
    pub name: &'static str,
    /// API version, `MAJOR.MINOR.PATCH`.
    pub version: &'static str,
}

impl Service {
    /// The service `name` at API `version`.
    pub const fn new(name: &'static str, version: &'static str) -> Self {
        Self { name, version }
    }

    /// The API version, parsed.
    ///
    /// # Panics
    /// If `version` is not `MAJOR.MINOR.PATCH` (a crate version always is, unless it has a
    /// pre-release part).
    pub fn api_version(&self) -> contracts::ApiVersion {
        contracts::ApiVersion::parse(self.version).expect("a service version is MAJOR.MINOR.PATCH")
    }
}

/// Adds health, test hooks, the logging/delay/counting layer and the [`SERVED_BY`] and
/// [`API_VERSION`] headers to a service's own routes.
pub fn app(service: Service, routes: Router) -> Router {
    let stats = Arc::new(Stats::default());
    let routes = routes
        .merge(health::routes(service))
        .merge(hooks::routes(service.name, stats.clone()))
        .layer(axum::middleware::from_fn_with_state(
            (service.name, stats),
            stats::observe,
        ));
    let routes = with_response_header(
        routes,
        API_VERSION,
        HeaderValue::from_static(service.version),
    );
    with_response_header(routes, SERVED_BY, HeaderValue::from_static(service.name))
}

/// `routes` with header `name: value` set on every response.
pub fn with_response_header(routes: Router, name: &'static str, value: HeaderValue) -> Router {
    routes.layer(axum::middleware::map_response(
        move |mut response: Response| {
            let value = value.clone();
            async move {
                response.headers_mut().insert(name, value);
                response
            }
        },
    ))
}

/// The port to listen on: `PORT` from the environment, else `default`.
pub fn port(default: u16) -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

/// Serves `app` on 127.0.0.1:`port` until SIGINT or SIGTERM, then drains in-flight requests.
pub async fn serve(service: &'static str, port: u16, app: Router) -> std::io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    println!(
        "{}",
        json!({"event": "listening", "service": service, "addr": bound.to_string()})
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    println!("{}", json!({"event": "stopped", "service": service}));
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
