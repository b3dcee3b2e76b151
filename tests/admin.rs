//! The admin API's routing and bearer-token check.

use gateway::admin::{authorized, bad_query, constant_time_eq, route, AdminRoute, Endpoint};

#[test]
fn admin_paths() {
    for (method, path, want) in [
        (
            "GET",
            "/__gateway/health",
            Some(AdminRoute::Endpoint(Endpoint::Health)),
        ),
        (
            "HEAD",
            "/__gateway/routes",
            Some(AdminRoute::Endpoint(Endpoint::Routes)),
        ),
        (
            "GET",
            "/__gateway/versions",
            Some(AdminRoute::Endpoint(Endpoint::Versions)),
        ),
        (
            "GET",
            "/__gateway/stats",
            Some(AdminRoute::Endpoint(Endpoint::Stats)),
        ),
        (
            "POST",
            "/__gateway/health",
            Some(AdminRoute::MethodNotAllowed),
        ),
        ("GET", "/__gateway/nope", Some(AdminRoute::NotFound)),
        ("GET", "/__gateway", Some(AdminRoute::NotFound)),
        ("GET", "/__gateway/health/x", Some(AdminRoute::NotFound)),
        ("GET", "/__gatewayx/health", None),
        ("GET", "/api/__gateway/health", None),
        ("GET", "/", None),
    ] {
        assert_eq!(route(method, path), want, "{method} {path}");
    }
}

#[test]
fn bearer_tokens() {
    let token = Some("s3cret-token");
    for (header, token, ok) in [
        (Some("Bearer s3cret-token"), token, true),
        (Some("bearer s3cret-token"), token, true),
        (Some("  Bearer   s3cret-token "), token, true),
        (Some("Bearer s3cret-tokem"), token, false),
        (Some("Bearer s3cret-token2"), token, false),
        (Some("Bearer s3cret"), token, false),
        (Some("Basic s3cret-token"), token, false),
        (Some("s3cret-token"), token, false),
        (None, token, false),
        (Some("Bearer "), Some(""), false),
        (Some("Bearer x"), None, false),
    ] {
        assert_eq!(authorized(header, token), ok, "{header:?} vs {token:?}");
    }
    assert!(constant_time_eq(b"", b""));
    assert!(!constant_time_eq(b"a", b""));
    assert!(!constant_time_eq(b"ab", b"a\xff"));
}

#[test]
fn a_bad_query_is_a_400_problem_that_says_why() {
    let answer = bad_query(
        "`since` must be a duration such as 90s, 15m, 6h or 7d.",
        "req-1",
    );
    assert_eq!(
        (answer.status, answer.title, answer.request_id.as_str()),
        (400, Some("Bad Request"), "req-1")
    );
    assert_eq!(
        answer.detail,
        Some("`since` must be a duration such as 90s, 15m, 6h or 7d.")
    );
    assert!(answer.headers.is_empty());
}
