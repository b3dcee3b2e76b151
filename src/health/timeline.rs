//! Health over time, for `GET /__gateway/health/history`: the snapshots of a time range (at
//! most [`MAX_TIMELINE_ROWS`], the newest), grouped per origin, oldest first — a status
//! timeline and a latency series each.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ProbeTarget, Snapshot};

/// Most snapshots one report reads (a day of minutely probes of about seven origins).
pub const MAX_TIMELINE_ROWS: usize = 10_000;

/// Snapshots checked at or after ?1 (ms since the epoch), newest first, at most ?2.
pub const SELECT_SINCE: &str = "SELECT upstream, origin, status, http_status, latency_ms, \
     checked_at, detail FROM health_snapshots WHERE checked_at >= ?1 \
     ORDER BY checked_at DESC, id DESC LIMIT ?2";

/// The body of `GET /__gateway/health/history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline<'a> {
    /// Start of the range, ms since the epoch.
    pub from_ms: u64,
    /// End of the range (now), ms since the epoch.
    pub until_ms: u64,
    /// The range held more than [`MAX_TIMELINE_ROWS`] snapshots: only the newest are here.
    pub truncated: bool,
    /// The active table's origins (in its order, even those without snapshots), then any other
    /// origin that has snapshots in the range.
    pub origins: Vec<OriginTimeline<'a>>,
}

/// One origin's snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginTimeline<'a> {
    /// Upstream name.
    pub upstream: &'a str,
    /// Origin base URL or binding name.
    pub origin: &'a str,
    /// Whether the active table has this origin.
    pub in_table: bool,
    /// Oldest first.
    pub snapshots: Vec<Point<'a>>,
}

/// One probe result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point<'a> {
    /// When, ms since the epoch.
    pub checked_at: i64,
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: &'a str,
    /// HTTP status, if the origin answered.
    pub http_status: Option<i64>,
    /// Latency in ms.
    pub latency_ms: i64,
    /// Why.
    pub detail: &'a str,
}

/// Groups `rows` ([`SELECT_SINCE`]'s, read with the limit [`MAX_TIMELINE_ROWS`]) per origin of
/// `targets` (the active table's) and any other.
pub fn timeline<'a>(
    targets: &'a [ProbeTarget],
    rows: &'a [Snapshot],
    from_ms: u64,
    until_ms: u64,
) -> Timeline<'a> {
    let mut by_origin: BTreeMap<(&str, &str), Vec<&Snapshot>> = BTreeMap::new();
    for row in rows {
        let key = (row.upstream.as_str(), row.origin.as_str());
        by_origin.entry(key).or_default().push(row);
    }
    let points = |rows: Vec<&'a Snapshot>| -> Vec<Point<'a>> {
        let mut points: Vec<Point<'a>> = rows
            .into_iter()
            .map(|r| Point {
                checked_at: r.checked_at,
                status: &r.status,
                http_status: r.http_status,
                latency_ms: r.latency_ms,
                detail: &r.detail,
            })
            .collect();
        points.sort_by_key(|p| p.checked_at);
        points
    };
    let mut origins = Vec::new();
    for t in targets {
        let key = (t.upstream.as_str(), t.origin.as_str());
        let rows = by_origin.remove(&key).unwrap_or_default();
        origins.push(OriginTimeline {
            upstream: &t.upstream,
            origin: &t.origin,
            in_table: true,
            snapshots: points(rows),
        });
    }
    for ((upstream, origin), rows) in by_origin {
        origins.push(OriginTimeline {
            upstream,
            origin,
            in_table: false,
            snapshots: points(rows),
        });
    }
    Timeline {
        from_ms,
        until_ms,
        truncated: rows.len() >= MAX_TIMELINE_ROWS,
        origins,
    }
}
