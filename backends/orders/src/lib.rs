//! The `orders` sample service: a small JSON API over an in-memory store, in any of its
//! revisions ([`Revision`]). Revision 1 ([`V1`]) is `orders` itself; later revisions (the
//! `orders-v2` backend) serve the same endpoints and fields and only add to them, so the
//! gateway can move traffic between two revisions while clients notice nothing.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backend_kit::{not_found, problem, Store};
use serde::{Deserialize, Serialize};

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
    default_port: DEFAULT_PORT,
    api: 1,
    currency: None,
};

/// An order record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Order {
    /// The user who placed it.
    pub user_id: u64,
    /// What was ordered.
    pub item: String,
    /// How many.
    pub quantity: u32,
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
    let routes = Router::new()
        .route("/orders", get(list).post(create))
        .route("/orders/{id}", get(show))
        .with_state(Orders { store, revision });
    let routes =
        backend_kit::with_response_header(routes, API_HEADER, HeaderValue::from(revision.api));
    backend_kit::app(revision.service, routes)
}

/// Serves `revision` on 127.0.0.1:`PORT` (default its `default_port`) until SIGINT or
/// SIGTERM.
pub async fn serve(revision: Revision) -> std::io::Result<()> {
    let port = backend_kit::port(revision.default_port);
    backend_kit::serve(revision.service, port, app_for(revision)).await
}

impl Orders {
    /// An order as the API shows it.
    fn view(&self, id: u64, o: &Order) -> serde_json::Value {
        let mut view = serde_json::json!({
            "id": id, "user_id": o.user_id, "item": o.item, "quantity": o.quantity,
        });
        if let Some(currency) = self.revision.currency {
            view["currency"] = currency.into();
        }
        view
    }
}

async fn list(
    State(orders): State<Orders>,
    Query(filter): Query<Filter>,
) -> Json<Vec<serde_json::Value>> {
    let all = orders.store.list();
    let wanted = all
        .iter()
        .filter(|(_, o)| filter.user_id.is_none_or(|u| o.user_id == u));
    Json(wanted.map(|(id, o)| orders.view(*id, o)).collect())
}

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
