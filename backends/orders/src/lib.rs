//! The `orders` sample service: a small JSON API over an in-memory store, in any of its
//! revisions ([`Revision`]). Revision 1 ([`V1`]) is `orders` itself; later revisions (the
//! `orders-v2` backend) serve the same endpoints and fields and only add to them, so the
//! gateway can move traffic between two revisions while clients notice nothing.
//!
//! Each revision's OpenAPI document ([`openapi_for`]) is generated from the handlers'
//! annotations (which also register their routes) and the revision's additions, and committed
//! at `backends/orders/openapi.json` (revision 1) and `backends/orders-v2/openapi.json`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use backend_kit::{not_found, problem, Service, Store};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The service name, in logs and echoes.
pub const SERVICE: &str = "orders";
/// Port when `PORT` is unset (matches `routes.toml`'s local origin).
pub const DEFAULT_PORT: u16 = 9102;
/// The response header carrying the API revision number of the orders endpoints.
pub const API_HEADER: &str = "x-orders-api";

/// What tells one revision of the orders API from another. Every revision serves the same
/// endpoints and the fields of [`V1`]; a revision may only add fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    /// Service name: logs, `/healthz`, echoes and `x-served-by-service`.
    pub service: &'static str,
    /// The API version the service reports (`/healthz`, `x-api-version`, its OpenAPI
    /// document): its crate's version.
    pub version: &'static str,
    /// Port when `PORT` is unset.
    pub default_port: u16,
    /// API revision, sent in [`API_HEADER`] on every orders response.
    pub api: u32,
    /// The currency each order is billed in, as an added `currency` field (revision 2 on).
    pub currency: Option<&'static str>,
}

/// Revision 1: the `orders` service.
pub const V1: Revision = Revision {
    service: SERVICE,
    version: env!("CARGO_PKG_VERSION"),
    default_port: DEFAULT_PORT,
    api: 1,
    currency: None,
};

/// An order record, as placed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = NewOrder)]
pub struct Order {
    /// The user who placed it.
    pub user_id: u64,
    /// What was ordered.
    pub item: String,
    /// How many (at least 1).
    pub quantity: u32,
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Order)]
pub struct OrderView {
    /// The order's id.
    pub id: u64,
    /// The user who placed it.
    pub user_id: u64,
    /// What was ordered.
    pub item: String,
    /// How many.
    pub quantity: u32,
    /// The currency it is billed in (revision 2 on; see [`Revision::currency`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub currency: Option<&'static str>,
}

/// One running service: its store and the revision it speaks.
#[derive(Clone)]
struct Orders {
    store: Arc<Store<Order>>,
    revision: Revision,
}

#[derive(Deserialize)]
struct Filter {
    user_id: Option<u64>,
}

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "orders", description = "Orders")))]
struct Api;

/// The service's own routes with their OpenAPI operations.
fn routes() -> OpenApiRouter<Orders> {
    OpenApiRouter::with_openapi(Api::openapi())
        .routes(routes!(list, create))
        .routes(routes!(show))
}

impl Revision {
    /// The service and the API version it reports.
    pub fn service(&self) -> Service {
        Service::new(self.service, self.version)
    }
}

/// The whole `orders` service ([`V1`]), with the kit's health and test hooks.
pub fn app() -> Router {
    app_for(V1)
}

/// The orders service in `revision`, with the kit's health and test hooks.
pub fn app_for(revision: Revision) -> Router {
    let store = Arc::new(Store::new([
        Order {
            user_id: 1,
            item: "analytical engine".into(),
            quantity: 1,
        },
        Order {
            user_id: 2,
            item: "compiler".into(),
            quantity: 3,
        },
    ]));
    let (routes, _) = routes().split_for_parts();
    let routes = routes.with_state(Orders { store, revision });
    let routes =
        backend_kit::with_response_header(routes, API_HEADER, HeaderValue::from(revision.api));
    backend_kit::app(revision.service(), routes)
}

/// The OpenAPI document of [`V1`], the kit's operations included.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_for(V1)
}

/// The OpenAPI document of `revision`: the handlers' operations, with the fields the
/// revision adds to `Order` (required: it always sends them), and the kit's operations.
pub fn openapi_for(revision: Revision) -> utoipa::openapi::OpenApi {
    let (_, mut own) = routes().split_for_parts();
    if let Some(currency) = revision.currency {
        let order = own
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut("Order"));
        if let Some(RefOr::T(Schema::Object(order))) = order {
            let field = ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The currency the order is billed in (ISO 4217)"))
                .examples([currency]);
            order.properties.insert("currency".into(), field.into());
            order.required.push("currency".into());
        }
    }
    let description = format!(
        "Sample origin: orders (API revision {}, also in the `{API_HEADER}` header).",
        revision.api
    );
    backend_kit::openapi::document(revision.service(), &description, own)
}

/// Serves `revision` on 127.0.0.1:`PORT` (default its `default_port`) until SIGINT or
/// SIGTERM.
pub async fn serve(revision: Revision) -> std::io::Result<()> {
    let port = backend_kit::port(revision.default_port);
    backend_kit::serve(revision.service, port, app_for(revision)).await
}

impl Orders {
    /// An order as the API shows it.
    fn view(&self, id: u64, o: &Order) -> OrderView {
        OrderView {
            id,
            user_id: o.user_id,
            item: o.item.clone(),
            quantity: o.quantity,
            currency: self.revision.currency,
        }
    }
}

/// Every order, or a user's.
#[utoipa::path(get, path = "/orders", tag = "orders",
    params(("user_id" = Option<u64>, Query, description = "Only this user's orders")),
    responses((status = 200, description = "The orders, in id order", body = Vec<OrderView>)))]
async fn list(State(orders): State<Orders>, Query(filter): Query<Filter>) -> Json<Vec<OrderView>> {
    let all = orders.store.list();
    let wanted = all
        .iter()
        .filter(|(_, o)| filter.user_id.is_none_or(|u| o.user_id == u));
    Json(wanted.map(|(id, o)| orders.view(*id, o)).collect())
}

/// One order.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    params(("id" = u64, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "No such order", body = contracts::Problem,
            content_type = "application/problem+json"),
    ))]
async fn show(State(orders): State<Orders>, Path(id): Path<String>) -> Response {
    match id
        .parse()
        .ok()
        .and_then(|n| orders.store.get(n).map(|o| (n, o)))
    {
        Some((n, order)) => Json(orders.view(n, &order)).into_response(),
        None => not_found("order", &id),
    }
}

/// Places an order.
#[utoipa::path(post, path = "/orders", tag = "orders",
    request_body = Order,
    responses(
        (status = 201, description = "Placed", body = OrderView,
            headers(("location" = String, description = "The new order's path"))),
        (status = 422, description = "Missing or invalid fields", body = contracts::Problem,
            content_type = "application/problem+json"),
    ))]
async fn create(State(orders): State<Orders>, body: Option<Json<Order>>) -> Response {
    let Some(Json(order)) = body.filter(|Json(o)| o.quantity > 0 && !o.item.is_empty()) else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "send {\"user_id\", \"item\", \"quantity\" > 0}",
        );
    };
    let id = orders.store.insert(order.clone());
    let location = format!("/orders/{id}");
    (
        StatusCode::CREATED,
        [("location", location)],
        Json(orders.view(id, &order)),
    )
        .into_response()
}
