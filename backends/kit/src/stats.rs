//! Request counting, `delay_ms`, and one JSON log line per request.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

/// Requests seen by a backend since start (or the last reset).
#[derive(Debug, Default)]
pub struct Stats {
    total: AtomicU64,
    cancelled: AtomicU64,
    by_path: Mutex<BTreeMap<String, u64>>,
}

/// The counters as `GET /_test/stats` answers them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = RequestStats)]
pub struct Snapshot {
    /// The service counting.
    pub service: String,
    /// Requests seen.
    pub total: u64,
    /// Requests whose client went away before the response.
    pub cancelled: u64,
    /// Requests per path.
    pub paths: BTreeMap<String, u64>,
}

impl Stats {
    /// The counters.
    pub fn snapshot(&self, service: &str) -> Snapshot {
        Snapshot {
            service: service.to_owned(),
            total: self.total.load(Ordering::SeqCst),
            cancelled: self.cancelled.load(Ordering::SeqCst),
            paths: self.by_path.lock().expect("stats lock").clone(),
        }
    }

    /// Zeroes every counter.
    pub fn reset(&self) {
        self.total.store(0, Ordering::SeqCst);
        self.cancelled.store(0, Ordering::SeqCst);
        self.by_path.lock().expect("stats lock").clear();
    }
}

/// Counts the request, honours `delay_ms`, logs it, and counts it as cancelled if the client
/// goes away before the response is ready.
pub async fn observe(
    State((service, stats)): State<(&'static str, Arc<Stats>)>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let method = request.method().to_string();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !path.starts_with("/_test/stats") {
        stats.total.fetch_add(1, Ordering::SeqCst);
        *stats
            .by_path
            .lock()
            .expect("stats lock")
            .entry(path.clone())
            .or_default() += 1;
    }
    let delay = request.uri().query().and_then(delay_ms);
    let guard = Cancelled {
        stats: stats.clone(),
        done: false,
    };
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let response = next.run(request).await;
    let mut guard = guard;
    guard.done = true;
    let at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    println!(
        "{}",
        json!({
            "ts_ms": at_ms as u64,
            "service": service,
            "method": method,
            "path": path,
            "status": response.status().as_u16(),
            "duration_ms": started.elapsed().as_millis() as u64,
            "request_id": request_id,
        })
    );
    response
}

/// Counts a request whose handler was dropped before it produced a response.
struct Cancelled {
    stats: Arc<Stats>,
    done: bool,
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        if !self.done {
            self.stats.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The `delay_ms` query parameter, if present and a number (capped at 10 minutes).
fn delay_ms(query: &str) -> Option<u64> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("delay_ms="))
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| ms.min(600_000))
}

#[cfg(test)]
mod tests {
    use super::delay_ms;

    #[test]
    fn delay_is_read_from_the_query() {
        for (query, want) in [
            ("delay_ms=250", Some(250)),
            ("a=1&delay_ms=5&b=2", Some(5)),
            ("delay_ms=x", None),
            ("xdelay_ms=5", None),
            ("", None),
            ("delay_ms=99999999", Some(600_000)),
        ] {
            assert_eq!(delay_ms(query), want, "{query}");
        }
    }
}
