//! The `cors` policy: which browser origins may call a route. Preflights are answered at the
//! edge and never reach an origin; the one matching origin is echoed with `Vary: Origin`
//! (never a list); the CORS headers also go on the gateway's own error answers, so a browser
//! can read a 401 or a 429.

use serde::{Deserialize, Serialize};

use super::{is_header_name, Check, Exchange, Phase, Policy, Rejection, Spec, Verdict};
use crate::context::{HeaderOp, RequestContext};
use crate::problem::GatewayError;
use crate::table::METHODS;
use crate::table::{Lookup, Route, RouteTable};

/// The longest preflight cache time browsers honour (Firefox: 24 h).
pub const MAX_AGE_MAX_S: u64 = 86_400;

/// The `cors` policy as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSpec {
    /// `https://app.example.com`, `https://*.example.com` (any subdomain), or `*`.
    pub allow_origins: Vec<String>,
    /// Methods allowed cross-origin (default: those of the route).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_methods: Vec<String>,
    /// Request headers allowed cross-origin (lower case; `*` for any, without credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    /// Response headers a browser script may read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Allow cookies and credentials (`Access-Control-Allow-Credentials: true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_s: Option<u64>,
}

/// An allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginRule {
    /// Any origin (`*`).
    Any,
    /// Exactly this origin.
    Exact(String),
    /// `scheme://` + any subdomain of `.suffix` (+ `:port`, if any).
    Subdomains {
        /// `https://`.
        scheme: String,
        /// `.example.com` (with the port, if one was written).
        suffix: String,
    },
}

impl OriginRule {
    /// Whether `origin` (as a browser sends it) matches.
    pub fn matches(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(o) => o == origin,
            Self::Subdomains { scheme, suffix } => origin
                .strip_prefix(scheme.as_str())
                .and_then(|host| host.strip_suffix(suffix.as_str()))
                .is_some_and(|sub| {
                    !sub.is_empty()
                        && sub.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)
                        })
                        && !sub.starts_with('.')
                        && !sub.ends_with('.')
                }),
        }
    }
}

/// A validated CORS policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins.
    pub origins: Vec<OriginRule>,
    /// Allowed methods (empty: the route's).
    pub methods: Vec<String>,
    /// Allowed request headers, lower case (`*`: any).
    pub headers: Vec<String>,
    /// `Access-Control-Expose-Headers`, joined.
    pub expose: Option<String>,
    /// Whether credentials are allowed.
    pub credentials: bool,
    /// `Access-Control-Max-Age`.
    pub max_age_s: Option<u64>,
}

fn origin_rule(text: &str) -> Result<OriginRule, String> {
    if text == "*" {
        return Ok(OriginRule::Any);
    }
    let bad = || {
        format!(
            "allow_origins: `{text}` must be `*` or scheme://host[:port] in lower case, without a path (`https://*.example.com` for subdomains)"
        )
    };
    let (scheme, host) = text.split_once("://").ok_or_else(bad)?;
    let scheme_ok = matches!(scheme, "http" | "https");
    let host_ok = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b))
    };
    match host.strip_prefix("*.") {
        Some(rest) if scheme_ok && host_ok(rest) && rest.contains('.') => {
            Ok(OriginRule::Subdomains {
                scheme: format!("{scheme}://"),
                suffix: format!(".{rest}"),
            })
        }
        None if scheme_ok && host_ok(host) => Ok(OriginRule::Exact(text.to_owned())),
        _ => Err(bad()),
    }
}

impl Spec for CorsSpec {
    type Checked = Cors;

    fn validate(self) -> Result<Cors, Vec<String>> {
        let mut problems = Vec::new();
        if self.allow_origins.is_empty() {
            problems.push("allow_origins must list at least one origin".into());
        }
        let origins: Vec<OriginRule> = self
            .allow_origins
            .iter()
            .filter_map(|o| origin_rule(o).map_err(|e| problems.push(e)).ok())
            .collect();
        if self.allow_credentials && origins.contains(&OriginRule::Any) {
            problems.push("allow_origins `*` cannot be combined with allow_credentials".into());
        }
        for m in &self.allow_methods {
            if !METHODS.contains(&m.as_str()) {
                problems.push(format!(
                    "allow_methods: `{m}` is not one of {}",
                    METHODS.join(", ")
                ));
            }
        }
        for h in self.allow_headers.iter().chain(&self.expose_headers) {
            if h != "*" && !is_header_name(h) {
                problems.push(format!("`{h}` is not a lower-case header name"));
            }
        }
        if self.allow_credentials && self.allow_headers.iter().any(|h| h == "*") {
            problems.push("allow_headers `*` cannot be combined with allow_credentials".into());
        }
        if let Some(age) = self.max_age_s.filter(|a| *a > MAX_AGE_MAX_S) {
            problems.push(format!("max_age_s = {age} is above {MAX_AGE_MAX_S}"));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Cors {
            origins,
            methods: self.allow_methods,
            headers: self.allow_headers,
            expose: (!self.expose_headers.is_empty()).then(|| self.expose_headers.join(", ")),
            credentials: self.allow_credentials,
            max_age_s: self.max_age_s,
        })
    }
}

impl Cors {
    /// Whether `origin` may call.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|r| r.matches(origin))
    }

    /// The headers on every response to an allowed origin (errors included).
    pub fn response_headers(&self, origin: &str) -> Vec<HeaderOp> {
        let mut ops = vec![HeaderOp::Set(
            "access-control-allow-origin".into(),
            origin.to_owned(),
        )];
        if self.credentials {
            ops.push(HeaderOp::Set(
                "access-control-allow-credentials".into(),
                "true".into(),
            ));
        }
        if let Some(expose) = &self.expose {
            ops.push(HeaderOp::Set(
                "access-control-expose-headers".into(),
                expose.clone(),
            ));
        }
        ops
    }

    /// The answer to a preflight from `origin` asking for `method` and `headers`
    /// (`Access-Control-Request-*`), or why it is refused.
    pub fn preflight(
        &self,
        origin: &str,
        method: &str,
        headers: Option<&str>,
    ) -> Result<Vec<(String, String)>, String> {
        if !self.allows(origin) {
            return Err(format!("origin {origin} is not allowed"));
        }
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m == method) {
            return Err(format!("method {method} is not allowed cross-origin"));
        }
        let asked: Vec<String> = headers
            .unwrap_or("")
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let any = self.headers.iter().any(|h| h == "*");
        if let Some(h) = asked.iter().find(|h| !any && !self.headers.contains(h)) {
            return Err(format!("header {h} is not allowed cross-origin"));
        }
        let mut out: Vec<(String, String)> = self
            .response_headers(origin)
            .into_iter()
            .filter_map(|op| match op {
                HeaderOp::Set(n, v) if n != "access-control-expose-headers" => Some((n, v)),
                _ => None,
            })
            .collect();
        let methods = if self.methods.is_empty() {
            method.to_owned()
        } else {
            self.methods.join(", ")
        };
        out.push(("access-control-allow-methods".into(), methods));
        if !asked.is_empty() {
            out.push(("access-control-allow-headers".into(), asked.join(", ")));
        }
        if let Some(age) = self.max_age_s {
            out.push(("access-control-max-age".into(), age.to_string()));
        }
        out.push((
            "vary".into(),
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".into(),
        ));
        Ok(out)
    }

    /// What to do for a request with these `Origin` and preflight headers: a preflight
    /// answer, a refusal, or (for an actual request) the response headers to add.
    pub fn decide(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        let origin = x.request.header("origin");
        if let (Some(origin), "OPTIONS") = (&origin, x.request.method.as_str()) {
            if let Some(method) = x.request.header("access-control-request-method") {
                let asked = x.request.header("access-control-request-headers");
                return match self.preflight(origin, method.trim(), asked.as_deref()) {
                    Ok(headers) => Verdict::Preflight(headers),
                    Err(reason) => {
                        Verdict::Reject(Rejection::new(GatewayError::CorsRejected, reason))
                    }
                };
            }
        }
        let ops = self.actual_ops(origin.as_deref());
        x.effects.response_ops.extend(ops);
        Verdict::Continue
    }

    /// The response operations for an actual (not preflight) request from `origin`. An
    /// echoed origin varies with `Origin`, also for a request without one (a cache must not
    /// hand that response to an allowed origin); `*` answers every origin alike.
    fn actual_ops(&self, origin: Option<&str>) -> Vec<HeaderOp> {
        if self.origins.contains(&OriginRule::Any) {
            return self.response_headers("*");
        }
        let mut ops = vec![HeaderOp::Append("vary".into(), "Origin".into())];
        if let Some(origin) = origin.filter(|o| self.allows(o)) {
            ops.extend(self.response_headers(origin));
        }
        ops
    }
}

impl Check for Cors {
    const PHASE: Phase = Phase::Cors;

    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        self.decide(x)
    }
}

/// Looks a request up in `table`, treating a CORS preflight as the request it announces: a
/// preflight for a route with a CORS policy goes to that route (whatever methods it lists),
/// so the policy answers it; any other `OPTIONS` request is routed as itself. A preflight
/// carries none of the request's own headers or cookies, so when no route with a CORS policy
/// has conditions that hold for the preflight itself, the first such route whatever its
/// conditions answers it.
pub fn lookup<'t, 'p>(table: &'t RouteTable, request: &'p RequestContext) -> Lookup<'t, 'p> {
    if request.method == "OPTIONS" && request.header("origin").is_some() {
        if let Some(asked) = request.header("access-control-request-method") {
            let has_cors = |route: &Route| {
                route
                    .policies
                    .iter()
                    .any(|&i| matches!(table.policies()[i].policy, Policy::Cors(_)))
            };
            let (host, asked, path) = (request.host(), asked.trim(), request.path());
            let found = table.lookup_where(host, asked, path, |r| has_cors(r) && r.serves(request));
            if let Lookup::Found(m) = found {
                return Lookup::Found(m);
            }
            if let Lookup::Found(m) = table.lookup_where(host, asked, path, has_cors) {
                return Lookup::Found(m);
            }
        }
    }
    table.lookup_request(request)
}

/// The CORS response headers of the table's default policies for a request no route serves
/// (404, 405), so a browser can read the error. Never answers a preflight.
pub fn unrouted_headers(table: &RouteTable, request: &RequestContext) -> Vec<HeaderOp> {
    let origin = request.header("origin");
    let mut ops = Vec::new();
    for &i in table.default_policies() {
        if let Policy::Cors(cors) = &table.policies()[i].policy {
            ops.extend(cors.actual_ops(origin.as_deref()));
        }
    }
    ops
}
