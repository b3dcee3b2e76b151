//! Forwarding decisions: URL splitting, origin URLs (query byte for byte), outcome → status.

use gateway::forward::{origin_url, Failure, UrlParts};
use gateway::problem::{Answer, GatewayError};

#[test]
fn urls_split_without_decoding() {
    let cases = [
        (
            "https://api.example.com/users/1?x=1",
            ("https", "api.example.com", "/users/1", Some("x=1")),
        ),
        (
            "http://localhost:8787/a%2Fb?q=%20&&z",
            ("http", "localhost:8787", "/a%2Fb", Some("q=%20&&z")),
        ),
        ("http://h/", ("http", "h", "/", None)),
        ("http://h", ("http", "h", "/", None)),
        ("http://h?x", ("http", "h", "/", Some("x"))),
        ("http://h/p?", ("http", "h", "/p", Some(""))),
        ("http://h/p#frag?no", ("http", "h", "/p", None)),
        ("http://[::1]:8080/p", ("http", "[::1]:8080", "/p", None)),
    ];
    for (url, (scheme, host, path, query)) in cases {
        assert_eq!(
            UrlParts::split(url),
            Some(UrlParts {
                scheme,
                host,
                path,
                query
            }),
            "{url}"
        );
    }
    assert_eq!(UrlParts::split("/relative"), None);
    assert_eq!(UrlParts::split("http:///x"), None);
}

#[test]
fn origin_urls_keep_the_query() {
    for (base, path, query, want) in [
        (
            "http://127.0.0.1:9101",
            "/users/1",
            None,
            "http://127.0.0.1:9101/users/1",
        ),
        (
            "https://u.example.com",
            "/u",
            Some("a=1&b=%2F&c"),
            "https://u.example.com/u?a=1&b=%2F&c",
        ),
        (
            "https://u.example.com",
            "/u",
            Some(""),
            "https://u.example.com/u?",
        ),
        (
            "https://u.example.com/base",
            "/u",
            Some("x"),
            "https://u.example.com/base/u?x",
        ),
        (
            "http://o",
            "/orders?user_id=2",
            Some("limit=5"),
            "http://o/orders?user_id=2&limit=5",
        ),
        (
            "http://o",
            "/orders?user_id=2",
            Some(""),
            "http://o/orders?user_id=2",
        ),
    ] {
        assert_eq!(origin_url(base, path, query), want);
    }
}

#[test]
fn one_status_mapping() {
    for (error, status) in [
        (GatewayError::NoRoute, 404),
        (GatewayError::MethodNotAllowed, 405),
        (GatewayError::NoRouteTable, 503),
        (GatewayError::OriginTimeout, 504),
        (GatewayError::OriginFailure, 502),
        (GatewayError::Internal, 500),
        (GatewayError::Unauthenticated, 401),
        (GatewayError::Forbidden, 403),
        (GatewayError::CorsRejected, 403),
        (GatewayError::PayloadTooLarge, 413),
        (GatewayError::RateLimited, 429),
        (GatewayError::AuthUnavailable, 503),
        (Failure::TimedOut.into(), 504),
        (Failure::Failed.into(), 502),
    ] {
        assert_eq!(error.status(), status, "{error:?}");
    }
    assert_eq!(GatewayError::NoRouteTable.retry_after(), Some(5));
    assert_eq!(GatewayError::OriginTimeout.retry_after(), None);
}

#[test]
fn answers_describe_problems_for_glue_js() {
    let answer =
        Answer::problem(GatewayError::NoRouteTable, "req-1").on(Some("users-get"), Some("v1"));
    let body: serde_json::Value = serde_json::from_str(&answer.to_json()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "status": 503,
            "title": "Route Table Unavailable",
            "detail": "The gateway has no route table loaded yet. Try again shortly.",
            "request_id": "req-1",
            "route_id": "users-get",
            "version": "v1",
            "headers": [["retry-after", "5"]],
        })
    );
    let preflight = Answer::empty(204, "req-2").with("vary", "Origin").to_json();
    assert_eq!(
        preflight,
        r#"{"status":204,"request_id":"req-2","headers":[["vary","Origin"]]}"#
    );
}

#[test]
fn access_log_lines_are_json_with_every_field() {
    use gateway::access_log::{tail, AccessLog};
    let log = AccessLog {
        event: "request",
        request_id: "r-1",
        method: "GET",
        host: "h:8787",
        path: "/a\"b",
        route_id: Some("users-get"),
        upstream: Some("users"),
        origin: None,
        route_version: Some("v1"),
        consumer: Some("alice"),
    };
    let line: serde_json::Value =
        serde_json::from_str(&log.line(429, 1000, Some("no \"tokens\""), Some("per-consumer")))
            .unwrap();
    assert_eq!(
        line,
        serde_json::json!({
            "event": "request", "request_id": "r-1", "method": "GET", "host": "h:8787", "path": "/a\"b",
            "route_id": "users-get", "upstream": "users", "origin": null, "route_version": "v1",
            "consumer": "alice", "status": 429, "duration_ms": 1000, "error": "no \"tokens\"",
            "policy": "per-consumer",
        })
    );
    // The head is what glue.js completes for forwarded requests.
    let forwarded = format!("{}{}", log.head(), tail(200, 3, None, None));
    let parsed: serde_json::Value = serde_json::from_str(&forwarded).unwrap();
    assert_eq!(
        (parsed["status"].as_u64(), parsed.get("error")),
        (Some(200), None)
    );
}
