//! Revision 2 against revision 1, through the service values (no socket): every request gets
//! the same status and the same body, plus `currency` in each order; the headers name the
//! service and the revision that answered.

use axum::http::StatusCode;
use backend_kit::testing::exchange;
use backend_kit::SERVED_BY;
use serde_json::{json, Value};

/// `v1`'s body as revision 2 shows it: each order gains `currency`.
fn with_currency(v1: &Value) -> Value {
    match v1 {
        Value::Array(orders) => orders.iter().map(with_currency).collect(),
        Value::Object(order) if order.contains_key("item") => {
            let mut order = order.clone();
            order.insert("currency".into(), json!("EUR"));
            Value::Object(order)
        }
        other => other.clone(),
    }
}

#[tokio::test]
async fn revision_2_answers_as_revision_1_does_and_only_adds() {
    let (v1, v2) = (orders::app(), orders_v2::app());
    let cases: Vec<(&str, &str, Option<Value>, StatusCode)> = vec![
        ("GET", "/orders/2", None, StatusCode::OK),
        ("GET", "/orders/9", None, StatusCode::NOT_FOUND),
        ("GET", "/orders/x", None, StatusCode::NOT_FOUND),
        (
            "POST",
            "/orders",
            Some(json!({"user_id": 1, "item": "punch cards", "quantity": 100})),
            StatusCode::CREATED,
        ),
        (
            "POST",
            "/orders",
            Some(json!({"user_id": 1, "item": "x", "quantity": 0})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("GET", "/orders?user_id=1", None, StatusCode::OK),
        ("GET", "/orders", None, StatusCode::OK),
    ];
    for (method, uri, body, status) in cases {
        let (old_status, old_headers, old) = exchange(&v1, method, uri, body.clone()).await;
        let (new_status, new_headers, new) = exchange(&v2, method, uri, body).await;
        assert_eq!((old_status, new_status), (status, status), "{method} {uri}");
        assert_eq!(new, with_currency(&old), "{method} {uri}");
        assert_eq!(old_headers[SERVED_BY], "orders", "{method} {uri}");
        assert_eq!(new_headers[SERVED_BY], "orders-v2", "{method} {uri}");
        assert_eq!(old_headers[orders::API_HEADER], "1", "{method} {uri}");
        assert_eq!(new_headers[orders::API_HEADER], "2", "{method} {uri}");
    }
}

#[tokio::test]
async fn revision_2_names_itself() {
    let app = orders_v2::app();
    let cases = [
        (
            "/orders/2",
            json!({"id": 2, "user_id": 2, "item": "compiler", "quantity": 3, "currency": "EUR"}),
        ),
        (
            "/healthz",
            json!({"status": "healthy", "service": "orders-v2", "version": orders_v2::REVISION.version}),
        ),
    ];
    for (uri, want) in cases {
        let (status, headers, got) = exchange(&app, "GET", uri, None).await;
        assert_eq!((status, got), (StatusCode::OK, want), "{uri}");
        assert_eq!(headers[SERVED_BY], "orders-v2", "{uri}");
    }
}
