//! Health: probe classification, overall status, probe planning, health-aware weighted choice.

mod common;

use gateway::health::{
    body_reports_degraded, choose, classify, overall, plan, Choice, HealthView, Probe, Status,
};
use gateway::table::{Lookup, RouteTable};

#[test]
fn classification() {
    let ok = |http_status, latency_ms, body_degraded| Probe::Responded {
        http_status,
        latency_ms,
        body_degraded,
    };
    let cases = [
        (ok(200, 80, false), Status::Healthy, "ok"),
        (ok(204, 1000, false), Status::Healthy, "ok"),
        (
            ok(200, 1001, false),
            Status::Degraded,
            "slow: 1001 ms > 1000 ms",
        ),
        (ok(200, 10, true), Status::Degraded, "reports degraded"),
        (ok(503, 10, false), Status::Unhealthy, "HTTP 503"),
        (ok(404, 10, true), Status::Unhealthy, "HTTP 404"),
        (ok(302, 10, false), Status::Unhealthy, "HTTP 302"),
        (
            Probe::TimedOut { after_ms: 2000 },
            Status::Unhealthy,
            "timed out after 2000 ms",
        ),
        (
            Probe::Failed {
                latency_ms: 3,
                detail: "connection refused".into(),
            },
            Status::Unhealthy,
            "failed: connection refused",
        ),
    ];
    for (probe, status, detail) in cases {
        let v = classify(&probe, 1000);
        assert_eq!((v.status, v.detail.as_str()), (status, detail), "{probe:?}");
    }
    let v = classify(&ok(503, 12, false), 1000);
    assert_eq!((v.http_status, v.latency_ms), (Some(503), 12));
    assert_eq!(
        classify(&Probe::TimedOut { after_ms: 5 }, 1000).http_status,
        None
    );
}

#[test]
fn degraded_bodies() {
    for (body, degraded) in [
        (r#"{"status": "degraded"}"#, true),
        (r#"{"status": "WARN", "checks": {}}"#, true),
        (r#"{"status": "ok"}"#, false),
        (r#"{"state": "degraded"}"#, false),
        ("degraded\n", true),
        ("ok", false),
        ("", false),
    ] {
        assert_eq!(body_reports_degraded(body), degraded, "{body}");
    }
}

#[test]
fn overall_status() {
    use Status::*;
    for (statuses, want) in [
        (vec![Healthy, Healthy], Healthy),
        (vec![Healthy, Degraded], Degraded),
        (vec![Healthy, Unhealthy], Degraded),
        (vec![Unhealthy, Unhealthy], Unhealthy),
        (vec![], Unhealthy),
    ] {
        assert_eq!(overall(statuses.clone()), want, "{statuses:?}");
    }
}

const POOL: &str = r#"
[upstreams.pool]
degraded_ms = 300
health_timeout_ms = 1500
[upstreams.pool.env.local]
origins = [{ url = "http://a", weight = 3 }, { url = "http://b", weight = 1 }, { url = "http://drained", weight = 0 }]

[upstreams.stubborn]
all_unhealthy = "try_anyway"
[upstreams.stubborn.env.local]
origins = ["http://s1", "http://s2"]

[[routes]]
id = "pool"
path = "/pool"
upstream = "pool"

[[routes]]
id = "stubborn"
path = "/stubborn"
upstream = "stubborn"
"#;

fn table() -> RouteTable {
    common::table(POOL)
}

/// How often each origin is chosen over `n` evenly spread random numbers.
fn spread(table: &RouteTable, path: &str, view: &HealthView, n: usize) -> Vec<(String, usize)> {
    let Lookup::Found(m) = table.lookup("h", "GET", path) else {
        panic!("{path} routes")
    };
    let gateway::table::Target::Origins(origins) = &m.upstream.target else {
        panic!("origins")
    };
    let mut counts: Vec<(String, usize)> = Vec::new();
    for i in 0..n {
        let label = match choose(
            m.upstream,
            origins,
            view,
            1_000_000.0,
            60_000.0,
            i as f64 / n as f64,
        ) {
            Choice::Origin(o) => o.url.clone(),
            Choice::AllUnhealthy => "503".to_owned(),
        };
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, c)) => *c += 1,
            None => counts.push((label, 1)),
        }
    }
    counts
}

/// Expected origin → count pairs.
type Spread = Vec<(&'static str, usize)>;

fn view(rows: &[(&str, &str, Status, f64)]) -> HealthView {
    HealthView::new(
        rows.iter()
            .map(|(u, o, s, at)| (u.to_string(), o.to_string(), *s, *at)),
    )
}

#[test]
fn weighted_choice_skips_fresh_unhealthy_origins() {
    let t = table();
    let now = 1_000_000.0;
    let cases: Vec<(&str, HealthView, Spread)> = vec![
        (
            "no data: by weight",
            HealthView::default(),
            vec![("http://a", 75), ("http://b", 25)],
        ),
        (
            "b unhealthy",
            view(&[("pool", "http://b", Status::Unhealthy, now - 1000.0)]),
            vec![("http://a", 100)],
        ),
        (
            "degraded still serves",
            view(&[("pool", "http://a", Status::Degraded, now)]),
            vec![("http://a", 75), ("http://b", 25)],
        ),
        (
            "stale unhealthy is ignored",
            view(&[("pool", "http://a", Status::Unhealthy, now - 60_001.0)]),
            vec![("http://a", 75), ("http://b", 25)],
        ),
        (
            "other upstream's status is ignored",
            view(&[("stubborn", "http://a", Status::Unhealthy, now)]),
            vec![("http://a", 75), ("http://b", 25)],
        ),
        (
            "all unhealthy: reject",
            view(&[
                ("pool", "http://a", Status::Unhealthy, now),
                ("pool", "http://b", Status::Unhealthy, now),
            ]),
            vec![("503", 100)],
        ),
    ];
    for (name, v, want) in cases {
        let got = spread(&t, "/pool", &v, 100);
        let want: Vec<(String, usize)> = want.into_iter().map(|(o, n)| (o.to_owned(), n)).collect();
        assert_eq!(got, want, "{name}");
    }
    let down = view(&[
        ("stubborn", "http://s1", Status::Unhealthy, now),
        ("stubborn", "http://s2", Status::Unhealthy, now),
    ]);
    assert_eq!(
        spread(&t, "/stubborn", &down, 100),
        vec![("http://s1".to_owned(), 50), ("http://s2".to_owned(), 50)],
        "try_anyway still picks exactly one origin"
    );
}

#[test]
fn probe_plan_covers_every_origin_once() {
    let got: Vec<(String, String, String, u64, u64)> = plan(&table())
        .into_iter()
        .map(|t| (t.upstream, t.origin, t.url, t.timeout_ms, t.degraded_ms))
        .collect();
    let want = [
        ("pool", "http://a", "http://a/healthz", 1500, 300),
        ("pool", "http://b", "http://b/healthz", 1500, 300),
        (
            "pool",
            "http://drained",
            "http://drained/healthz",
            1500,
            300,
        ),
        ("stubborn", "http://s1", "http://s1/healthz", 2000, 1000),
        ("stubborn", "http://s2", "http://s2/healthz", 2000, 1000),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(u, o, url, t, d)| (u.to_string(), o.to_string(), url.to_string(), *t, *d))
        .collect();
    // Upstreams from the common fixture come first; compare the ones defined here.
    let got: Vec<_> = got
        .into_iter()
        .filter(|g| g.0 == "pool" || g.0 == "stubborn")
        .collect();
    assert_eq!(got, want);
}
