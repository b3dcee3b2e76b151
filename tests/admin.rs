//! The admin API's routing, bearer-token check, console files and query strings.

use gateway::admin::console::{Asset, CONSOLE_PATH, CONTENT_SECURITY_POLICY};
use gateway::admin::query::{DiffQuery, HistoryQuery};
use gateway::admin::{authorized, bad_query, constant_time_eq, route, AdminRoute, Endpoint};

#[test]
fn admin_paths() {
    use AdminRoute::{MethodNotAllowed, NotFound, Redirect};
    let ok = |e| Some(AdminRoute::Endpoint(e));
    let read_only = Some(MethodNotAllowed { allow: "GET, HEAD" });
    let post_only = Some(MethodNotAllowed { allow: "POST" });
    for (method, path, want) in [
        ("GET", "/__gateway/health", ok(Endpoint::Health)),
        ("HEAD", "/__gateway/routes", ok(Endpoint::Routes)),
        ("GET", "/__gateway/versions", ok(Endpoint::Versions)),
        ("GET", "/__gateway/stats", ok(Endpoint::Stats)),
        ("GET", "/__gateway/release", ok(Endpoint::Release)),
        ("GET", "/__gateway/diff", ok(Endpoint::Diff)),
        (
            "GET",
            "/__gateway/health/history",
            ok(Endpoint::HealthHistory),
        ),
        ("POST", "/__gateway/rollback", ok(Endpoint::Rollback)),
        ("POST", "/__gateway/promote", ok(Endpoint::Promote)),
        ("POST", "/__gateway/abort", ok(Endpoint::Abort)),
        ("GET", "/__gateway/", ok(Endpoint::Console(Asset::Index))),
        ("HEAD", "/__gateway/", ok(Endpoint::Console(Asset::Index))),
        (
            "GET",
            "/__gateway/console.js",
            ok(Endpoint::Console(Asset::Script)),
        ),
        (
            "GET",
            "/__gateway/console.css",
            ok(Endpoint::Console(Asset::Style)),
        ),
        (
            "GET",
            "/__gateway",
            Some(Redirect {
                location: "/__gateway/",
            }),
        ),
        (
            "POST",
            "/__gateway",
            Some(Redirect {
                location: "/__gateway/",
            }),
        ),
        ("POST", "/__gateway/health", read_only),
        ("DELETE", "/__gateway/release", read_only),
        ("POST", "/__gateway/", read_only),
        ("GET", "/__gateway/rollback", post_only),
        ("HEAD", "/__gateway/promote", post_only),
        ("PUT", "/__gateway/abort", post_only),
        ("GET", "/__gateway/nope", Some(NotFound)),
        ("GET", "/__gateway/index.html", Some(NotFound)),
        ("GET", "/__gateway/console.js/", Some(NotFound)),
        ("GET", "/__gateway/health/x", Some(NotFound)),
        ("GET", "/__gateway/health/history/", Some(NotFound)),
        ("POST", "/__gateway/rollback/", Some(NotFound)),
        ("GET", "/__gatewayx/health", None),
        ("GET", "/api/__gateway/health", None),
        ("GET", "/", None),
    ] {
        assert_eq!(route(method, path), want, "{method} {path}");
    }
}

#[test]
fn only_the_console_files_go_without_a_token() {
    let endpoints = [
        (Endpoint::Health, true, "GET, HEAD"),
        (Endpoint::HealthHistory, true, "GET, HEAD"),
        (Endpoint::Routes, true, "GET, HEAD"),
        (Endpoint::Versions, true, "GET, HEAD"),
        (Endpoint::Stats, true, "GET, HEAD"),
        (Endpoint::Release, true, "GET, HEAD"),
        (Endpoint::Diff, true, "GET, HEAD"),
        (Endpoint::Rollback, true, "POST"),
        (Endpoint::Promote, true, "POST"),
        (Endpoint::Abort, true, "POST"),
        (Endpoint::Console(Asset::Index), false, "GET, HEAD"),
        (Endpoint::Console(Asset::Script), false, "GET, HEAD"),
        (Endpoint::Console(Asset::Style), false, "GET, HEAD"),
    ];
    for (endpoint, token, allow) in endpoints {
        assert_eq!(
            (endpoint.needs_token(), endpoint.allow()),
            (token, allow),
            "{endpoint:?}"
        );
    }
}

#[test]
fn console_files_have_their_type_and_a_strict_policy() {
    assert_eq!(
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert_eq!(
        route("GET", CONSOLE_PATH),
        Some(AdminRoute::Endpoint(Endpoint::Console(Asset::Index)))
    );
    for (asset, content_type, marker) in [
        (Asset::Index, "text/html; charset=utf-8", "<html"),
        (Asset::Script, "text/javascript; charset=utf-8", ""),
        (Asset::Style, "text/css; charset=utf-8", ""),
    ] {
        let headers = asset.headers();
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        assert_eq!(get("content-type"), Some(content_type), "{asset:?}");
        assert_eq!(
            get("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(get("x-content-type-options"), Some("nosniff"));
        assert_eq!(get("referrer-policy"), Some("no-referrer"));
        assert_eq!(get("cache-control"), Some("no-store"));
        assert!(!asset.body().trim().is_empty(), "{asset:?} is empty");
        assert!(asset.body().contains(marker), "{asset:?}");
    }
    // No request leaves the page but to itself: no absolute URLs to other hosts in its files.
    for asset in [Asset::Index, Asset::Script, Asset::Style] {
        for scheme in ["http://", "https://", "//cdn"] {
            let body = asset.body().replace("http://www.w3.org/2000/svg", "");
            assert!(!body.contains(scheme), "{asset:?} names {scheme}…");
        }
    }
}

#[test]
fn diff_queries() {
    let ok = |from: &str, to: &str| {
        Ok(DiffQuery {
            from: from.into(),
            to: to.into(),
        })
    };
    for (query, want) in [
        (Some("from=V1&to=V2"), ok("V1", "V2")),
        (Some("to=V2&from=V1"), ok("V1", "V2")),
        (Some("from=V1&to=V1"), ok("V1", "V1")),
        (Some("from=2026%3A1&to=V2"), ok("2026:1", "V2")),
        (
            Some("from=V1"),
            Err("Name both versions: ?from=VERSION&to=VERSION."),
        ),
        (None, Err("Name both versions: ?from=VERSION&to=VERSION.")),
        (
            Some("from=V1&to="),
            Err("`from` and `to` must be version ids (see /__gateway/versions)."),
        ),
        (
            Some("from=V+1&to=V2"),
            Err("`from` and `to` must be version ids (see /__gateway/versions)."),
        ),
        (
            Some("from=V1&to=V2&x=1"),
            Err("Unknown query parameter: use from and to."),
        ),
        (
            Some("from=%ff&to=V2"),
            Err("A query value is not valid percent-encoded UTF-8."),
        ),
    ] {
        assert_eq!(DiffQuery::parse(query), want, "{query:?}");
    }
}

#[test]
fn health_history_queries() {
    let now = 10 * 86_400_000;
    let from = |ms: u64| {
        Ok(HistoryQuery {
            from_ms: now - ms,
            until_ms: now,
        })
    };
    let bad_since = Err("`since` must be a duration up to 7d, such as 15m, 1h or 24h.");
    for (query, want) in [
        (None, from(3_600_000)),
        (Some(""), from(3_600_000)),
        (Some("since=15m"), from(900_000)),
        (Some("since=24h"), from(86_400_000)),
        (Some("since=7d"), from(7 * 86_400_000)),
        (Some("since=8d"), bad_since),
        (Some("since=0m"), bad_since),
        (Some("since=1w"), bad_since),
        (Some("step=60s"), Err("Unknown query parameter: use since.")),
    ] {
        assert_eq!(HistoryQuery::parse(query, now), want, "{query:?}");
    }
    // Near the epoch the range starts at 0.
    assert_eq!(
        HistoryQuery::parse(Some("since=1h"), 1_000).map(|q| q.from_ms),
        Ok(0)
    );
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
        answer.detail.as_deref(),
        Some("`since` must be a duration such as 90s, 15m, 6h or 7d.")
    );
    assert!(answer.headers.is_empty());
}
