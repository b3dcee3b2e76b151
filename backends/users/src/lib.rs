//! The `users` sample service: a small JSON API over an in-memory store. Its OpenAPI document
//! ([`openapi`]) is generated from the handlers' annotations, which also register their
//! routes, and committed at `backends/users/openapi.json`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use backend_kit::{not_found, problem, Service, Store};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The service name, in logs and echoes.
pub const SERVICE: &str = "users";
/// The service and the API version it reports (this crate's version).
pub const API: Service = Service::new(SERVICE, env!("CARGO_PKG_VERSION"));
/// Port when `PORT` is unset (matches `routes.toml`'s local origin).
pub const DEFAULT_PORT: u16 = 9101;

/// A user record, as created.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[schema(as = NewUser)]
pub struct User {
    /// Display name (not empty).
    #[schema(example = "Edsger Dijkstra")]
    pub name: String,
    /// Contact address (with an `@`).
    #[schema(example = "ed@example.com")]
    pub email: String,
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView {
    /// The user's id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Contact address.
    pub email: String,
}

type Users = Arc<Store<User>>;

#[derive(utoipa::OpenApi)]
#[openapi(tags((name = "users", description = "User records")))]
struct Api;

/// The service's own routes with their OpenAPI operations.
fn routes() -> OpenApiRouter<Users> {
    OpenApiRouter::with_openapi(Api::openapi())
        .routes(routes!(list, create))
        .routes(routes!(show))
}

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
    let (routes, _) = routes().split_for_parts();
    backend_kit::app(API, routes.with_state(store))
}

/// The service's OpenAPI document, the kit's operations included.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, own) = routes().split_for_parts();
    backend_kit::openapi::document(API, "Sample origin: user records.", own)
}

fn view(id: u64, user: &User) -> UserView {
    UserView {
        id,
        name: user.name.clone(),
        email: user.email.clone(),
    }
}

/// Every user, in id order.
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, description = "Every user", body = Vec<UserView>)))]
async fn list(State(store): State<Users>) -> Json<Vec<UserView>> {
    Json(store.list().iter().map(|(id, u)| view(*id, u)).collect())
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "users",
    params(("id" = u64, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 404, description = "No such user", body = contracts::Problem,
            content_type = "application/problem+json"),
    ))]
async fn show(State(store): State<Users>, Path(id): Path<String>) -> Response {
    match id.parse().ok().and_then(|n| store.get(n).map(|u| (n, u))) {
        Some((n, user)) => Json(view(n, &user)).into_response(),
        None => not_found("user", &id),
    }
}

/// Creates a user.
#[utoipa::path(post, path = "/users", tag = "users",
    request_body = User,
    responses(
        (status = 201, description = "Created", body = UserView,
            headers(("location" = String, description = "The new user's path"))),
        (status = 422, description = "Missing or invalid fields", body = contracts::Problem,
            content_type = "application/problem+json"),
    ))]
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
