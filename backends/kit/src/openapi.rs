//! A sample service's OpenAPI document, generated from its code: its own operations (its
//! handlers' `#[utoipa::path]` annotations) plus the kit's — `/healthz` and the test hooks,
//! marked `x-internal` (not meant to be exposed through the gateway) — with the service's name
//! and API version, and the schemas shared with the gateway from `contracts`.
//!
//! Each backend commits its document at `backends/NAME/openapi.json`; its `tests/openapi.rs`
//! fails when the committed file and the generated one differ, and `UPDATE_OPENAPI=1 cargo
//! test -p NAME --test openapi` rewrites it.
//!
//! Conventions the gateway's `gatewayctl check` reads: a path parameter that spans segments
//! (axum's `{*rest}`) carries `x-catch-all: true`; operations a route need not expose carry
//! `x-internal: true`.

use utoipa::openapi::OpenApi;
use utoipa::OpenApi as _;

use crate::{health, hooks, Service};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        health::healthz,
        health::current,
        health::set,
        hooks::echo_root,
        hooks::echo,
        hooks::download,
        hooks::status,
        hooks::hop,
        hooks::stats_snapshot,
        hooks::stats_reset,
    ),
    components(schemas(contracts::HealthReport, contracts::Check, contracts::HealthStatus, contracts::Problem)),
    tags(
        (name = "health", description = "Probed by the gateway"),
        (name = "test hooks", description = "For tests: echo, chosen statuses, downloads, counters, the health switch"),
    ),
)]
struct Kit;

/// The document of `service`: `own` (its operations, usually `#[derive(OpenApi)]`'s) with
/// the kit's operations and schemas merged in, titled with the service's name and API
/// version.
pub fn document(service: Service, description: &str, own: OpenApi) -> OpenApi {
    let mut doc = own;
    doc.merge(Kit::openapi());
    doc.info.title = service.name.to_owned();
    doc.info.version = service.version.to_owned();
    doc.info.description = Some(description.to_owned());
    doc.info.license = None;
    doc.info.contact = None;
    doc
}

/// The document as committed: pretty JSON with a final newline.
pub fn to_json(doc: &OpenApi) -> String {
    let mut text = doc
        .to_pretty_json()
        .expect("an OpenAPI document always serialises");
    text.push('\n');
    text
}
