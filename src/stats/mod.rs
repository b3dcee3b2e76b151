//! Traffic statistics: per window of [`WINDOW_MS`] and (route table version, route,
//! upstream), requests by status class, 502/503/504 the gateway answered itself, and a
//! latency histogram — the counters each isolate tallies (in `glue.js`, where the final
//! status is known) and adds to D1's `traffic_stats` every few seconds, summed into
//! [`Totals`] for the admin API and the canary judge.
//!
//! - [`sql`]: the row type, the upsert, pruning and the queries.
//! - [`report`]: `GET /__gateway/stats` — its query string and the windowed report.
//!
//! `glue.js` keeps the same counters in the same order ([`Totals::counters`]); the edge hands
//! it [`BUCKET_BOUNDS_MS`] and [`WINDOW_MS`] once per isolate, so the bounds have one source.

pub mod report;
pub mod sql;

/// Length of a statistics window, in ms: rows are keyed by the window's start.
pub const WINDOW_MS: u64 = 10_000;

/// Upper bounds (inclusive, ms) of the latency histogram's buckets `h0`…`h9`; `h10` counts
/// everything above the last.
pub const BUCKET_BOUNDS_MS: [u64; 10] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

/// Buckets of the latency histogram (`h0`…`h10`).
pub const BUCKETS: usize = BUCKET_BOUNDS_MS.len() + 1;

/// Counters per row, in column order: `requests`, `s1xx`…`s5xx`, `gateway_5xx`,
/// `latency_sum_ms`, `h0`…`h10`.
pub const COUNTERS: usize = 8 + BUCKETS;

/// Least interval between two flushes of an isolate's tallies: never a D1 write per request,
/// whatever `STATS_FLUSH_MS` says.
pub const MIN_FLUSH_MS: f64 = 1_000.0;

/// The start of the window `at_ms` falls in.
pub fn window_start(at_ms: u64) -> u64 {
    at_ms - at_ms % WINDOW_MS
}

/// The histogram bucket of a duration: the first whose bound is at least `ms`.
pub fn bucket(ms: u64) -> usize {
    BUCKET_BOUNDS_MS
        .iter()
        .position(|&bound| ms <= bound)
        .unwrap_or(BUCKET_BOUNDS_MS.len())
}

/// The status class index (0 for 1xx … 4 for 5xx); statuses out of range count with the
/// nearest class.
pub fn class(status: u16) -> usize {
    usize::from(status / 100).clamp(1, 5) - 1
}

/// Whether an answer counts as `gateway_5xx`: a 502, 503 or 504 the gateway gave itself
/// (an origin's own 502 does not).
pub fn is_gateway_5xx(status: u16, gateway: bool) -> bool {
    gateway && (502..=504).contains(&status)
}

/// The counters of one row, or the sum of many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Requests answered.
    pub requests: u64,
    /// Requests per status class, 1xx to 5xx.
    pub classes: [u64; 5],
    /// 502/503/504 the gateway answered itself (origin timeout or failure, no healthy
    /// origin, no route table).
    pub gateway_5xx: u64,
    /// Sum of the durations (arrival to response headers), ms.
    pub latency_sum_ms: u64,
    /// Requests per latency bucket ([`BUCKET_BOUNDS_MS`]).
    pub histogram: [u64; BUCKETS],
}

impl Totals {
    /// Counts one request, as `glue.js` does.
    pub fn record(&mut self, status: u16, duration_ms: u64, gateway: bool) {
        self.requests += 1;
        self.classes[class(status)] += 1;
        self.gateway_5xx += u64::from(is_gateway_5xx(status, gateway));
        self.latency_sum_ms = self.latency_sum_ms.saturating_add(duration_ms);
        self.histogram[bucket(duration_ms)] += 1;
    }

    /// Adds another row's counters.
    pub fn add(&mut self, other: &Totals) {
        let sum = self
            .counters()
            .into_iter()
            .zip(other.counters())
            .map(|(a, b)| a.saturating_add(b));
        let mut counters = [0; COUNTERS];
        for (slot, value) in counters.iter_mut().zip(sum) {
            *slot = value;
        }
        *self = Totals::from_counters(counters);
    }

    /// 5xx answers (the origin's and the gateway's) per request, in `[0, 1]`; 0 without
    /// requests.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.classes[4] as f64 / self.requests as f64
        }
    }

    /// The mean duration, ms; `None` without requests.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.latency_sum_ms as f64 / self.requests as f64)
    }

    /// The `q` quantile (0 ≤ q ≤ 1) of the durations, ms, from the histogram: linear within
    /// the bucket it falls in (the first bucket starts at 0). In the open last bucket it is
    /// that bucket's lower bound, 5000 ms — read "at least". `None` without requests.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.histogram.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, &count) in self.histogram.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let lower = if i == 0 { 0 } else { BUCKET_BOUNDS_MS[i - 1] } as f64;
            let Some(&upper) = BUCKET_BOUNDS_MS.get(i) else {
                return Some(lower);
            };
            if below as f64 + count as f64 >= rank {
                let within = (rank - below as f64).max(0.0) / count as f64;
                return Some(lower + (upper as f64 - lower) * within);
            }
            below += count;
        }
        Some(BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.len() - 1] as f64)
    }

    /// The counters in column order ([`COUNTERS`]).
    pub fn counters(&self) -> [u64; COUNTERS] {
        let mut out = [0; COUNTERS];
        out[0] = self.requests;
        out[1..6].copy_from_slice(&self.classes);
        out[6] = self.gateway_5xx;
        out[7] = self.latency_sum_ms;
        out[8..].copy_from_slice(&self.histogram);
        out
    }

    /// Counters in column order back into totals.
    pub fn from_counters(c: [u64; COUNTERS]) -> Self {
        let mut totals = Totals {
            requests: c[0],
            gateway_5xx: c[6],
            latency_sum_ms: c[7],
            ..Totals::default()
        };
        totals.classes.copy_from_slice(&c[1..6]);
        totals.histogram.copy_from_slice(&c[8..]);
        totals
    }
}

impl<'a> std::iter::Sum<&'a Totals> for Totals {
    fn sum<I: Iterator<Item = &'a Totals>>(iter: I) -> Self {
        let mut sum = Totals::default();
        for t in iter {
            sum.add(t);
        }
        sum
    }
}

/// A response the gateway gave itself, to be tallied (sent to `glue.js` as JSON: named
/// fields, so nothing can be swapped on the way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Outcome<'a> {
    /// Route table version; `""` when none was loaded.
    pub version: &'a str,
    /// Route id; `""` for unrouted requests.
    pub route: &'a str,
    /// Upstream name; `""` when none was chosen.
    pub upstream: &'a str,
    /// The answer's status.
    pub status: u16,
    /// Arrival to answer, ms.
    pub duration_ms: u64,
}

impl Outcome<'_> {
    /// The outcome as JSON, for `glue.js`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an outcome always serialises")
    }
}

/// When an isolate flushes its tallies: the first request at least the interval
/// ([`MIN_FLUSH_MS`] at the least) after the previous flush — or after the isolate's first
/// request, which starts the clock.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlushClock {
    last_ms: Option<f64>,
}

impl FlushClock {
    /// Whether a flush is due at `now_ms`; if so, the clock restarts from `now_ms`.
    pub fn due(&mut self, now_ms: f64, interval_ms: f64) -> bool {
        match self.last_ms {
            Some(last) if now_ms - last < interval_ms.max(MIN_FLUSH_MS) => false,
            Some(_) => {
                self.last_ms = Some(now_ms);
                true
            }
            None => {
                self.last_ms = Some(now_ms);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(requests: &[(u16, u64, bool)]) -> Totals {
        let mut t = Totals::default();
        for &(status, ms, gateway) in requests {
            t.record(status, ms, gateway);
        }
        t
    }

    #[test]
    fn buckets_windows_and_classes() {
        for (ms, want) in [
            (0, 0),
            (5, 0),
            (6, 1),
            (10, 1),
            (11, 2),
            (100, 4),
            (101, 5),
            (2500, 8),
            (5000, 9),
            (5001, 10),
            (u64::MAX, 10),
        ] {
            assert_eq!(bucket(ms), want, "{ms} ms");
        }
        for (at, want) in [
            (0, 0),
            (9_999, 0),
            (10_000, 10_000),
            (1_700_000_012_345, 1_700_000_010_000),
        ] {
            assert_eq!(window_start(at), want, "{at}");
        }
        for (status, want) in [
            (101, 0),
            (200, 1),
            (204, 1),
            (302, 2),
            (404, 3),
            (499, 3),
            (500, 4),
            (599, 4),
            (0, 0),
            (999, 4),
        ] {
            assert_eq!(class(status), want, "{status}");
        }
        for (status, gateway, want) in [
            (502, true, true),
            (503, true, true),
            (504, true, true),
            (500, true, false),
            (429, true, false),
            (502, false, false),
            (503, false, false),
        ] {
            assert_eq!(is_gateway_5xx(status, gateway), want, "{status} {gateway}");
        }
    }

    #[test]
    fn recording_and_adding() {
        let a = totals(&[
            (200, 3, false),
            (200, 12, false),
            (503, 0, true),
            (502, 40, false),
        ]);
        assert_eq!(a.requests, 4);
        assert_eq!(a.classes, [0, 2, 0, 0, 2]);
        assert_eq!(a.gateway_5xx, 1);
        assert_eq!(a.latency_sum_ms, 55);
        assert_eq!(a.histogram, [2, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Totals::from_counters(a.counters()), a);
        assert_eq!(
            a.counters(),
            [4, 0, 2, 0, 0, 2, 1, 55, 2, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]
        );

        let b = totals(&[(404, 7000, true), (301, 1, false)]);
        let sum: Totals = [a, b, Totals::default()].iter().sum();
        assert_eq!(sum.requests, 6);
        assert_eq!(sum.classes, [0, 2, 1, 1, 2]);
        assert_eq!(sum.gateway_5xx, 1);
        assert_eq!(sum.latency_sum_ms, 7056);
        assert_eq!(sum.histogram, [3, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            sum,
            totals(&[
                (200, 3, false),
                (200, 12, false),
                (503, 0, true),
                (502, 40, false),
                (404, 7000, true),
                (301, 1, false)
            ])
        );
    }

    #[test]
    fn error_rate_and_mean() {
        for (requests, rate, mean) in [
            (vec![], 0.0, None),
            (vec![(200, 10, false)], 0.0, Some(10.0)),
            (vec![(200, 10, false), (500, 30, false)], 0.5, Some(20.0)),
            (
                vec![
                    (503, 0, true),
                    (504, 5000, true),
                    (404, 1, false),
                    (200, 3, false),
                ],
                0.5,
                Some(1251.0),
            ),
        ] {
            let t = totals(&requests);
            assert_eq!(t.error_rate(), rate, "{requests:?}");
            assert_eq!(t.mean_ms(), mean, "{requests:?}");
        }
    }

    #[test]
    fn quantiles_interpolate_within_a_bucket() {
        let hist = |h: [u64; BUCKETS]| Totals {
            requests: h.iter().sum(),
            histogram: h,
            ..Totals::default()
        };
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            (a, b) => a == b,
        };
        for (h, q, want) in [
            // nothing recorded
            ([0; BUCKETS], 0.5, None),
            // all in [0, 5]: the median is half way
            ([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.5, Some(2.5)),
            ([4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1.0, Some(5.0)),
            ([4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.0, Some(0.0)),
            // 10 in (10, 25] and 10 in (100, 250]: p50 ends the first, p75 is half the second
            ([0, 0, 10, 0, 0, 10, 0, 0, 0, 0, 0], 0.5, Some(25.0)),
            ([0, 0, 10, 0, 0, 10, 0, 0, 0, 0, 0], 0.75, Some(175.0)),
            ([0, 0, 10, 0, 0, 10, 0, 0, 0, 0, 0], 0.0, Some(10.0)),
            // 100 requests: 95 in (25, 50], 5 in (500, 1000]: p95 = 50, p99 = 900
            ([0, 0, 0, 95, 0, 0, 0, 5, 0, 0, 0], 0.95, Some(50.0)),
            ([0, 0, 0, 95, 0, 0, 0, 5, 0, 0, 0], 0.99, Some(900.0)),
            (
                [0, 0, 0, 95, 0, 0, 0, 5, 0, 0, 0],
                0.5,
                Some(25.0 + 25.0 * 50.0 / 95.0),
            ),
            // the open bucket answers its lower bound
            ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 0.99, Some(5000.0)),
            ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3], 0.5, Some(5000.0)),
            // out-of-range q is clamped
            ([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 7.0, Some(5.0)),
        ] {
            let got = hist(h).quantile(q);
            assert!(close(got, want), "{h:?} q={q}: {got:?}, want {want:?}");
        }
    }

    #[test]
    fn outcomes_are_named_json() {
        let o = Outcome {
            version: "v1",
            route: "",
            upstream: "users",
            status: 404,
            duration_ms: 2,
        };
        assert_eq!(
            o.to_json(),
            r#"{"version":"v1","route":"","upstream":"users","status":404,"duration_ms":2}"#
        );
    }

    #[test]
    fn the_flush_clock_starts_with_the_first_request() {
        let mut clock = FlushClock::default();
        for (now, interval, want) in [
            (1_000.0, 5_000.0, false), // starts the clock
            (5_999.0, 5_000.0, false),
            (6_000.0, 5_000.0, true),
            (6_001.0, 5_000.0, false),
            (6_000.0 + MIN_FLUSH_MS - 1.0, 0.0, false), // the floor
            (6_000.0 + MIN_FLUSH_MS, 0.0, true),
        ] {
            assert_eq!(clock.due(now, interval), want, "at {now}");
        }
    }
}
