//! Upstream health: classifying probe results, choosing an origin by weight among those not
//! known to be unhealthy, and the D1 rows and SQL for snapshots.
//!
//! Pure: the edge layer runs the probes, stores the verdicts and keeps the per-isolate view.

mod choose;
mod probe;
mod snapshot;

pub use choose::{choose, Choice, HealthView};
pub use probe::{
    body_reports_degraded, classify, overall, plan, Probe, ProbeTarget, Status, Verdict,
};
pub use snapshot::{Snapshot, INSERT_SNAPSHOT, PRUNE_SNAPSHOTS, SELECT_LATEST};

/// Cloudflare allows 6 simultaneous outgoing connections per invocation.
pub const MAX_CONCURRENT_PROBES: usize = 6;
