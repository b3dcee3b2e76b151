//! `traffic_stats` in D1 (migrations/0002_rollout.sql): the row type, the upsert an
//! isolate's flush runs, pruning, and the queries of the admin API and the canary judge.
//! Parameters are bound (`?1`), never formatted in; a flush's rows travel as one JSON
//! parameter ([`upsert_params`]) that the upsert reads with `json_each`, so a flush is one
//! statement per [`ROWS_PER_UPSERT`] rows whatever the number of routes.

use std::fmt::Write;

use serde::Deserialize;

use super::{Totals, COUNTERS};

/// The counter columns, in the order of [`Totals::counters`] (and of `glue.js`' tallies).
pub const COUNTER_COLUMNS: [&str; COUNTERS] = [
    "requests",
    "s1xx",
    "s2xx",
    "s3xx",
    "s4xx",
    "s5xx",
    "gateway_5xx",
    "latency_sum_ms",
    "h0",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "h7",
    "h8",
    "h9",
    "h10",
];

/// One window's counters for one (version, route, upstream).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "Columns")]
pub struct Row {
    /// Start of the window (or of the step, in a report query), ms since the epoch.
    pub window_start: u64,
    /// Route table version; `""` when no table was loaded.
    pub version: String,
    /// Route id; `""` for unrouted requests.
    pub route: String,
    /// Upstream name; `""` when none was chosen.
    pub upstream: String,
    /// The counters.
    pub totals: Totals,
}

/// Sums of one version (a row of [`SELECT_TOTALS_SINCE`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "Columns")]
pub struct VersionTotals {
    /// Route table version.
    pub version: String,
    /// Its counters, summed over routes, upstreams and windows.
    pub totals: Totals,
}

impl VersionTotals {
    /// The totals of `version` among the rows of [`SELECT_TOTALS_SINCE`]: zero when it had
    /// no traffic (and so no row).
    pub fn of(rows: &[VersionTotals], version: &str) -> Totals {
        rows.iter()
            .filter(|r| r.version == version)
            .map(|r| &r.totals)
            .sum()
    }
}

/// Parses `glue.js`' `takeStats()`: `[[window_start, version, route, upstream,
/// [counters…]], …]`, counters in [`COUNTER_COLUMNS`] order.
pub fn parse_taken(text: &str) -> Result<Vec<Row>, String> {
    let taken: Vec<(u64, String, String, String, [u64; COUNTERS])> =
        serde_json::from_str(text).map_err(|e| format!("tallies from glue.js: {e}"))?;
    Ok(taken
        .into_iter()
        .map(|(window_start, version, route, upstream, counters)| Row {
            window_start,
            version,
            route,
            upstream,
            totals: Totals::from_counters(counters),
        })
        .collect())
}

/// Rows per upsert statement (a JSON parameter of about 100 bytes a row; D1 takes values of
/// up to 1 MB).
pub const ROWS_PER_UPSERT: usize = 500;

/// Adds rows to `traffic_stats`: ?1 is a JSON array of rows, each an array of window start,
/// version, route, upstream and the counters in [`COUNTER_COLUMNS`] order
/// ([`upsert_params`]). A row that exists gets the counts added.
pub const UPSERT: &str = "INSERT INTO traffic_stats (window_start, version, route, upstream, \
     requests, s1xx, s2xx, s3xx, s4xx, s5xx, gateway_5xx, latency_sum_ms, \
     h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, \
     value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9, \
     value ->> 10, value ->> 11, value ->> 12, value ->> 13, value ->> 14, value ->> 15, \
     value ->> 16, value ->> 17, value ->> 18, value ->> 19, value ->> 20, value ->> 21, \
     value ->> 22 FROM json_each(?1) WHERE true \
     ON CONFLICT (window_start, version, route, upstream) DO UPDATE SET \
     requests = requests + excluded.requests, s1xx = s1xx + excluded.s1xx, \
     s2xx = s2xx + excluded.s2xx, s3xx = s3xx + excluded.s3xx, s4xx = s4xx + excluded.s4xx, \
     s5xx = s5xx + excluded.s5xx, gateway_5xx = gateway_5xx + excluded.gateway_5xx, \
     latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms, \
     h0 = h0 + excluded.h0, h1 = h1 + excluded.h1, h2 = h2 + excluded.h2, \
     h3 = h3 + excluded.h3, h4 = h4 + excluded.h4, h5 = h5 + excluded.h5, \
     h6 = h6 + excluded.h6, h7 = h7 + excluded.h7, h8 = h8 + excluded.h8, \
     h9 = h9 + excluded.h9, h10 = h10 + excluded.h10";

/// The ?1 of each [`UPSERT`] for `rows`: JSON arrays of at most [`ROWS_PER_UPSERT`] rows.
pub fn upsert_params(rows: &[Row]) -> Vec<String> {
    let text = |s: &str| serde_json::to_string(s).expect("a string always serialises");
    rows.chunks(ROWS_PER_UPSERT)
        .map(|chunk| {
            let mut json = String::from("[");
            for (i, row) in chunk.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                let _ = write!(
                    json,
                    "[{},{},{},{}",
                    row.window_start,
                    text(&row.version),
                    text(&row.route),
                    text(&row.upstream)
                );
                for c in row.totals.counters() {
                    let _ = write!(json, ",{c}");
                }
                json.push(']');
            }
            json.push(']');
            json
        })
        .collect()
}

/// Deletes windows that started before ?1 (ms since the epoch).
pub const PRUNE: &str = "DELETE FROM traffic_stats WHERE window_start < ?1";

/// Sums per version, for versions ?1 and ?2, of the windows that started at ?3 or later
/// (ms since the epoch): rows for [`VersionTotals`]; a version without traffic has none.
pub const SELECT_TOTALS_SINCE: &str = "SELECT version, \
     SUM(requests) AS requests, SUM(s1xx) AS s1xx, SUM(s2xx) AS s2xx, SUM(s3xx) AS s3xx, \
     SUM(s4xx) AS s4xx, SUM(s5xx) AS s5xx, SUM(gateway_5xx) AS gateway_5xx, \
     SUM(latency_sum_ms) AS latency_sum_ms, SUM(h0) AS h0, SUM(h1) AS h1, SUM(h2) AS h2, \
     SUM(h3) AS h3, SUM(h4) AS h4, SUM(h5) AS h5, SUM(h6) AS h6, SUM(h7) AS h7, \
     SUM(h8) AS h8, SUM(h9) AS h9, SUM(h10) AS h10 \
     FROM traffic_stats WHERE version IN (?1, ?2) AND window_start >= ?3 GROUP BY version";

/// Sums per step of ?2 ms (steps start at multiples of ?2) and (version, route, upstream),
/// of the windows that started at ?1 or later; only route ?3 and version ?4 unless these
/// are NULL. [`Row`]s whose `window_start` is the step's start.
pub const SELECT_STEPS_SINCE: &str = "SELECT window_start - window_start % ?2 AS window_start, \
     version, route, upstream, \
     SUM(requests) AS requests, SUM(s1xx) AS s1xx, SUM(s2xx) AS s2xx, SUM(s3xx) AS s3xx, \
     SUM(s4xx) AS s4xx, SUM(s5xx) AS s5xx, SUM(gateway_5xx) AS gateway_5xx, \
     SUM(latency_sum_ms) AS latency_sum_ms, SUM(h0) AS h0, SUM(h1) AS h1, SUM(h2) AS h2, \
     SUM(h3) AS h3, SUM(h4) AS h4, SUM(h5) AS h5, SUM(h6) AS h6, SUM(h7) AS h7, \
     SUM(h8) AS h8, SUM(h9) AS h9, SUM(h10) AS h10 \
     FROM traffic_stats WHERE window_start >= ?1 AND (?3 IS NULL OR route = ?3) \
     AND (?4 IS NULL OR version = ?4) \
     GROUP BY 1, version, route, upstream ORDER BY 1, version, route, upstream";

/// A D1 row by column name: the key columns a query has (the others default) and the
/// counters. One flat struct rather than `#[serde(flatten)]`, which would buffer every value.
#[derive(Deserialize)]
struct Columns {
    #[serde(default)]
    window_start: u64,
    version: String,
    #[serde(default)]
    route: String,
    #[serde(default)]
    upstream: String,
    requests: u64,
    s1xx: u64,
    s2xx: u64,
    s3xx: u64,
    s4xx: u64,
    s5xx: u64,
    gateway_5xx: u64,
    latency_sum_ms: u64,
    h0: u64,
    h1: u64,
    h2: u64,
    h3: u64,
    h4: u64,
    h5: u64,
    h6: u64,
    h7: u64,
    h8: u64,
    h9: u64,
    h10: u64,
}

impl Columns {
    fn totals(&self) -> Totals {
        Totals::from_counters([
            self.requests,
            self.s1xx,
            self.s2xx,
            self.s3xx,
            self.s4xx,
            self.s5xx,
            self.gateway_5xx,
            self.latency_sum_ms,
            self.h0,
            self.h1,
            self.h2,
            self.h3,
            self.h4,
            self.h5,
            self.h6,
            self.h7,
            self.h8,
            self.h9,
            self.h10,
        ])
    }
}

impl From<Columns> for Row {
    fn from(c: Columns) -> Self {
        let totals = c.totals();
        Row {
            window_start: c.window_start,
            version: c.version,
            route: c.route,
            upstream: c.upstream,
            totals,
        }
    }
}

impl From<Columns> for VersionTotals {
    fn from(c: Columns) -> Self {
        let totals = c.totals();
        VersionTotals {
            version: c.version,
            totals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATION: &str = include_str!("../../migrations/0002_rollout.sql");

    fn counted(n: u64) -> Totals {
        let mut t = Totals::default();
        for i in 0..n {
            t.record(200 + 100 * (i % 4) as u16, i * 7, false);
        }
        t
    }

    #[test]
    fn the_sql_names_every_counter_column_of_the_migration() {
        let migration = MIGRATION.split_whitespace().collect::<Vec<_>>().join(" ");
        for column in COUNTER_COLUMNS {
            assert!(
                migration.contains(&format!(" {column} INTEGER NOT NULL DEFAULT 0")),
                "{column} is not a column of traffic_stats"
            );
            let add = format!("{column} = {column} + excluded.{column}");
            assert!(UPSERT.contains(&add), "the upsert does not add {column}");
            let sum = format!("SUM({column}) AS {column}");
            assert!(SELECT_TOTALS_SINCE.contains(&sum), "totals miss {column}");
            assert!(SELECT_STEPS_SINCE.contains(&sum), "steps miss {column}");
        }
        // Every element of a row is read, in order, and nothing beyond.
        let fields = 4 + COUNTERS;
        for i in 0..fields {
            assert!(
                UPSERT.contains(&format!("value ->> {i},"))
                    || UPSERT.contains(&format!("value ->> {i} FROM")),
                "element {i}"
            );
        }
        assert!(!UPSERT.contains(&format!("value ->> {fields}")));
    }

    #[test]
    fn tallies_from_glue_js_parse_and_bad_ones_are_reported() {
        let text = r#"[[1700000010000,"v1","orders-get","orders",[3,0,2,0,1,0,0,61,1,0,1,1,0,0,0,0,0,0,0]],
                       [1700000010000,"","","",[1,0,0,0,1,0,0,0,1,0,0,0,0,0,0,0,0,0,0]]]"#;
        let rows = parse_taken(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].window_start,
                rows[0].version.as_str(),
                rows[0].route.as_str(),
                rows[0].upstream.as_str()
            ),
            (1_700_000_010_000, "v1", "orders-get", "orders")
        );
        assert_eq!(rows[0].totals.requests, 3);
        assert_eq!(rows[0].totals.classes, [0, 2, 0, 1, 0]);
        assert_eq!(rows[0].totals.latency_sum_ms, 61);
        assert_eq!(rows[0].totals.histogram[..3], [1, 0, 1]);
        assert_eq!(rows[1].route, "");
        assert_eq!(parse_taken("[]").unwrap(), []);
        for bad in [
            "",
            "{}",
            r#"[[1,"v","r","u",[1,2]]]"#,
            r#"[[1,"v","r","u",[-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]]"#,
        ] {
            assert!(parse_taken(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn upsert_parameters_round_trip_and_are_chunked() {
        let row = |i: u64| Row {
            window_start: 10_000 * i,
            version: "v\"1".into(),
            route: format!("r{i}"),
            upstream: "ü".into(),
            totals: counted(i % 5),
        };
        let rows: Vec<Row> = (0..ROWS_PER_UPSERT as u64 * 2 + 1).map(row).collect();
        let params = upsert_params(&rows);
        assert_eq!(params.len(), 3);
        assert!(upsert_params(&[]).is_empty());
        let mut back = Vec::new();
        for p in &params {
            // The same shape as glue.js' tallies, flattened.
            let values: Vec<Vec<serde_json::Value>> = serde_json::from_str(p).unwrap();
            for v in values {
                assert_eq!(v.len(), 4 + COUNTERS);
                let counters: Vec<u64> = v[4..].iter().map(|c| c.as_u64().unwrap()).collect();
                back.push(Row {
                    window_start: v[0].as_u64().unwrap(),
                    version: v[1].as_str().unwrap().into(),
                    route: v[2].as_str().unwrap().into(),
                    upstream: v[3].as_str().unwrap().into(),
                    totals: Totals::from_counters(counters.try_into().unwrap()),
                });
            }
        }
        assert_eq!(back, rows);
    }

    #[test]
    fn d1_rows_become_totals() {
        let columns = |version: &str, requests: u64, s5xx: u64| {
            let mut obj = serde_json::json!({ "version": version });
            for (i, c) in COUNTER_COLUMNS.iter().enumerate() {
                obj[c] = serde_json::json!(match i {
                    0 => requests,
                    5 => s5xx,
                    7 => 10 * requests,
                    8 => requests,
                    _ => 0,
                });
            }
            obj
        };
        let rows: Vec<VersionTotals> = serde_json::from_value(serde_json::json!([
            columns("v1", 100, 2),
            columns("v2", 10, 5)
        ]))
        .unwrap();
        let stable = VersionTotals::of(&rows, "v1");
        let candidate = VersionTotals::of(&rows, "v2");
        assert_eq!((stable.requests, stable.classes[4]), (100, 2));
        assert_eq!(candidate.error_rate(), 0.5);
        assert_eq!(candidate.mean_ms(), Some(10.0));
        assert_eq!(VersionTotals::of(&rows, "v3"), Totals::default());

        let mut step = columns("v1", 4, 1);
        step["window_start"] = serde_json::json!(60_000);
        step["route"] = serde_json::json!("orders-get");
        step["upstream"] = serde_json::json!("orders");
        let row: Row = serde_json::from_value(step).unwrap();
        assert_eq!(
            (
                row.window_start,
                row.route.as_str(),
                row.totals.requests,
                row.totals.classes[4]
            ),
            (60_000, "orders-get", 4, 1)
        );
    }
}
