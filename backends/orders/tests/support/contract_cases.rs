//! The requests the orders contract test sends: every operation of `orders`' OpenAPI document.
//! `orders-v2` (the same service, revision 2) sends the same ones (its test includes this file).

use backend_kit::testing::contract::{case, case_with, Case};
use serde_json::json;

/// One request per operation and answer the document declares.
pub fn cases() -> Vec<Case> {
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
    cases
}
