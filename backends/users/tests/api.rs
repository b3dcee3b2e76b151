//! The users API, through the service value (no socket).

use axum::http::StatusCode;
use backend_kit::testing::call;
use serde_json::{json, Value};

#[tokio::test]
async fn users_api() {
    let app = users::app();
    let cases: Vec<(&str, &str, Option<Value>, StatusCode, Value)> = vec![
        (
            "GET",
            "/users/1",
            None,
            StatusCode::OK,
            json!({"id": 1, "name": "Ada Lovelace", "email": "ada@example.com"}),
        ),
        ("GET", "/users/99", None, StatusCode::NOT_FOUND, Value::Null),
        (
            "GET",
            "/users/abc",
            None,
            StatusCode::NOT_FOUND,
            Value::Null,
        ),
        (
            "POST",
            "/users",
            Some(json!({"name": "Edsger", "email": "ed@example.com"})),
            StatusCode::CREATED,
            json!({"id": 3, "name": "Edsger", "email": "ed@example.com"}),
        ),
        (
            "POST",
            "/users",
            Some(json!({"name": "", "email": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::Null,
        ),
        (
            "GET",
            "/users/3",
            None,
            StatusCode::OK,
            json!({"id": 3, "name": "Edsger", "email": "ed@example.com"}),
        ),
        (
            "GET",
            "/healthz",
            None,
            StatusCode::OK,
            json!({"status": "healthy", "service": "users", "version": users::API.version}),
        ),
    ];
    for (method, uri, body, status, want) in cases {
        let (got_status, got) = call(&app, method, uri, body).await;
        assert_eq!(got_status, status, "{method} {uri}");
        if want != Value::Null {
            assert_eq!(got, want, "{method} {uri}");
        }
    }
    let (_, list) = call(&app, "GET", "/users", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(3));
}
