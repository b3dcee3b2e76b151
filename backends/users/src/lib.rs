//! The `users` sample service: a small JSON API over an in-memory store.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backend_kit::{not_found, problem, Store};
use serde::{Deserialize, Serialize};

/// The service name, in logs and echoes.
pub const SERVICE: &str = "users";
/// Port when `PORT` is unset (matches `routes.toml`'s local origin).
pub const DEFAULT_PORT: u16 = 9101;

/// A user record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// Display name.
    pub name: String,
    /// Contact address.
    pub email: String,
}

type Users = Arc<Store<User>>;

/// The whole service, with the kit's health and test hooks.
pub fn app() -> Router {
    let store: Users = Arc::new(Store::new([
        User {
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
        },
        User {
            name: "Grace Hopper".into(),
            email: "grace@example.com".into(),
        },
    ]));
    let routes = Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(show))
        .with_state(store);
    backend_kit::app(SERVICE, routes)
}

fn view(id: u64, user: &User) -> serde_json::Value {
    serde_json::json!({"id": id, "name": user.name, "email": user.email})
}

async fn list(State(store): State<Users>) -> Json<Vec<serde_json::Value>> {
    Json(store.list().iter().map(|(id, u)| view(*id, u)).collect())
}

async fn show(State(store): State<Users>, Path(id): Path<String>) -> Response {
    match id.parse().ok().and_then(|n| store.get(n).map(|u| (n, u))) {
        Some((n, user)) => Json(view(n, &user)).into_response(),
        None => not_found("user", &id),
    }
}

async fn create(State(store): State<Users>, body: Option<Json<User>>) -> Response {
    let Some(Json(user)) = body.filter(|Json(u)| !u.name.is_empty() && u.email.contains('@'))
    else {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "send {\"name\": …, \"email\": …}",
        );
    };
    let id = store.insert(user.clone());
    let location = format!("/users/{id}");
    (
        StatusCode::CREATED,
        [("location", location)],
        Json(view(id, &user)),
    )
        .into_response()
}
