//! `GET /__gateway/stats?since=15m&step=60s&route=…&version=…`: the query string, checked
//! into a [`StatsQuery`], and the report built from the per-step rows D1 returns
//! ([`super::sql::SELECT_STEPS_SINCE`]): totals per version, and per (version, route,
//! upstream) totals and a zero-filled series with one point per step, for charts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::sql::Row;
use super::{Totals, BUCKET_BOUNDS_MS, WINDOW_MS};

/// How far back a report goes without `since`: 15 minutes.
pub const DEFAULT_SINCE_MS: u64 = 15 * 60_000;
/// The step without `step` (raised when `since` would need more than [`MAX_STEPS`]).
pub const DEFAULT_STEP_MS: u64 = 60_000;
/// Most steps a report's `since` may span.
pub const MAX_STEPS: u64 = 1_440;

/// A checked stats query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    /// Start of the first step, ms since the epoch: `now − since`, down to a multiple of
    /// the step.
    pub from_ms: u64,
    /// Now, ms since the epoch: the last step is the one now falls in.
    pub until_ms: u64,
    /// Step length, ms: a multiple of [`WINDOW_MS`].
    pub step_ms: u64,
    /// Only this route (`""`: unrouted requests).
    pub route: Option<String>,
    /// Only this route table version.
    pub version: Option<String>,
}

impl StatsQuery {
    /// Checks a query string (`since`, `step`, `route`, `version`; all optional) at `now_ms`.
    /// The error is the problem detail for the client.
    pub fn parse(query: Option<&str>, now_ms: u64) -> Result<Self, &'static str> {
        let mut since = None;
        let mut step = None;
        let mut route = None;
        let mut version = None;
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).ok_or("A query value is not valid percent-encoded UTF-8.")?;
            match key {
                "since" => {
                    since = Some(
                        duration_ms(&value)
                            .filter(|&ms| ms > 0)
                            .ok_or("`since` must be a duration such as 90s, 15m, 6h or 7d.")?,
                    )
                }
                "step" => {
                    step = Some(
                        duration_ms(&value)
                            .filter(|&ms| ms > 0 && ms % WINDOW_MS == 0)
                            .ok_or("`step` must be a multiple of 10s, such as 10s, 60s or 5m.")?,
                    )
                }
                "route" => route = Some(value),
                "version" => version = Some(value),
                _ => return Err("Unknown query parameter: use since, step, route or version."),
            }
        }
        let since = since.unwrap_or(DEFAULT_SINCE_MS);
        let step_ms = match step {
            Some(step) if since.div_ceil(step) > MAX_STEPS => {
                return Err("Too many steps: `since` may span at most 1440 steps; raise `step`.")
            }
            Some(step) => step,
            None => DEFAULT_STEP_MS.max(since.div_ceil(MAX_STEPS).div_ceil(WINDOW_MS) * WINDOW_MS),
        };
        Ok(StatsQuery {
            from_ms: now_ms.saturating_sub(since) / step_ms * step_ms,
            until_ms: now_ms,
            step_ms,
            route,
            version,
        })
    }

    /// Steps from [`StatsQuery::from_ms`] up to and including the one now falls in.
    pub fn steps(&self) -> usize {
        ((self.until_ms - self.from_ms) / self.step_ms + 1) as usize
    }
}

/// `90s`, `15m`, `6h`, `7d`, `500ms` in ms.
pub(crate) fn duration_ms(text: &str) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = text.split_at(digits);
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.parse::<u64>().ok()?.checked_mul(unit_ms)
}

/// Percent-decodes a query value (`+` is a space).
pub(crate) fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The body of `GET /__gateway/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsReport {
    /// Start of the first step, ms since the epoch.
    pub from_ms: u64,
    /// When the report was made, ms since the epoch.
    pub until_ms: u64,
    /// Step length, ms.
    pub step_ms: u64,
    /// Window length the counts are kept in, ms.
    pub window_ms: u64,
    /// The latency histogram's bucket bounds, ms (the quantiles interpolate within them).
    pub bucket_bounds_ms: &'static [u64],
    /// Totals per route table version.
    pub versions: Vec<VersionReport>,
    /// Totals and series per (version, route, upstream).
    pub routes: Vec<RouteReport>,
}

/// One version's totals in a [`StatsReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionReport {
    /// Route table version.
    pub version: String,
    /// Its totals.
    pub totals: Summary,
}

/// One (version, route, upstream) in a [`StatsReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteReport {
    /// Route table version.
    pub version: String,
    /// Route id (`""`: unrouted requests).
    pub route: String,
    /// Upstream name (`""`: none chosen).
    pub upstream: String,
    /// Its totals.
    pub totals: Summary,
    /// One point per step (with its `start_ms`), oldest first, steps without requests
    /// included.
    pub series: Vec<Summary>,
}

/// Counts and derived figures of some [`Totals`]: a total, or a point of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// For a point of a series: the start of its step, ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// Requests.
    pub requests: u64,
    /// Per status class.
    pub s1xx: u64,
    /// 2xx.
    pub s2xx: u64,
    /// 3xx.
    pub s3xx: u64,
    /// 4xx.
    pub s4xx: u64,
    /// 5xx, the origins' and the gateway's.
    pub s5xx: u64,
    /// 502/503/504 the gateway answered itself.
    pub gateway_5xx: u64,
    /// 5xx per request, 0 to 1.
    pub error_rate: f64,
    /// Mean duration, ms.
    pub mean_ms: Option<f64>,
    /// Median duration, ms (from the histogram).
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

impl From<&Totals> for Summary {
    fn from(t: &Totals) -> Self {
        let round = |x: f64, places: i32| {
            let scale = 10f64.powi(places);
            (x * scale).round() / scale
        };
        let ms = |x: Option<f64>| x.map(|x| round(x, 2));
        let [s1xx, s2xx, s3xx, s4xx, s5xx] = t.classes;
        Summary {
            start_ms: None,
            requests: t.requests,
            s1xx,
            s2xx,
            s3xx,
            s4xx,
            s5xx,
            gateway_5xx: t.gateway_5xx,
            error_rate: round(t.error_rate(), 6),
            mean_ms: ms(t.mean_ms()),
            p50_ms: ms(t.quantile(0.5)),
            p95_ms: ms(t.quantile(0.95)),
            p99_ms: ms(t.quantile(0.99)),
        }
    }
}

/// The report for `query` from its rows (a row's `window_start` may be a window's or a
/// step's start: each counts in the step it falls in; rows outside the steps are left out).
pub fn report(query: &StatsQuery, rows: &[Row]) -> StatsReport {
    let steps = query.steps();
    let mut routes: BTreeMap<(&str, &str, &str), Vec<Totals>> = BTreeMap::new();
    let mut versions: BTreeMap<&str, Totals> = BTreeMap::new();
    for row in rows {
        let Some(offset) = row.window_start.checked_sub(query.from_ms) else {
            continue;
        };
        let step = (offset / query.step_ms) as usize;
        if step >= steps {
            continue;
        }
        let key = (
            row.version.as_str(),
            row.route.as_str(),
            row.upstream.as_str(),
        );
        routes
            .entry(key)
            .or_insert_with(|| vec![Totals::default(); steps])[step]
            .add(&row.totals);
        versions.entry(key.0).or_default().add(&row.totals);
    }
    StatsReport {
        from_ms: query.from_ms,
        until_ms: query.until_ms,
        step_ms: query.step_ms,
        window_ms: WINDOW_MS,
        bucket_bounds_ms: &BUCKET_BOUNDS_MS,
        versions: versions
            .into_iter()
            .map(|(version, totals)| VersionReport {
                version: version.to_owned(),
                totals: Summary::from(&totals),
            })
            .collect(),
        routes: routes
            .into_iter()
            .map(|((version, route, upstream), series)| RouteReport {
                version: version.to_owned(),
                route: route.to_owned(),
                upstream: upstream.to_owned(),
                totals: Summary::from(&series.iter().sum::<Totals>()),
                series: series
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Summary {
                        start_ms: Some(query.from_ms + i as u64 * query.step_ms),
                        ..Summary::from(t)
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_123_456;

    fn query(since: u64, step: u64) -> StatsQuery {
        StatsQuery {
            from_ms: (NOW - since) / step * step,
            until_ms: NOW,
            step_ms: step,
            route: None,
            version: None,
        }
    }

    #[test]
    fn queries_parse_with_defaults_and_explain_what_is_wrong() {
        let ok = |q: Option<&str>| StatsQuery::parse(q, NOW).unwrap();
        for (text, since, step) in [
            (None, DEFAULT_SINCE_MS, DEFAULT_STEP_MS),
            (Some(""), DEFAULT_SINCE_MS, DEFAULT_STEP_MS),
            (Some("since=1h"), 3_600_000, 60_000),
            (Some("since=90s&step=10s"), 90_000, 10_000),
            (Some("step=5m&since=6h"), 6 * 3_600_000, 300_000),
            (Some("since=500ms"), 500, 60_000),
            // a long span raises the default step to stay within MAX_STEPS (in windows)
            (Some("since=7d"), 7 * 86_400_000, 420_000),
            (Some("since=2d"), 2 * 86_400_000, 120_000),
        ] {
            let q = ok(text);
            assert_eq!(q.step_ms, step, "{text:?}");
            assert_eq!(q.from_ms, (NOW - since) / step * step, "{text:?}");
            assert_eq!(q.until_ms, NOW);
            assert!(
                q.steps() as u64 <= MAX_STEPS + 1,
                "{text:?}: {} steps",
                q.steps()
            );
        }
        let q = ok(Some(
            "route=orders%2Dget&version=2026-01-01T00%3A00%3A00Z+a",
        ));
        assert_eq!(q.route.as_deref(), Some("orders-get"));
        assert_eq!(q.version.as_deref(), Some("2026-01-01T00:00:00Z a"));
        assert_eq!(ok(Some("route=")).route.as_deref(), Some(""));
        assert_eq!(ok(Some("since=15m")).steps(), 16);

        for (text, why) in [
            ("since=15", "`since`"),
            ("since=0m", "`since`"),
            ("since=-1m", "`since`"),
            ("since=1w", "`since`"),
            ("since=99999999999999999d", "`since`"),
            ("step=15s", "`step`"),
            ("step=0s", "`step`"),
            ("step=1500ms", "`step`"),
            ("since=1d&step=10s", "Too many steps"),
            ("sinse=1h", "Unknown"),
            ("route=%zz", "percent"),
            ("route=%ff", "percent"),
        ] {
            let err = StatsQuery::parse(Some(text), NOW).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    fn row(at: u64, version: &str, route: &str, requests: &[(u16, u64, bool)]) -> Row {
        let mut totals = Totals::default();
        for &(status, ms, gateway) in requests {
            totals.record(status, ms, gateway);
        }
        Row {
            window_start: at,
            version: version.into(),
            route: route.into(),
            upstream: "orders".into(),
            totals,
        }
    }

    #[test]
    fn windows_fall_into_their_steps_and_series_are_zero_filled() {
        let q = query(3 * 60_000, 60_000);
        assert_eq!(q.steps(), 4);
        let from = q.from_ms;
        let rows = [
            // two windows of one step, one window of another
            row(from, "v1", "a", &[(200, 3, false), (200, 3, false)]),
            row(from + 50_000, "v1", "a", &[(500, 30, false)]),
            row(from + 120_000, "v1", "a", &[(503, 0, true)]),
            // another route, and another version
            row(from + 60_000, "v1", "b", &[(404, 1, true)]),
            row(from + 180_000, "v2", "a", &[(200, 60, false)]),
            // outside: before the first step, after the last
            row(from - 10_000, "v1", "a", &[(200, 1, false)]),
            row(from + 240_000, "v1", "a", &[(200, 1, false)]),
        ];
        let r = report(&q, &rows);
        assert_eq!(
            (r.from_ms, r.until_ms, r.step_ms, r.window_ms),
            (from, NOW, 60_000, WINDOW_MS)
        );
        let keys: Vec<(&str, &str)> = r
            .routes
            .iter()
            .map(|g| (g.version.as_str(), g.route.as_str()))
            .collect();
        assert_eq!(keys, [("v1", "a"), ("v1", "b"), ("v2", "a")]);
        let a = &r.routes[0];
        let requests: Vec<u64> = a.series.iter().map(|p| p.requests).collect();
        assert_eq!(requests, [3, 0, 1, 0]);
        let starts: Vec<u64> = a.series.iter().map(|p| p.start_ms.unwrap()).collect();
        assert_eq!(
            starts,
            [from, from + 60_000, from + 120_000, from + 180_000]
        );
        assert_eq!(a.series[1].p50_ms, None);
        assert_eq!(a.series[0].error_rate, 0.333333);
        assert_eq!(
            (
                a.totals.requests,
                a.totals.s2xx,
                a.totals.s5xx,
                a.totals.gateway_5xx
            ),
            (4, 2, 2, 1)
        );
        assert_eq!(a.totals.error_rate, 0.5);
        assert_eq!(a.totals.mean_ms, Some(9.0));
        let versions: Vec<(&str, u64)> = r
            .versions
            .iter()
            .map(|v| (v.version.as_str(), v.totals.requests))
            .collect();
        assert_eq!(versions, [("v1", 5), ("v2", 1)]);
        assert_eq!(
            r.routes[2]
                .series
                .iter()
                .map(|p| p.requests)
                .collect::<Vec<_>>(),
            [0, 0, 0, 1]
        );
    }

    #[test]
    fn the_report_serialises_as_the_admin_api_documents() {
        let q = query(60_000, 60_000);
        let r = report(
            &q,
            &[row(
                q.from_ms,
                "v1",
                "a",
                &[(200, 7, false), (200, 30, false)],
            )],
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["bucket_bounds_ms"],
            serde_json::json!(BUCKET_BOUNDS_MS)
        );
        assert_eq!(json["versions"][0]["totals"]["requests"], 2);
        assert_eq!(json["routes"][0]["totals"].get("start_ms"), None);
        let point = &json["routes"][0]["series"][0];
        assert_eq!(point["start_ms"], q.from_ms);
        assert_eq!(point["s2xx"], 2);
        assert_eq!(point["p50_ms"], 10.0);
        assert_eq!(point["p99_ms"], 49.5);
        assert_eq!(
            json["routes"][0]["series"][1]["p95_ms"],
            serde_json::Value::Null
        );
        assert!(report(&q, &[]).routes.is_empty());
    }
}
