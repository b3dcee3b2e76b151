//! The admin API's routing and authentication: everything under `/__gateway/` is the
//! gateway's own, never forwarded. The operator console's static files need no token; every
//! other endpoint needs `Authorization: Bearer <ADMIN_TOKEN>`.
//!
//! - [`console`]: the console's embedded files and their headers (a strict CSP).
//! - [`release`]: `GET /__gateway/release` and what the write endpoints answer.
//! - [`actions`]: `POST /__gateway/rollback`, `/promote`, `/abort` — their bodies, checks and
//!   refusals (the transitions themselves are [`crate::rollout::transition`]'s).
//! - [`query`]: the query strings of `GET /__gateway/diff` and `/__gateway/health/history`.

pub mod actions;
pub mod console;
pub mod query;
pub mod release;

use std::borrow::Cow;

use crate::problem::Answer;
use crate::table::RESERVED_PREFIX;

pub use console::Asset;

/// An admin endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /__gateway/health`: latest snapshot per origin and the overall status.
    Health,
    /// `GET /__gateway/health/history`: snapshots per origin over a time range.
    HealthHistory,
    /// `GET /__gateway/routes`: the active version and its routes.
    Routes,
    /// `GET /__gateway/versions`: publish and rollback history.
    Versions,
    /// `GET /__gateway/stats`: traffic statistics per version, route and upstream.
    Stats,
    /// `GET /__gateway/release`: the release in force (stable, canary, shadow).
    Release,
    /// `GET /__gateway/diff`: what changes between two versions.
    Diff,
    /// `POST /__gateway/rollback`: an earlier version made stable again.
    Rollback,
    /// `POST /__gateway/promote`: the canary's candidate made stable.
    Promote,
    /// `POST /__gateway/abort`: the canary dropped.
    Abort,
    /// `GET /__gateway/`, `/__gateway/console.js`, `/__gateway/console.css`: the console.
    Console(Asset),
}

impl Endpoint {
    /// The methods it answers, as an `Allow` header says them.
    pub fn allow(self) -> &'static str {
        match self {
            Self::Rollback | Self::Promote | Self::Abort => "POST",
            _ => "GET, HEAD",
        }
    }

    /// Whether it answers `method`.
    pub fn accepts(self, method: &str) -> bool {
        match self {
            Self::Rollback | Self::Promote | Self::Abort => method == "POST",
            _ => matches!(method, "GET" | "HEAD"),
        }
    }

    /// Whether it needs the bearer token: all but the console's static files.
    pub fn needs_token(self) -> bool {
        !matches!(self, Self::Console(_))
    }
}

/// Where an admin request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRoute {
    /// A known endpoint, with an allowed method.
    Endpoint(Endpoint),
    /// Under the prefix, but no such endpoint.
    NotFound,
    /// A known endpoint with another method; `allow` lists those it answers.
    MethodNotAllowed {
        /// The `Allow` header.
        allow: &'static str,
    },
    /// `/__gateway` itself: a permanent redirect to the console at `location`.
    Redirect {
        /// Where to.
        location: &'static str,
    },
}

/// `Some` for any path under the reserved prefix; `None` sends the request to routing.
pub fn route(method: &str, path: &str) -> Option<AdminRoute> {
    let rest = path.strip_prefix(RESERVED_PREFIX)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let endpoint = match rest {
        "" => {
            return Some(AdminRoute::Redirect {
                location: console::CONSOLE_PATH,
            })
        }
        "/health" => Endpoint::Health,
        "/health/history" => Endpoint::HealthHistory,
        "/routes" => Endpoint::Routes,
        "/versions" => Endpoint::Versions,
        "/stats" => Endpoint::Stats,
        "/release" => Endpoint::Release,
        "/diff" => Endpoint::Diff,
        "/rollback" => Endpoint::Rollback,
        "/promote" => Endpoint::Promote,
        "/abort" => Endpoint::Abort,
        _ => match Asset::at(rest) {
            Some(asset) => Endpoint::Console(asset),
            None => return Some(AdminRoute::NotFound),
        },
    };
    Some(if endpoint.accepts(method) {
        AdminRoute::Endpoint(endpoint)
    } else {
        AdminRoute::MethodNotAllowed {
            allow: endpoint.allow(),
        }
    })
}

/// 400 for an admin request whose query string is unusable; `detail` says why.
pub fn bad_query(detail: &'static str, request_id: &str) -> Answer {
    Answer {
        title: Some("Bad Request"),
        detail: Some(Cow::Borrowed(detail)),
        ..Answer::empty(400, request_id)
    }
}

/// Whether `authorization` carries the bearer `token`. A missing or empty token never
/// authorizes. The comparison takes the same time wherever the first difference is.
pub fn authorized(authorization: Option<&str>, token: Option<&str>) -> bool {
    let (Some(header), Some(token)) = (authorization, token.filter(|t| !t.is_empty())) else {
        return false;
    };
    let Some((scheme, presented)) = header.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && constant_time_eq(presented.trim().as_bytes(), token.as_bytes())
}

/// Compares two byte strings without an early exit on the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0
}

/// `GET /__gateway/health`.
#[derive(Debug, serde::Serialize, PartialEq)]
pub struct HealthReport<'a> {
    /// Overall status of the fresh snapshots, or `unknown` without any.
    pub status: &'static str,
    /// The newest snapshot's time, ms since the epoch.
    pub checked_at: Option<i64>,
    /// How old a snapshot may be and still count, ms.
    pub fresh_ms: u64,
    /// The route table version whose origins are listed.
    pub route_version: &'a str,
    /// One entry per origin of the table.
    pub origins: Vec<OriginHealth<'a>>,
}

/// One origin in a [`HealthReport`].
#[derive(Debug, serde::Serialize, PartialEq)]
pub struct OriginHealth<'a> {
    /// Upstream name.
    pub upstream: &'a str,
    /// Origin base URL or binding name.
    pub origin: &'a str,
    /// Latest status, or `unknown` when never probed.
    pub status: &'a str,
    /// HTTP status of the latest probe.
    pub http_status: Option<i64>,
    /// Latency of the latest probe, ms.
    pub latency_ms: Option<i64>,
    /// When it was probed, ms since the epoch.
    pub checked_at: Option<i64>,
    /// Why.
    pub detail: &'a str,
    /// Probed within the freshness window (only fresh snapshots steer traffic).
    pub fresh: bool,
}

/// The health report for the origins of `table`, from the latest snapshots.
pub fn health_report<'a>(
    table: &'a crate::table::RouteTable,
    targets: &'a [crate::health::ProbeTarget],
    latest: &'a [crate::health::Snapshot],
    now_ms: f64,
    fresh_ms: f64,
) -> HealthReport<'a> {
    let origins: Vec<OriginHealth<'a>> = targets
        .iter()
        .map(|t| {
            let row = latest
                .iter()
                .find(|r| r.upstream == t.upstream && r.origin == t.origin);
            OriginHealth {
                upstream: &t.upstream,
                origin: &t.origin,
                status: row.map_or("unknown", |r| r.status.as_str()),
                http_status: row.and_then(|r| r.http_status),
                latency_ms: row.map(|r| r.latency_ms),
                checked_at: row.map(|r| r.checked_at),
                detail: row.map_or("", |r| r.detail.as_str()),
                fresh: row.is_some_and(|r| now_ms - r.checked_at as f64 <= fresh_ms),
            }
        })
        .collect();
    let fresh: Vec<crate::health::Status> = origins
        .iter()
        .filter(|o| o.fresh)
        .filter_map(|o| crate::health::Status::parse(o.status))
        .collect();
    HealthReport {
        status: if fresh.is_empty() {
            "unknown"
        } else {
            crate::health::overall(fresh).as_str()
        },
        checked_at: latest.iter().map(|r| r.checked_at).max(),
        fresh_ms: fresh_ms as u64,
        route_version: &table.version,
        origins,
    }
}

/// `GET /__gateway/versions`.
#[derive(Debug, serde::Serialize)]
pub struct VersionsReport<'a> {
    /// The environment.
    pub environment: &'a str,
    /// The version of the latest activation, if any.
    pub active_version: Option<&'a str>,
    /// Versions, newest first.
    pub versions: &'a [crate::history::VersionRecord],
    /// Activations, newest first.
    pub activations: &'a [crate::history::Activation],
}

/// `GET /__gateway/diff?from=V1&to=V2`: what changes from one version to the other.
#[derive(Debug, serde::Serialize)]
pub struct DiffReport<'a> {
    /// The environment.
    pub environment: &'a str,
    /// The old version.
    pub from: &'a str,
    /// The new version.
    pub to: &'a str,
    /// Changes, samples tried and the samples that move.
    #[serde(flatten)]
    pub diff: &'a crate::diff::Diff,
}

/// `GET /__gateway/routes`: the served document is embedded as stored (already JSON).
pub fn routes_report(
    serving: &str,
    active: Option<&str>,
    environment: &str,
    route_count: usize,
    document: &str,
) -> String {
    let text = |s: &str| serde_json::to_string(s).expect("a string always serialises");
    format!(
        "{{\"serving_version\":{},\"active_version\":{},\"environment\":{},\"route_count\":{route_count},\"document\":{document}}}",
        text(serving),
        active.map_or_else(|| "null".to_owned(), text),
        text(environment),
    )
}
