//! The `orders` sample service: a small JSON API over an in-memory store.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backend_kit::{not_found, problem, Store};
use serde::{Deserialize, Serialize};

/// The service name, in logs and echoes.
pub const SERVICE: &str = "orders";
/// Port when `PORT` is unset (matches `routes.toml`'s local origin).
pub const DEFAULT_PORT: u16 = 9102;

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

type Orders = Arc<Store<Order>>;

#[derive(Deserialize)]
struct Filter {
    user_id: Option<u64>,
}

/// The whole service, with the kit's health and test hooks.
pub fn app() -> Router {
    let store: Orders = Arc::new(Store::new([
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
        .with_state(store);
    backend_kit::app(SERVICE, routes)
}

fn view(id: u64, o: &Order) -> serde_json::Value {
    serde_json::json!({"id": id, "user_id": o.user_id, "item": o.item, "quantity": o.quantity})
}

async fn list(
    State(store): State<Orders>,
    Query(filter): Query<Filter>,
) -> Json<Vec<serde_json::Value>> {
    let orders = store.list();
    let wanted = orders
        .iter()
        .filter(|(_, o)| filter.user_id.is_none_or(|u| o.user_id == u));
    Json(wanted.map(|(id, o)| view(*id, o)).collect())
}

async fn show(State(store): State<Orders>, Path(id): Path<String>) -> Response {
    match id.parse().ok().and_then(|n| store.get(n).map(|o| (n, o))) {
        Some((n, order)) => Json(view(n, &order)).into_response(),
        None => not_found("order", &id),
    }
}

async fn create(State(store): State<Orders>, body: Option<Json<Order>>) -> Response {
    let Some(Json(order)) = body.filter(|Json(o)| o.quantity > 0 && !o.item.is_empty()) else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "send {\"user_id\", \"item\", \"quantity\" > 0}",
        );
    };
    let id = store.insert(order.clone());
    let location = format!("/orders/{id}");
    (
        StatusCode::CREATED,
        [("location", location)],
        Json(view(id, &order)),
    )
        .into_response()
}
