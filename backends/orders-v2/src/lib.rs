//! The `orders-v2` sample service: revision 2 of the orders API, the new side of a gradual
//! migration. It runs the `orders` code with [`REVISION`]: the same endpoints and fields,
//! plus a `currency` field in each order and `x-orders-api: 2` on each orders response.

use axum::Router;
use orders::Revision;

/// The service name, in logs, echoes and `x-served-by-service`.
pub const SERVICE: &str = "orders-v2";
/// Port when `PORT` is unset (matches `routes.toml`'s local origin).
pub const DEFAULT_PORT: u16 = 9104;

/// Revision 2 of the orders API.
pub const REVISION: Revision = Revision {
    service: SERVICE,
    version: env!("CARGO_PKG_VERSION"),
    default_port: DEFAULT_PORT,
    api: 2,
    currency: Some("EUR"),
};

/// The whole service, with the kit's health and test hooks.
pub fn app() -> Router {
    orders::app_for(REVISION)
}

/// The service's OpenAPI document (committed at `backends/orders-v2/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    orders::openapi_for(REVISION)
}
