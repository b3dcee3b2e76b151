//! Health snapshots in D1: the row type and SQL text (parameters bound, never formatted in).

use serde::{Deserialize, Serialize};

/// One probe result (a row of `health_snapshots`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Upstream name.
    pub upstream: String,
    /// Origin base URL or binding name.
    pub origin: String,
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: String,
    /// HTTP status, if the origin answered.
    pub http_status: Option<i64>,
    /// Latency in ms.
    pub latency_ms: i64,
    /// When, in ms since the epoch.
    pub checked_at: i64,
    /// Why.
    pub detail: String,
}

/// ?1 upstream, ?2 origin, ?3 status, ?4 http status, ?5 latency ms, ?6 checked at, ?7 detail.
pub const INSERT_SNAPSHOT: &str = "INSERT INTO health_snapshots \
     (upstream, origin, status, http_status, latency_ms, checked_at, detail) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Deletes snapshots checked before ?1 (ms since the epoch).
pub const PRUNE_SNAPSHOTS: &str = "DELETE FROM health_snapshots WHERE checked_at < ?1";

/// The latest snapshot of every (upstream, origin).
pub const SELECT_LATEST: &str = "SELECT upstream, origin, status, http_status, latency_ms, \
     checked_at, detail FROM health_snapshots WHERE id IN \
     (SELECT MAX(id) FROM health_snapshots GROUP BY upstream, origin) \
     ORDER BY upstream, origin";
