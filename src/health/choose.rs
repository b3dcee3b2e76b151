//! Health-aware origin choice: by weight, among origins not freshly known to be unhealthy.

use std::collections::HashMap;

use super::Status;
use crate::table::{AllUnhealthy, Origin, Upstream};

/// The latest known status of each origin, by upstream, with when it was checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthView {
    by_upstream: HashMap<String, Vec<(String, Status, f64)>>,
}

impl HealthView {
    /// A view from (upstream, origin, status, checked_at_ms) rows.
    pub fn new(rows: impl IntoIterator<Item = (String, String, Status, f64)>) -> Self {
        let mut by_upstream: HashMap<String, Vec<(String, Status, f64)>> = HashMap::new();
        for (upstream, origin, status, at) in rows {
            by_upstream
                .entry(upstream)
                .or_default()
                .push((origin, status, at));
        }
        Self { by_upstream }
    }

    /// The status of `origin` if it was checked within `fresh_ms` of `now_ms`.
    pub fn fresh(
        &self,
        upstream: &str,
        origin: &str,
        now_ms: f64,
        fresh_ms: f64,
    ) -> Option<Status> {
        let (_, status, at) = self
            .by_upstream
            .get(upstream)?
            .iter()
            .find(|(o, _, _)| o == origin)?;
        (now_ms - at <= fresh_ms).then_some(*status)
    }
}

/// The origin to send a request to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice<'t> {
    /// Send it here.
    Origin(&'t Origin),
    /// Every origin is unhealthy and the upstream rejects in that case: answer 503.
    AllUnhealthy,
}

/// Picks one origin of `upstream` by weight, skipping those whose fresh snapshot says
/// unhealthy. `random` is uniform in `[0, 1)`. With every origin unhealthy, the upstream's
/// policy decides: reject, or pick among all of them anyway.
pub fn choose<'t>(
    upstream: &'t Upstream,
    origins: &'t [Origin],
    view: &HealthView,
    now_ms: f64,
    fresh_ms: f64,
    random: f64,
) -> Choice<'t> {
    let usable = |o: &&Origin| {
        o.weight > 0
            && view.fresh(&upstream.name, &o.url, now_ms, fresh_ms) != Some(Status::Unhealthy)
    };
    let candidates: Vec<&Origin> = origins.iter().filter(usable).collect();
    let pool = if !candidates.is_empty() {
        candidates
    } else if upstream.health.all_unhealthy == AllUnhealthy::TryAnyway {
        origins.iter().filter(|o| o.weight > 0).collect()
    } else {
        return Choice::AllUnhealthy;
    };
    let total: u64 = pool.iter().map(|o| u64::from(o.weight)).sum();
    let mut point = (random.clamp(0.0, 0.999_999_999) * total as f64) as u64;
    for origin in &pool {
        if point < u64::from(origin.weight) {
            return Choice::Origin(origin);
        }
        point -= u64::from(origin.weight);
    }
    Choice::Origin(pool[pool.len() - 1])
}
