//! The validated route table and its lookup: host, then path (matchit), then method, then the
//! routes' conditions.
//!
//! A [`RouteTable`] is only ever built by validation ([`RouteTable::try_from`] a
//! [`RouteDocument`]), so every route in it names an existing upstream, has a path matchit
//! accepted and a timeout within bounds, and no two routes can both serve one request.

pub mod document;
mod methods;
mod router;
pub mod source;
mod validate;

pub use document::{version_key, ACTIVE_KEY, FORMAT, MIN_FORMAT, POLICIES_FORMAT};
pub use document::{
    AccessSecrets, AllUnhealthy, OriginSpec, RewriteSpec, RouteDocument, RouteSpec, UpstreamSpec,
};
pub use methods::Methods;
pub use validate::{Problem, Subject, ValidationError, ValidationErrors};
pub use validate::{
    HEALTH_TIMEOUT_MAX_MS, MAX_WEIGHT, METHODS, RESERVED_PREFIX, TIMEOUT_MAX_MS, TIMEOUT_MIN_MS,
};

use std::sync::Arc;

use crate::context::RequestContext;
use crate::policy::NamedPolicy;
use crate::rewrite::Rewrite;
use crate::rollout::split::Split;
use crate::rollout::when::When;
use router::PathRouter;

/// A validated, ready-to-match route table.
#[derive(Debug)]
pub struct RouteTable {
    /// The version id this table was published as.
    pub version: String,
    /// Checksum of the table's content.
    pub checksum: String,
    /// The environment its origins belong to.
    pub environment: String,
    upstreams: Vec<Upstream>,
    routes: Vec<Route>,
    policies: Vec<NamedPolicy>,
    default_policies: Vec<usize>,
    by_host: Vec<(String, PathRouter)>,
    any_host: PathRouter,
    /// The distinct `Allow` header values; slots refer to them by index.
    allows: Vec<String>,
}

/// A validated upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Its name in the route table.
    pub name: String,
    /// Where its requests go.
    pub target: Target,
    /// Default response-header timeout, in milliseconds.
    pub timeout_ms: u64,
    /// How its origins are probed and what happens when all are down.
    pub health: HealthPolicy,
    /// Cloudflare Access service token secret names, if the origin is behind Access.
    pub access_secrets: Option<AccessSecrets>,
}

/// An upstream's health check settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Path probed.
    pub path: String,
    /// Probe timeout, in milliseconds.
    pub timeout_ms: u64,
    /// Latency above which a healthy answer is degraded, in milliseconds.
    pub degraded_ms: u64,
    /// What to do when every origin is unhealthy.
    pub all_unhealthy: AllUnhealthy,
}

/// A validated origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Base URL without a trailing slash.
    pub url: String,
    /// Relative share of traffic (0: drained).
    pub weight: u32,
}

/// Where an upstream's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Origins (`https://users.example.com`), weighted.
    Origins(Vec<Origin>),
    /// A service binding (a Fetcher: a Worker or a Workers VPC service).
    Binding(String),
}

/// A validated route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The route's id.
    pub id: String,
    /// Methods served, in the order written; empty means every method in [`METHODS`]
    /// (never `TRACE`, `CONNECT` or an unknown method).
    pub methods: Methods,
    /// The matchit path pattern.
    pub path: String,
    /// The exact host the route is limited to.
    pub host: Option<String>,
    /// Index of its upstream in the table.
    upstream: usize,
    /// The path rewrite, if any (routes with the same rewrite share one).
    pub rewrite: Option<Arc<Rewrite>>,
    /// Effective timeout: the route's own, else its upstream's.
    pub timeout_ms: u64,
    /// The policies it runs — the defaults, then its own — as indices into the table's
    /// policies, in phase order (routes with the same list share one).
    pub policies: Arc<[usize]>,
    /// Whether captures may hold encoded separators ([`RouteMatch::encoded_separator`]).
    pub allow_encoded_separators: bool,
    /// The conditions a request must meet for this route to serve it, if any.
    pub when: Option<Arc<When>>,
    /// The share of its requests sent to other upstreams, if any
    /// ([`RouteTable::choose_upstream`]).
    pub split: Option<Arc<Split>>,
}

impl Route {
    /// Whether the route's conditions hold for `request` (always, for a route without any).
    pub fn serves(&self, request: &RequestContext) -> bool {
        self.when.as_ref().is_none_or(|w| w.holds(request))
    }
}

/// The result of looking a request up in the table.
#[derive(Debug)]
pub enum Lookup<'t, 'p> {
    /// A route serves this request.
    Found(RouteMatch<'t, 'p>),
    /// No route has this path (for this host), or none whose conditions hold.
    NotFound,
    /// The path is routed, but not for this method (no route has it, whatever its
    /// conditions); `allow` is the `Allow` header value.
    MethodNotAllowed {
        /// Comma-separated methods the path accepts.
        allow: &'t str,
    },
}

/// A matched route with its upstream and the captured path parameters.
#[derive(Debug)]
pub struct RouteMatch<'t, 'p> {
    /// The route that matched.
    pub route: &'t Route,
    /// The route's own upstream (a split may choose another: [`RouteTable::choose_upstream`]).
    pub upstream: &'t Upstream,
    /// Captured path parameters, still percent-encoded as received.
    pub params: matchit::Params<'t, 'p>,
}

impl RouteMatch<'_, '_> {
    /// The first captured parameter holding an encoded slash or backslash (`%2F`, `%5C`) or
    /// an encoded dot-segment (`%2E%2E`, `.%2E`, `%2E.`, `%2E`), unless the route allows them.
    /// The runtime resolves plain dot-segments before the worker sees the URL; these reach an
    /// origin as data that its framework might decode and normalise into another path.
    pub fn encoded_separator(&self) -> Option<&str> {
        if self.route.allow_encoded_separators {
            return None;
        }
        self.params
            .iter()
            .find(|(_, value)| has_encoded_separator(value))
            .map(|(name, _)| name)
    }
}

/// Whether a raw (still percent-encoded) value holds `%2F`, `%5C`, or a `/`-separated segment
/// that is `.` or `..` once `%2E` is decoded.
pub fn has_encoded_separator(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return true;
    }
    lower.contains("%2e")
        && lower
            .split('/')
            .any(|segment| matches!(segment.replace("%2e", ".").as_str(), "." | ".."))
}

impl RouteTable {
    /// Finds the route for a request, evaluating the routes' conditions against it.
    pub fn lookup_request<'t, 'p>(&'t self, request: &'p RequestContext) -> Lookup<'t, 'p> {
        self.lookup_where(request.host(), &request.method, request.path(), |route| {
            route.serves(request)
        })
    }

    /// Finds the route for a request known only by host, method and path: routes with
    /// conditions never match. `host` may carry a port; `path` is the raw URL path.
    pub fn lookup<'t, 'p>(&'t self, host: &str, method: &str, path: &'p str) -> Lookup<'t, 'p> {
        self.lookup_where(host, method, path, |route| route.when.is_none())
    }

    /// Finds the first route for host, method and path that `accept`s: the routes of a
    /// method are tried with conditions first, in table order, then the one without. `HEAD`
    /// falls back to the `GET` routes. Nothing accepted: 404, or 405 when no route at all
    /// has the method.
    pub fn lookup_where<'t, 'p>(
        &'t self,
        host: &str,
        method: &str,
        path: &'p str,
        accept: impl Fn(&Route) -> bool,
    ) -> Lookup<'t, 'p> {
        let host = strip_port(host);
        let host_router = self
            .by_host
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host))
            .map(|(_, r)| r);
        let found = host_router
            .and_then(|r| r.matcher.at(path).ok().map(|m| (r, m)))
            .or_else(|| {
                self.any_host
                    .matcher
                    .at(path)
                    .ok()
                    .map(|m| (&self.any_host, m))
            });
        let Some((router, matched)) = found else {
            return Lookup::NotFound;
        };
        let slot = &router.slots[*matched.value];
        let mut routed = false;
        let mut route_for = |wanted: &str| {
            let candidates =
                methods::method_index(wanted).map_or(&[][..], |m| router.routes(slot, m));
            routed |= !candidates.is_empty();
            candidates
                .iter()
                .map(|&i| &self.routes[i as usize])
                .find(|route| accept(route))
        };
        // HEAD is served by the GET route, as every HTTP server does.
        let route =
            route_for(method).or_else(|| (method == "HEAD").then(|| route_for("GET")).flatten());
        match route {
            Some(route) => Lookup::Found(RouteMatch {
                route,
                upstream: &self.upstreams[route.upstream],
                params: matched.params,
            }),
            None if routed => Lookup::NotFound,
            None => Lookup::MethodNotAllowed {
                allow: &self.allows[usize::from(slot.allow)],
            },
        }
    }

    /// The upstream that serves `request` on `route`: its own, or the one its split chooses
    /// (sticky by the split's key, else the client IP, else `random` in `[0, 1)`; the
    /// override header wins). `consumer` is who authentication established, if anyone.
    pub fn choose_upstream(
        &self,
        route: &Route,
        request: &RequestContext,
        consumer: Option<&str>,
        random: f64,
    ) -> &Upstream {
        match &route.split {
            Some(split) => &self.upstreams[split.choose_for(request, consumer, random)],
            None => self.upstream_of(route),
        }
    }

    /// Routes in table order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Upstreams in name order.
    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// The table's policies (routes refer to them by index).
    pub fn policies(&self) -> &[NamedPolicy] {
        &self.policies
    }

    /// The default policies, in phase order (they also answer unrouted requests).
    pub fn default_policies(&self) -> &[usize] {
        &self.default_policies
    }

    /// The upstream a route forwards to.
    pub fn upstream_of(&self, route: &Route) -> &Upstream {
        &self.upstreams[route.upstream]
    }
}

/// `api.example.com:8443` → `api.example.com`; IPv6 literals keep their brackets.
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}
