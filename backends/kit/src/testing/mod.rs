//! Calling a backend's service value in tests, without a socket (feature `testing`); and
//! contract tests, which check a running service's real responses against its OpenAPI
//! document ([`contract`], [`schema`]).

pub mod contract;
pub mod http;
pub mod schema;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Sends `method uri` (with `body` as JSON, if any) to `app`; returns the status and the
/// body as JSON (`Null` when it is not JSON).
pub async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, body) = exchange(app, method, uri, body).await;
    (status, body)
}

/// [`call`], also returning the response headers.
pub async fn exchange(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("a test request builds"))
        .await
        .expect("a router never fails");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("a test body reads").to_bytes();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
