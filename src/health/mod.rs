//! Upstream health: classifying probe results, choosing an origin by weight among those not
//! known to be unhealthy, the D1 rows and SQL for snapshots, and their timeline per origin
//! ([`timeline`], for the admin API).
//!
//! Pure: the edge layer runs the probes, stores the verdicts and keeps the per-isolate view.

mod choose;
mod probe;
mod snapshot;
pub mod timeline;

pub use choose::{choose, Choice, HealthView};
pub use probe::{
    body_reports_degraded, classify, overall, plan, Probe, ProbeTarget, Status, Verdict,
};
pub use snapshot::{Snapshot, INSERT_SNAPSHOT, PRUNE_SNAPSHOTS, SELECT_LATEST};

/// Cloudflare allows 6 simultaneous outgoing connections per invocation.
pub const MAX_CONCURRENT_PROBES: usize = 6;
