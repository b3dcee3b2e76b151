//! The orders API, through the service value (no socket).

use axum::http::StatusCode;
use backend_kit::testing::{call, exchange};
use serde_json::{json, Value};

#[tokio::test]
async fn orders_api() {
    let app = orders::app();
    let cases: Vec<(&str, &str, Option<Value>, StatusCode, Value)> = vec![
        (
            "GET",
            "/orders/2",
            None,
            StatusCode::OK,
            json!({"id": 2, "user_id": 2, "item": "compiler", "quantity": 3}),
        ),
        ("GET", "/orders/9", None, StatusCode::NOT_FOUND, Value::Null),
        (
            "POST",
            "/orders",
            Some(json!({"user_id": 1, "item": "punch cards", "quantity": 100})),
            StatusCode::CREATED,
            json!({"id": 3, "user_id": 1, "item": "punch cards", "quantity": 100}),
        ),
        (
            "POST",
            "/orders",
            Some(json!({"user_id": 1, "item": "x", "quantity": 0})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::Null,
        ),
        (
            "GET",
            "/orders?user_id=1",
            None,
            StatusCode::OK,
            json!([
            {"id": 1, "user_id": 1, "item": "analytical engine", "quantity": 1},
            {"id": 3, "user_id": 1, "item": "punch cards", "quantity": 100}]),
        ),
        (
            "GET",
            "/healthz",
            None,
            StatusCode::OK,
            json!({"status": "healthy", "service": "orders", "version": orders::V1.version}),
        ),
    ];
    for (method, uri, body, status, want) in cases {
        let (got_status, got) = call(&app, method, uri, body).await;
        assert_eq!(got_status, status, "{method} {uri}");
        if want != Value::Null {
            assert_eq!(got, want, "{method} {uri}");
        }
    }
}

#[tokio::test]
async fn responses_name_the_service_and_the_api_revision() {
    let (_, headers, _) = exchange(&orders::app(), "GET", "/orders/1", None).await;
    assert_eq!(headers[backend_kit::SERVED_BY], "orders");
    assert_eq!(headers[orders::API_HEADER], "1");
}
