//! When to (re)load the route table: the first request waits, later ones never do.

/// Per-isolate bookkeeping for route table refreshes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReloadState {
    /// When KV was last consulted, in ms since the epoch.
    pub checked_at_ms: Option<f64>,
    /// When the running background refresh started, if one is running.
    pub refreshing_since_ms: Option<f64>,
}

/// What a request should do about the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    /// No table yet: load it before serving (only the first requests of an isolate).
    LoadNow,
    /// Serve with the cached table.
    Serve,
    /// Serve with the cached table and refresh it in the background.
    ServeAndRefresh,
}

/// A background refresh that has not finished after this long is presumed lost.
pub const REFRESH_STUCK_MS: f64 = 30_000.0;

impl ReloadState {
    /// Decides for a request arriving at `now_ms`, refreshing every `interval_ms`.
    pub fn decide(&self, has_table: bool, now_ms: f64, interval_ms: f64) -> Reload {
        if !has_table {
            return Reload::LoadNow;
        }
        if self
            .refreshing_since_ms
            .is_some_and(|since| now_ms - since < REFRESH_STUCK_MS)
        {
            return Reload::Serve;
        }
        match self.checked_at_ms {
            Some(at) if now_ms - at < interval_ms => Reload::Serve,
            _ => Reload::ServeAndRefresh,
        }
    }

    /// Records that a background refresh started.
    pub fn refresh_started(&mut self, now_ms: f64) {
        self.refreshing_since_ms = Some(now_ms);
    }

    /// Records that KV was consulted (successfully or not) at `now_ms`.
    pub fn checked(&mut self, now_ms: f64) {
        self.checked_at_ms = Some(now_ms);
        self.refreshing_since_ms = None;
    }
}
