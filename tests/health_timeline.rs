//! Health over time (`GET /__gateway/health/history`): the snapshots of a range grouped per
//! origin — the active table's first, in its order, even without snapshots — oldest first.

mod common;

use gateway::health::timeline::{timeline, MAX_TIMELINE_ROWS, SELECT_SINCE};
use gateway::health::{plan, Snapshot};
use serde_json::json;

fn snapshot(upstream: &str, origin: &str, status: &str, checked_at: i64) -> Snapshot {
    Snapshot {
        upstream: upstream.into(),
        origin: origin.into(),
        status: status.into(),
        http_status: (status != "unhealthy").then_some(200),
        latency_ms: checked_at / 1000,
        checked_at,
        detail: "ok".into(),
    }
}

#[test]
fn snapshots_are_grouped_per_origin_oldest_first() {
    let table = common::table("");
    let targets = plan(&table);
    let users = "http://127.0.0.1:9101";
    let orders = "http://127.0.0.1:9102";
    // As SELECT_SINCE returns them: newest first.
    let rows = [
        snapshot("users", users, "healthy", 3_000),
        snapshot("gone", "http://old", "unhealthy", 2_500),
        snapshot("users", users, "degraded", 2_000),
        snapshot("users", users, "unhealthy", 1_000),
    ];
    let report = timeline(&targets, &rows, 500, 3_500);
    let body = serde_json::to_value(&report).unwrap();
    let statuses = |i: usize| -> Vec<(i64, String)> {
        report.origins[i]
            .snapshots
            .iter()
            .map(|p| (p.checked_at, p.status.to_owned()))
            .collect()
    };
    let origins: Vec<(&str, &str, bool)> = report
        .origins
        .iter()
        .map(|o| (o.upstream, o.origin, o.in_table))
        .collect();
    assert_eq!(
        origins,
        [
            ("orders", orders, true),
            ("users", users, true),
            ("gone", "http://old", false)
        ]
    );
    assert_eq!(statuses(0), []);
    assert_eq!(
        statuses(1),
        [
            (1_000, "unhealthy".to_owned()),
            (2_000, "degraded".to_owned()),
            (3_000, "healthy".to_owned())
        ]
    );
    assert_eq!(
        (&body["from_ms"], &body["until_ms"], &body["truncated"]),
        (&json!(500), &json!(3_500), &json!(false))
    );
    assert_eq!(
        body["origins"][1]["snapshots"][0],
        json!({"checked_at": 1000, "status": "unhealthy", "http_status": null,
               "latency_ms": 1, "detail": "ok"})
    );
}

#[test]
fn a_full_read_says_it_was_truncated() {
    let rows: Vec<Snapshot> = (0..MAX_TIMELINE_ROWS as i64)
        .map(|i| snapshot("users", "http://a", "healthy", i))
        .collect();
    assert!(timeline(&[], &rows, 0, 1).truncated);
    assert!(!timeline(&[], &rows[1..], 0, 1).truncated);
    // Bounded and bound: the range start and the limit are parameters.
    assert!(SELECT_SINCE.contains("checked_at >= ?1") && SELECT_SINCE.ends_with("LIMIT ?2"));
}
