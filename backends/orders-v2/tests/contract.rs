//! Contract tests: the running service (on a loopback socket) answers as its committed
//! OpenAPI document says, for every operation in it.

use std::path::Path;

use backend_kit::testing::contract::{case, case_with, verify};
use serde_json::json;

#[tokio::test]
async fn the_running_service_keeps_its_contract() {
    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let mut cases = vec![
        case("GET", "/orders"),
        case("GET", "/orders?user_id=1"),
        case("GET", "/orders/1"),
        case("GET", "/orders/99"),
        case_with(
            "POST",
            "/orders",
            json!({"user_id": 1, "item": "punch cards", "quantity": 100}),
        ),
        case_with(
            "POST",
            "/orders",
            json!({"user_id": 1, "item": "nothing", "quantity": 0}),
        ),
        case("GET", "/healthz"),
        case("GET", "/_test/health"),
        case_with("PUT", "/_test/health", json!({"mode": "degraded"})),
        case("GET", "/healthz"),
        case_with("PUT", "/_test/health", json!({"mode": "healthy"})),
        case("GET", "/_test/download?bytes=10"),
        case("GET", "/_test/status/503"),
        case("GET", "/_test/hop"),
        case("GET", "/_test/stats"),
        case("DELETE", "/_test/stats"),
    ];
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        cases.push(case(method, "/echo"));
        cases.push(case(method, "/echo/a/b?x=1"));
    }
    verify(orders_v2::app(), &contract, &cases).await;
}
