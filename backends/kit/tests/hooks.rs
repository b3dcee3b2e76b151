//! The kit's test hooks, exercised through a service value (no socket).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn app() -> Router {
    backend_kit::app(backend_kit::Service::new("kit", "1.2.3"), Router::new())
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Body,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("x-test", "1")
        .body(body)
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes().to_vec(),
    )
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn health_echo_status_and_stats() {
    let app = app();
    let (status, headers, body) = call(&app, "GET", "/healthz", Body::empty()).await;
    assert_eq!(
        (status, json(&body)),
        (
            StatusCode::OK,
            serde_json::json!({"status": "healthy", "service": "kit", "version": "1.2.3"})
        )
    );
    assert_eq!(headers[backend_kit::SERVED_BY], "kit");
    assert_eq!(headers[backend_kit::API_VERSION], "1.2.3");

    let (status, _, body) = call(
        &app,
        "POST",
        "/echo/a%20b/c?x=1&&y=%2F",
        Body::from("hello"),
    )
    .await;
    let echo = json(&body);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/echo/a%20b/c");
    assert_eq!(echo["query"], "x=1&&y=%2F");
    assert_eq!(echo["headers"]["x-test"], "1");
    assert_eq!(echo["body_bytes"], 5);
    assert_eq!(
        echo["body_sha256"],
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );

    for code in [200u16, 418, 500, 503] {
        let (status, _, _) =
            call(&app, "GET", &format!("/_test/status/{code}"), Body::empty()).await;
        assert_eq!(status.as_u16(), code);
    }

    let (_, _, body) = call(&app, "GET", "/_test/stats", Body::empty()).await;
    let stats = json(&body);
    assert_eq!(stats["total"], 6, "{stats}");
    assert_eq!(stats["paths"]["/echo/a%20b/c"], 1);
    assert_eq!(stats["paths"]["/_test/status/500"], 1);
    let (status, _, _) = call(&app, "DELETE", "/_test/stats", Body::empty()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, _, body) = call(&app, "GET", "/_test/stats", Body::empty()).await;
    assert_eq!(json(&body)["total"], 0);
}

#[tokio::test]
async fn downloads_are_deterministic_and_hashed() {
    let app = app();
    for bytes in [0u64, 1, 65_536, 1_000_003] {
        let (status, headers, body) = call(
            &app,
            "GET",
            &format!("/_test/download?bytes={bytes}"),
            Body::empty(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.len() as u64, bytes);
        assert!(body
            .iter()
            .enumerate()
            .all(|(i, b)| *b == backend_kit::pattern_byte(i as u64)));
        assert_eq!(
            headers["x-body-sha256"],
            backend_kit::pattern_sha256(bytes).as_str()
        );
        assert_eq!(headers["content-length"], bytes.to_string().as_str());
    }
}

#[tokio::test]
async fn delay_holds_the_response_back() {
    let app = app();
    let started = std::time::Instant::now();
    let (status, _, _) = call(&app, "GET", "/healthz?delay_ms=150", Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

#[tokio::test]
async fn dropped_requests_count_as_cancelled() {
    let app = app();
    let request = Request::get("/healthz?delay_ms=5000")
        .body(Body::empty())
        .unwrap();
    let pending = app.clone().oneshot(request);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(50), pending)
            .await
            .is_err()
    );
    let (_, _, body) = call(&app, "GET", "/_test/stats", Body::empty()).await;
    assert_eq!(json(&body)["cancelled"], 1);
}

#[tokio::test]
async fn the_health_switch_drives_every_state() {
    let app = app();
    let set = |mode: &str| Body::from(format!(r#"{{"mode": "{mode}", "slow_ms": 120}}"#));
    let json_put = |body: Body| {
        Request::put("/_test/health")
            .header("content-type", "application/json")
            .body(body)
            .unwrap()
    };
    for (mode, status, word) in [
        ("degraded", StatusCode::OK, "degraded"),
        ("unhealthy", StatusCode::SERVICE_UNAVAILABLE, "unhealthy"),
        ("slow", StatusCode::OK, "healthy"),
        ("healthy", StatusCode::OK, "healthy"),
    ] {
        let response = app.clone().oneshot(json_put(set(mode))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{mode}");
        let started = std::time::Instant::now();
        let (got, _, body) = call(&app, "GET", "/healthz", Body::empty()).await;
        let report = contracts::HealthReport::from_json(std::str::from_utf8(&body).unwrap())
            .expect("/healthz answers a contracts::HealthReport");
        assert_eq!((got, report.status.as_str()), (status, word), "{mode}");
        assert_eq!(
            contracts::HealthReport::reported_status(std::str::from_utf8(&body).unwrap()),
            Some(report.status),
            "{mode}: the gateway's probes read it the same way"
        );
        assert_eq!(
            started.elapsed() >= std::time::Duration::from_millis(120),
            mode == "slow",
            "{mode}"
        );
    }
    let response = app
        .clone()
        .oneshot(json_put(Body::from(r#"{"mode": "sideways"}"#)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
