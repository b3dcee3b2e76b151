//! Shadow evaluation: a candidate table loaded beside the active one, never serving. Every
//! request is also looked up in the candidate (pure, from memory), and where the two would
//! handle it differently — another route, upstream, rewritten path, or a 404/405 on one side —
//! the difference is counted per kind with one sample path, and flushed into D1
//! (`shadow_diffs`) with the traffic statistics. `gatewayctl shadow report` reads it back
//! (`history::SELECT_SHADOW_DIFFS`).

use std::collections::HashMap;

use crate::rewrite::{Piece, Rewrite};
use crate::table::{Lookup, Route, RouteTable};

/// How a table would handle a request, as far as a shadow comparison cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'t> {
    /// A route serves it.
    Routed(&'t Route),
    /// No route has the path: 404.
    NotFound,
    /// The path is routed, not for this method: 405.
    MethodNotAllowed,
}

impl<'t> Outcome<'t> {
    /// The outcome of a lookup.
    pub fn of(lookup: &Lookup<'t, '_>) -> Self {
        match lookup {
            Lookup::Found(m) => Self::Routed(m.route),
            Lookup::NotFound => Self::NotFound,
            Lookup::MethodNotAllowed { .. } => Self::MethodNotAllowed,
        }
    }
}

/// What differs between the active and the shadow outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Another route would serve it.
    Route,
    /// The same route, to other upstreams (or another split).
    Upstream,
    /// The same route and upstreams, with another origin path.
    Path,
    /// One side routes it, the other answers 404/405 (or they answer 404 and 405).
    Status,
}

impl Kind {
    /// Its name in `shadow_diffs.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::Upstream => "upstream",
            Self::Path => "path",
            Self::Status => "status",
        }
    }
}

/// One difference: how each table handles the request, rendered for a report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Difference {
    /// What differs.
    pub kind: Kind,
    /// The active route id, or `404`/`405`.
    pub route: String,
    /// The shadow route id, or `404`/`405`.
    pub shadow_route: String,
    /// Where the active table sends it (`orders /orders/7`), or its status.
    pub active_target: String,
    /// Where the shadow table would send it.
    pub shadow_target: String,
}

/// A request as both tables see it: method, raw path and the lookup in each table.
pub struct Compared<'a, 't, 's> {
    /// The active table.
    pub active: &'t RouteTable,
    /// The active lookup.
    pub active_lookup: &'a Lookup<'t, 'a>,
    /// The shadow table.
    pub shadow: &'s RouteTable,
    /// The shadow lookup.
    pub shadow_lookup: &'a Lookup<'s, 'a>,
    /// The request's raw path.
    pub path: &'a str,
}

/// The difference between the two lookups, if any. Cheap when they agree on a route with the
/// same pattern and rewrite (the common case): no path is rendered.
pub fn compare(c: &Compared<'_, '_, '_>) -> Option<Difference> {
    let (a, s) = (Outcome::of(c.active_lookup), Outcome::of(c.shadow_lookup));
    match (a, s) {
        (Outcome::NotFound, Outcome::NotFound)
        | (Outcome::MethodNotAllowed, Outcome::MethodNotAllowed) => None,
        (Outcome::Routed(ar), Outcome::Routed(sr)) => {
            let upstreams = (targets(c.active, ar), targets(c.shadow, sr));
            let same_path = ar.path == sr.path && ar.rewrite == sr.rewrite;
            let kind = if ar.id != sr.id {
                Kind::Route
            } else if upstreams.0 != upstreams.1 {
                Kind::Upstream
            } else if same_path {
                return None;
            } else {
                Kind::Path
            };
            if kind == Kind::Path
                && origin_path(c.active_lookup, c.path) == origin_path(c.shadow_lookup, c.path)
            {
                return None;
            }
            Some(Difference {
                kind,
                route: ar.id.clone(),
                shadow_route: sr.id.clone(),
                active_target: format!("{} {}", upstreams.0, origin_template(ar)),
                shadow_target: format!("{} {}", upstreams.1, origin_template(sr)),
            })
        }
        _ => {
            let render = |o: Outcome<'_>, table: &RouteTable| match o {
                Outcome::Routed(r) => (
                    r.id.clone(),
                    format!("{} {}", targets(table, r), origin_template(r)),
                ),
                Outcome::NotFound => ("404".to_owned(), "404".to_owned()),
                Outcome::MethodNotAllowed => ("405".to_owned(), "405".to_owned()),
            };
            let (route, active_target) = render(a, c.active);
            let (shadow_route, shadow_target) = render(s, c.shadow);
            Some(Difference {
                kind: Kind::Status,
                route,
                shadow_route,
                active_target,
                shadow_target,
            })
        }
    }
}

/// The upstream a route sends to, with its split if it has one (`orders`, or
/// `orders 90% | orders-v2 10%`).
fn targets(table: &RouteTable, route: &Route) -> String {
    let Some(split) = &route.split else {
        return table.upstream_of(route).name.clone();
    };
    let upstreams = table.upstreams();
    split
        .shares()
        .map(|(i, bp)| format!("{} {}%", upstreams[i].name, f64::from(bp) / 100.0))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The origin path of a route as a pattern (`/orders/{id}`): differences are grouped per
/// route, not per concrete path (each keeps a sample path).
fn origin_template(route: &Route) -> String {
    match route.rewrite.as_deref() {
        Some(Rewrite::Template(pieces)) => pieces
            .iter()
            .map(|piece| match piece {
                Piece::Literal(text) => text.clone(),
                Piece::Param(name) => format!("{{{name}}}"),
            })
            .collect(),
        Some(strip) => strip.apply(&route.path, |_| None),
        None => route.path.clone(),
    }
}

/// The origin path a found route would use (the raw path when the lookup found nothing).
fn origin_path(lookup: &Lookup<'_, '_>, path: &str) -> String {
    match lookup {
        Lookup::Found(m) => match &m.route.rewrite {
            Some(rewrite) => rewrite.apply(path, |name| m.params.get(name)),
            None => path.to_owned(),
        },
        _ => path.to_owned(),
    }
}

/// The most distinct differences an isolate keeps between flushes (more are counted in
/// [`Tally::dropped`]): a shadow that disagrees on every path must not grow without bound.
pub const MAX_DISTINCT: usize = 512;

/// Differences seen by one isolate since its last flush, per (active version, shadow version,
/// method, difference).
#[derive(Debug, Default)]
pub struct Tally {
    seen: HashMap<(String, String, String, Difference), (u64, String)>,
    /// Differences not kept because [`MAX_DISTINCT`] were already held.
    pub dropped: u64,
    /// Requests compared since the last flush.
    pub compared: u64,
}

/// One row to add into `shadow_diffs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The version that served.
    pub version: String,
    /// The version evaluated in the shadow.
    pub shadow: String,
    /// The request method.
    pub method: String,
    /// The difference.
    pub difference: Difference,
    /// The first path that showed it.
    pub sample_path: String,
    /// How many requests showed it.
    pub requests: u64,
}

impl Tally {
    /// Counts one request compared between versions `versions` (active, shadow) and, if the
    /// tables disagree, its difference.
    pub fn add(
        &mut self,
        versions: (&str, &str),
        method: &str,
        path: &str,
        difference: Option<Difference>,
    ) {
        self.compared += 1;
        let Some(difference) = difference else { return };
        let key = (
            versions.0.to_owned(),
            versions.1.to_owned(),
            method.to_owned(),
            difference,
        );
        if let Some(entry) = self.seen.get_mut(&key) {
            entry.0 += 1;
        } else if self.seen.len() < MAX_DISTINCT {
            self.seen.insert(key, (1, path.to_owned()));
        } else {
            self.dropped += 1;
        }
    }

    /// Whether anything was compared since the last [`Tally::take`].
    pub fn is_empty(&self) -> bool {
        self.compared == 0
    }

    /// The rows to flush, leaving the tally empty.
    pub fn take(&mut self) -> Vec<Row> {
        self.compared = 0;
        self.dropped = 0;
        let mut rows: Vec<Row> = self
            .seen
            .drain()
            .map(
                |((version, shadow, method, difference), (requests, sample_path))| Row {
                    version,
                    shadow,
                    method,
                    difference,
                    sample_path,
                    requests,
                },
            )
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.requests));
        rows
    }
}

/// Adds rows' counts: ?1 is a JSON array of rows ([`upsert_param`]), each an array of window
/// start (ms), active version, shadow version, method, route, shadow route, kind, active
/// target, shadow target, sample path and requests. A row that exists gets the count added.
pub const UPSERT_DIFFS: &str = "INSERT INTO shadow_diffs (window_start, version, shadow, \
     method, route, shadow_route, kind, active_target, shadow_target, sample_path, requests) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10 FROM json_each(?1) \
     WHERE true ON CONFLICT (window_start, version, shadow, method, route, shadow_route, kind, \
     active_target, shadow_target) DO UPDATE SET requests = requests + excluded.requests";

/// The ?1 of [`UPSERT_DIFFS`] for `rows` counted in the window starting at `window_start`.
pub fn upsert_param(window_start: u64, rows: &[Row]) -> String {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            let d = &r.difference;
            (
                window_start,
                &r.version,
                &r.shadow,
                &r.method,
                &d.route,
                &d.shadow_route,
                d.kind.as_str(),
                &d.active_target,
                &d.shadow_target,
                &r.sample_path,
                r.requests,
            )
        })
        .collect();
    serde_json::to_string(&rows).expect("rows always serialise")
}

/// Rows older than ?1 (ms) are pruned with the traffic statistics.
pub const PRUNE_DIFFS: &str = "DELETE FROM shadow_diffs WHERE window_start < ?1";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::RouteDocument;

    fn table(routes: &str) -> RouteTable {
        let doc = format!(
            r#"{{"format":1,"version":"v","environment":"test",
            "upstreams":{{"orders":{{"origins":["http://127.0.0.1:1"],"timeout_ms":1000,"health_path":"/h"}},
                          "orders-v2":{{"origins":["http://127.0.0.1:2"],"timeout_ms":1000,"health_path":"/h"}}}},
            "routes":[{routes}]}}"#
        );
        RouteTable::try_from(RouteDocument::from_json(&doc).unwrap()).unwrap()
    }

    const ACTIVE: &str = r#"{"id":"orders-get","methods":["GET"],"path":"/api/orders/{id}","upstream":"orders","rewrite":{"strip_prefix":"/api"}},
        {"id":"health","methods":["GET"],"path":"/api/health","upstream":"orders"}"#;

    fn diff(
        active: &RouteTable,
        shadow: &RouteTable,
        method: &str,
        path: &str,
    ) -> Option<Difference> {
        let a = active.lookup("gw", method, path);
        let s = shadow.lookup("gw", method, path);
        compare(&Compared {
            active,
            active_lookup: &a,
            shadow,
            shadow_lookup: &s,
            path,
        })
    }

    #[test]
    fn classifies_every_kind_of_difference() {
        let active = table(ACTIVE);
        let cases = [
            ("same table", ACTIVE, "GET", "/api/orders/7", None),
            (
                "another upstream",
                r#"{"id":"orders-get","methods":["GET"],"path":"/api/orders/{id}","upstream":"orders-v2","rewrite":{"strip_prefix":"/api"}}"#,
                "GET",
                "/api/orders/7",
                Some((
                    Kind::Upstream,
                    "orders-get",
                    "orders-get",
                    "orders /orders/{id}",
                    "orders-v2 /orders/{id}",
                )),
            ),
            (
                "another path",
                r#"{"id":"orders-get","methods":["GET"],"path":"/api/orders/{id}","upstream":"orders","rewrite":{"template":"/v2/orders/{id}"}}"#,
                "GET",
                "/api/orders/7",
                Some((
                    Kind::Path,
                    "orders-get",
                    "orders-get",
                    "orders /orders/{id}",
                    "orders /v2/orders/{id}",
                )),
            ),
            (
                "another route",
                r#"{"id":"orders-one","methods":["GET"],"path":"/api/orders/{id}","upstream":"orders","rewrite":{"strip_prefix":"/api"}}"#,
                "GET",
                "/api/orders/7",
                Some((
                    Kind::Route,
                    "orders-get",
                    "orders-one",
                    "orders /orders/{id}",
                    "orders /orders/{id}",
                )),
            ),
            (
                "route removed",
                r#"{"id":"health","methods":["GET"],"path":"/api/health","upstream":"orders"}"#,
                "GET",
                "/api/orders/7",
                Some((
                    Kind::Status,
                    "orders-get",
                    "404",
                    "orders /orders/{id}",
                    "404",
                )),
            ),
            (
                "method removed",
                r#"{"id":"orders-get","methods":["POST"],"path":"/api/orders/{id}","upstream":"orders"}"#,
                "GET",
                "/api/orders/7",
                Some((
                    Kind::Status,
                    "orders-get",
                    "405",
                    "orders /orders/{id}",
                    "405",
                )),
            ),
            ("unrouted on both", ACTIVE, "GET", "/nowhere", None),
        ];
        for (name, shadow, method, path, want) in cases {
            let shadow = table(shadow);
            let got = diff(&active, &shadow, method, path).map(|d| {
                (
                    d.kind,
                    d.route,
                    d.shadow_route,
                    d.active_target,
                    d.shadow_target,
                )
            });
            let want = want.map(|(k, r, sr, at, st)| {
                (k, r.to_owned(), sr.to_owned(), at.to_owned(), st.to_owned())
            });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn a_path_change_that_renders_the_same_is_no_difference() {
        let active = table(ACTIVE);
        let shadow = table(
            r#"{"id":"orders-get","methods":["GET"],"path":"/api/orders/{id}","upstream":"orders","rewrite":{"template":"/orders/{id}"}}"#,
        );
        assert_eq!(diff(&active, &shadow, "GET", "/api/orders/7"), None);
    }

    #[test]
    fn the_tally_counts_per_difference_keeps_a_sample_and_is_bounded() {
        let active = table(ACTIVE);
        let shadow = table(
            r#"{"id":"orders-get","methods":["GET"],"path":"/api/orders/{id}","upstream":"orders-v2","rewrite":{"strip_prefix":"/api"}}"#,
        );
        let mut tally = Tally::default();
        for id in 0..5 {
            let path = format!("/api/orders/{id}");
            tally.add(
                ("a", "s"),
                "GET",
                &path,
                diff(&active, &shadow, "GET", &path),
            );
        }
        tally.add(
            ("a", "s"),
            "GET",
            "/nowhere",
            diff(&active, &shadow, "GET", "/nowhere"),
        );
        assert_eq!(tally.compared, 6);
        let rows = tally.take();
        // One difference per route, whatever the id; the first path is its sample.
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].requests, rows[0].sample_path.as_str()),
            (5, "/api/orders/0")
        );
        assert!(tally.is_empty());

        for i in 0..MAX_DISTINCT + 10 {
            let d = Difference {
                kind: Kind::Route,
                route: format!("r{i}"),
                shadow_route: "s".into(),
                active_target: String::new(),
                shadow_target: String::new(),
            };
            tally.add(("a", "s"), "GET", "/", Some(d));
        }
        assert_eq!(tally.dropped, 10);
        assert_eq!(tally.take().len(), MAX_DISTINCT);
    }
}
