//! Contract tests: the running provider (on a loopback socket) answers as its committed
//! OpenAPI document says, for every operation in it.

use std::path::Path;

use backend_kit::testing::contract::{case, case_with, verify};
use idp::Config;
use serde_json::json;

#[tokio::test]
async fn the_running_service_keeps_its_contract() {
    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let app = idp::app_with(Config {
        issuer: "https://idp.test".into(),
    });
    let mut cases = vec![
        case("GET", "/.well-known/jwks.json"),
        case("GET", "/cdn-cgi/access/certs"),
        case("GET", "/token?sub=alice&aud=a,b&alg=ES256"),
        case("GET", "/token?alg=none"),
        case_with(
            "POST",
            "/token",
            json!({"sub": "alice", "claims": {"email": "a@example.com"}}),
        ),
        case_with("POST", "/token", json!({"bogus": 1})),
        case_with("PUT", "/_test/jwks", json!({"mode": "fail"})),
        case("GET", "/.well-known/jwks.json"),
        case_with("PUT", "/_test/jwks", json!({"mode": "ok"})),
        case("GET", "/_test/jwks"),
        case("GET", "/_test/jwks/stats"),
        case("DELETE", "/_test/jwks/stats"),
        case_with("POST", "/_test/rotate", json!({"keep_old": false})),
        case("GET", "/healthz"),
        case("GET", "/_test/health"),
        case_with("PUT", "/_test/health", json!({"mode": "healthy"})),
        case("GET", "/_test/download?bytes=3"),
        case("GET", "/_test/status/204"),
        case("GET", "/_test/hop"),
        case("GET", "/_test/stats"),
        case("DELETE", "/_test/stats"),
    ];
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        cases.push(case(method, "/echo"));
        cases.push(case(method, "/echo/x"));
    }
    verify(app, &contract, &cases).await;
}
