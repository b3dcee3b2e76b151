//! Validation: a [`RouteDocument`] becomes a [`RouteTable`] or a list of every problem in it.
//!
//! One function serves the worker (on every table load), `gatewayctl check` and the tests, so
//! what passes `check` is exactly what the worker accepts.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use super::router::routers;
use super::{HealthPolicy, Origin, Route, RouteDocument, RouteSpec, RouteTable};
use super::{Methods, RewriteSpec, UpstreamSpec, FORMAT, MIN_FORMAT};
use super::{Target, Upstream};
use crate::policy::{NamedPolicy, Phase, PolicySpec, RouteView};
use crate::rewrite::{self, Rewrite};

/// Methods a route may list.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// Smallest timeout a route or upstream may set, in milliseconds.
pub const TIMEOUT_MIN_MS: u64 = 10;
/// Largest timeout, in milliseconds: Cloudflare's edge gives up on an origin after 100 s.
pub const TIMEOUT_MAX_MS: u64 = 100_000;
/// Largest health probe timeout, in milliseconds: a probe round must finish within 5 s.
pub const HEALTH_TIMEOUT_MAX_MS: u64 = 5_000;
/// Largest origin weight.
pub const MAX_WEIGHT: u32 = 1_000;
/// Paths under this prefix belong to the gateway's admin API; no route may use them.
pub const RESERVED_PREFIX: &str = "/__gateway";

/// What a validation error is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// The document as a whole.
    Document,
    /// The upstream with this name.
    Upstream(String),
    /// The route with this id (or `routes[i]` when it has none).
    Route(String),
    /// The policy with this name.
    Policy(String),
}

/// One problem in a route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The document's `format` is not one this build reads.
    UnsupportedFormat(u32),
    /// The document says it is an older format than what it uses needs (an older worker
    /// would read it without policies, conditions or splits).
    FormatTooOld {
        /// The format the document says it is.
        format: u32,
        /// The format it needs ([`RouteDocument::needed_format`]).
        needed: u32,
    },
    /// A required text field is empty.
    Empty(&'static str),
    /// An upstream has neither origins nor a binding.
    NoTarget,
    /// An upstream has both origins and a binding.
    OriginsAndBinding,
    /// An origin URL is unusable.
    BadOrigin {
        /// The URL as written.
        url: String,
        /// Why it is unusable.
        reason: &'static str,
    },
    /// A timeout outside [`TIMEOUT_MIN_MS`]..=[`TIMEOUT_MAX_MS`].
    TimeoutOutOfBounds(u64),
    /// A health path that does not start with `/`.
    BadHealthPath(String),
    /// A health probe timeout outside 10..=5000 ms.
    HealthTimeoutOutOfBounds(u64),
    /// A degraded threshold that is zero or not below the probe timeout.
    DegradedOutOfBounds(u64),
    /// Weights above the maximum, or all zero.
    BadWeights,
    /// A path under the admin API's reserved prefix.
    ReservedPath,
    /// An id with characters outside `A-Za-z0-9._-`.
    BadId,
    /// Another route already uses this id.
    DuplicateId,
    /// The route names an upstream that does not exist.
    UnknownUpstream(String),
    /// A method that is not one of [`METHODS`].
    BadMethod(String),
    /// The same method listed twice.
    RepeatedMethod(String),
    /// A path written in the old `:id` / `*rest` syntax.
    OldSyntax {
        /// The segment as written.
        found: String,
        /// What to write instead.
        write: String,
    },
    /// A path matchit rejects (not absolute, bad parameter, misplaced catch-all).
    BadPath(String),
    /// The path conflicts with another route's path.
    Conflict {
        /// The other route's id.
        with: String,
    },
    /// Another route already serves this method on the same host and path.
    MethodOverlap {
        /// The method both routes serve.
        method: String,
        /// The other route's id.
        with: String,
    },
    /// Another route with conditions serves a method of this route on the same host and
    /// path, and a request could meet both routes' conditions.
    Ambiguous {
        /// The other (earlier) route's id.
        with: String,
    },
    /// A route's `when` is wrong (the message names the field).
    BadWhen(String),
    /// A route's `split` is wrong (the message names the field).
    BadSplit(String),
    /// A host with a scheme, path, port or upper-case letters.
    BadHost(String),
    /// A rewrite that cannot be applied.
    BadRewrite(String),
    /// A rewrite template uses a parameter the path does not capture.
    RewriteUnknownParam(String),
    /// A policy's own settings are wrong (the message names the field).
    BadPolicy(String),
    /// A route (or the defaults) names a policy that does not exist.
    UnknownPolicy(String),
    /// A route runs the same policy twice (its own list and the defaults count).
    RepeatedPolicy(String),
    /// A route runs two policies of a kind it may have only one of.
    PolicyConflict {
        /// The later policy.
        policy: String,
        /// The earlier one.
        with: String,
    },
    /// A policy cannot serve this route.
    PolicyOnRoute {
        /// The policy.
        policy: String,
        /// Why.
        problem: String,
    },
}

/// A problem and what it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// What the problem is about.
    pub subject: Subject,
    /// The problem.
    pub problem: Problem,
}

/// Every problem found in a document, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Document => f.write_str("route table"),
            Self::Upstream(name) => write!(f, "upstream `{name}`"),
            Self::Route(id) => write!(f, "route `{id}`"),
            Self::Policy(name) => write!(f, "policy `{name}`"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedFormat(n) => {
                write!(
                    f,
                    "format {n} is not supported (this gateway reads formats {MIN_FORMAT} to {FORMAT})"
                )
            }
            Self::FormatTooOld { format, needed } => {
                let what = if *needed >= FORMAT {
                    "`when` or `split`"
                } else {
                    "policies"
                };
                write!(f, "format {format} cannot carry {what} (format {needed} can)")
            }
            Self::Empty(field) => write!(f, "`{field}` must not be empty"),
            Self::NoTarget => f.write_str("needs `origins` or a `binding`"),
            Self::OriginsAndBinding => f.write_str("has both `origins` and a `binding`; keep one"),
            Self::BadOrigin { url, reason } => write!(f, "origin `{url}` {reason}"),
            Self::TimeoutOutOfBounds(ms) => write!(
                f,
                "timeout_ms = {ms} is out of bounds ({TIMEOUT_MIN_MS}..={TIMEOUT_MAX_MS})"
            ),
            Self::BadHealthPath(p) => write!(f, "health_path `{p}` must start with `/`"),
            Self::HealthTimeoutOutOfBounds(ms) => write!(
                f,
                "health_timeout_ms = {ms} is out of bounds ({TIMEOUT_MIN_MS}..={HEALTH_TIMEOUT_MAX_MS})"
            ),
            Self::DegradedOutOfBounds(ms) => {
                write!(f, "degraded_ms = {ms} must be above 0 and below health_timeout_ms")
            }
            Self::BadWeights => write!(
                f,
                "origin weights must be 0..={MAX_WEIGHT} with at least one above 0"
            ),
            Self::ReservedPath => write!(f, "path is under `{RESERVED_PREFIX}/`, reserved for the admin API"),
            Self::BadId => f.write_str("id may only contain letters, digits, `.`, `_` and `-`"),
            Self::DuplicateId => f.write_str("id is used by another route"),
            Self::UnknownUpstream(name) => write!(f, "unknown upstream `{name}`"),
            Self::BadMethod(m) => match METHODS.iter().find(|k| k.eq_ignore_ascii_case(m)) {
                Some(k) => write!(f, "method `{m}` must be upper case: write `{k}`"),
                None => write!(f, "method `{m}` is not one of {}", METHODS.join(", ")),
            },
            Self::RepeatedMethod(m) => write!(f, "method `{m}` is listed twice"),
            Self::OldSyntax { found, write } => write!(
                f,
                "path segment `{found}` uses the old syntax: write `{write}` (matchit 0.9)"
            ),
            Self::BadPath(why) => write!(f, "path {why}"),
            Self::Conflict { with } => write!(f, "path conflicts with route `{with}`"),
            Self::MethodOverlap { method, with } => {
                write!(
                    f,
                    "{method} on this path is already served by route `{with}`"
                )
            }
            Self::Ambiguous { with } => write!(
                f,
                "a request could meet both this route's `when` and route `{with}`'s, which serves the same method on this host and path: make them exclusive (test one key with values that cannot both match: different values, or prefixes neither of which starts with the other)"
            ),
            Self::BadWhen(message) | Self::BadSplit(message) => f.write_str(message),
            Self::BadHost(h) => {
                write!(
                    f,
                    "host `{h}` must be a lower-case host name without scheme, port or path"
                )
            }
            Self::BadRewrite(why) => write!(f, "rewrite {why}"),
            Self::RewriteUnknownParam(name) => {
                write!(
                    f,
                    "rewrite uses `{{{name}}}`, which the path does not capture"
                )
            }
            Self::BadPolicy(message) => f.write_str(message),
            Self::UnknownPolicy(name) => write!(f, "unknown policy `{name}`"),
            Self::RepeatedPolicy(name) => {
                write!(f, "policy `{name}` runs twice (listed twice, or also a default)")
            }
            Self::PolicyConflict { policy, with } => write!(
                f,
                "policy `{policy}` conflicts with `{with}`: a route has at most one CORS and one authentication policy"
            ),
            Self::PolicyOnRoute { policy, problem } => write!(f, "policy `{policy}` {problem}"),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.problem)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects problems while the table is built.
#[derive(Default)]
pub(super) struct Report(Vec<ValidationError>);

impl Report {
    pub(super) fn add(&mut self, subject: &Subject, problem: Problem) {
        self.0.push(ValidationError {
            subject: subject.clone(),
            problem,
        });
    }
}

impl TryFrom<RouteDocument> for RouteTable {
    type Error = ValidationErrors;

    fn try_from(doc: RouteDocument) -> Result<Self, ValidationErrors> {
        let mut report = Report::default();
        let subject = Subject::Document;
        if !(MIN_FORMAT..=FORMAT).contains(&doc.format) {
            report.add(&subject, Problem::UnsupportedFormat(doc.format));
        } else if doc.format < doc.needed_format() {
            report.add(
                &subject,
                Problem::FormatTooOld {
                    format: doc.format,
                    needed: doc.needed_format(),
                },
            );
        }
        if doc.version.is_empty() {
            report.add(&subject, Problem::Empty("version"));
        }
        if doc.environment.is_empty() {
            report.add(&subject, Problem::Empty("environment"));
        }

        let upstreams: Vec<Upstream> = doc
            .upstreams
            .into_iter()
            .map(|(name, spec)| upstream(name, spec, &mut report))
            .collect();
        let index: HashMap<&str, usize> = upstreams
            .iter()
            .enumerate()
            .map(|(i, u)| (u.name.as_str(), i))
            .collect();

        // Names of every policy written, valid or not (an invalid one is not also unknown).
        let declared: Vec<String> = doc.policies.keys().cloned().collect();
        let policies = named_policies(doc.policies, &mut report);
        let default_policies = policy_list(
            &Subject::Document,
            &[],
            &doc.default_policies,
            &policies,
            &declared,
            &[],
            &mut report,
        );

        // The table holds the specs' strings (moved, not copied) and one copy of each rewrite
        // and policy list; the document is consumed as the routes are built.
        let duplicate = duplicate_ids(&doc.routes);
        let mut shared = Shared::default();
        let mut written = HashMap::new();
        let mut bad_when = HashSet::new();
        let mut routes = Vec::with_capacity(doc.routes.len());
        for (i, mut spec) in doc.routes.into_iter().enumerate() {
            let subject = route_subject(&spec, i);
            if spec.id.is_empty() {
                report.add(&subject, Problem::Empty("id"));
            } else if !is_id(&spec.id) {
                report.add(&subject, Problem::BadId);
            } else if duplicate[i] {
                report.add(&subject, Problem::DuplicateId);
            }
            let upstream_index = index.get(spec.upstream.as_str()).copied();
            if upstream_index.is_none() {
                report.add(&subject, Problem::UnknownUpstream(spec.upstream.clone()));
            }
            let default_timeout = upstream_index.map_or(0, |u| upstreams[u].timeout_ms);
            let captures: Vec<String> = rewrite::captures(&spec.path)
                .into_iter()
                .map(str::to_owned)
                .collect();
            let list = policy_list(
                &subject,
                &doc.default_policies,
                &spec.policies,
                &policies,
                &declared,
                &captures,
                &mut report,
            );
            let when = spec.when.take().and_then(|when| {
                when.validate()
                    .map_err(|problems| {
                        bad_when.insert(i);
                        for p in problems {
                            report.add(&subject, Problem::BadWhen(p));
                        }
                    })
                    .ok()
            });
            let authenticates = list.iter().any(|&p| policies[p].policy.authenticates());
            let split = spec.split.take().and_then(|split| {
                let upstream = |name: &str| index.get(name).copied();
                split
                    .validate(&spec.upstream, upstream, authenticates)
                    .map_err(|problems| {
                        for p in problems {
                            report.add(&subject, Problem::BadSplit(p));
                        }
                    })
                    .ok()
            });
            let target = RouteTarget {
                upstream: upstream_index,
                default_timeout,
                policies: shared.policies(list),
            };
            let (mut route, methods) = route(spec, &subject, target, &mut shared, &mut report);
            route.when = when.map(Arc::new);
            route.split = split.map(Arc::new);
            if let Some(methods) = methods {
                written.insert(i, methods);
            }
            routes.push(route);
        }
        drop(shared);

        let routers = routers(&routes, &written, &bad_when, &mut report);
        if !report.0.is_empty() {
            return Err(ValidationErrors(report.0));
        }
        Ok(RouteTable {
            version: doc.version,
            checksum: doc.checksum,
            environment: doc.environment,
            upstreams,
            routes,
            policies,
            default_policies,
            by_host: routers.by_host,
            any_host: routers.any_host,
            allows: routers.allows,
        })
    }
}

/// For each route, whether an earlier route has its id (only valid, non-empty ids count).
fn duplicate_ids(specs: &[RouteSpec]) -> Vec<bool> {
    let mut seen = HashSet::with_capacity(specs.len());
    specs
        .iter()
        .map(|spec| !spec.id.is_empty() && is_id(&spec.id) && !seen.insert(spec.id.as_str()))
        .collect()
}

/// One copy of each rewrite and policy list, handed to every route that uses it.
#[derive(Default)]
struct Shared {
    rewrites: HashSet<Arc<Rewrite>>,
    policy_lists: HashSet<Arc<[usize]>>,
}

impl Shared {
    fn rewrite(&mut self, rewrite: Rewrite) -> Arc<Rewrite> {
        if let Some(have) = self.rewrites.get(&rewrite) {
            return have.clone();
        }
        let rewrite = Arc::new(rewrite);
        self.rewrites.insert(rewrite.clone());
        rewrite
    }

    fn policies(&mut self, list: Vec<usize>) -> Arc<[usize]> {
        if let Some(have) = self.policy_lists.get(list.as_slice()) {
            return have.clone();
        }
        let list: Arc<[usize]> = list.into();
        self.policy_lists.insert(list.clone());
        list
    }
}

/// Where a route sends its requests and what runs first: resolved before the route is built.
struct RouteTarget {
    /// Index of its upstream, if the name is known.
    upstream: Option<usize>,
    /// The upstream's timeout (the route's own overrides it).
    default_timeout: u64,
    /// Its policy list, shared.
    policies: Arc<[usize]>,
}

fn route_subject(spec: &RouteSpec, i: usize) -> Subject {
    if spec.id.is_empty() {
        Subject::Route(format!("routes[{i}]"))
    } else {
        Subject::Route(spec.id.clone())
    }
}

fn is_id(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_timeout(ms: u64, subject: &Subject, report: &mut Report) {
    if !(TIMEOUT_MIN_MS..=TIMEOUT_MAX_MS).contains(&ms) {
        report.add(subject, Problem::TimeoutOutOfBounds(ms));
    }
}

fn upstream(name: String, spec: UpstreamSpec, report: &mut Report) -> Upstream {
    let subject = Subject::Upstream(name.clone());
    // The name is a URL host for a service binding (`https://<name>/…`): a `/`, `?` or space
    // would move the request's path or make the URL invalid.
    if name.is_empty() || !is_id(&name) {
        report.add(&subject, Problem::BadId);
    }
    check_timeout(spec.timeout_ms, &subject, report);
    if !spec.health_path.starts_with('/') {
        report.add(&subject, Problem::BadHealthPath(spec.health_path.clone()));
    }
    if let Some(access) = &spec.access_secrets {
        if access.client_id.is_empty() {
            report.add(&subject, Problem::Empty("access_secrets.client_id"));
        }
        if access.client_secret.is_empty() {
            report.add(&subject, Problem::Empty("access_secrets.client_secret"));
        }
    }
    let target = match (spec.origins.is_empty(), spec.binding) {
        (true, None) => {
            report.add(&subject, Problem::NoTarget);
            Target::Origins(Vec::new())
        }
        (false, Some(_)) => {
            report.add(&subject, Problem::OriginsAndBinding);
            Target::Origins(Vec::new())
        }
        (true, Some(binding)) => {
            if binding.is_empty() {
                report.add(&subject, Problem::Empty("binding"));
            }
            Target::Binding(binding)
        }
        (false, None) => {
            let origins: Vec<Origin> = spec
                .origins
                .iter()
                .filter_map(|o| match origin_base(o.url()) {
                    Ok(base) => Some(Origin {
                        url: base.to_owned(),
                        weight: o.weight(),
                    }),
                    Err(reason) => {
                        report.add(
                            &subject,
                            Problem::BadOrigin {
                                url: o.url().to_owned(),
                                reason,
                            },
                        );
                        None
                    }
                })
                .collect();
            let too_heavy = origins.iter().any(|o| o.weight > MAX_WEIGHT);
            let all_drained = !origins.is_empty() && origins.iter().all(|o| o.weight == 0);
            if too_heavy || all_drained {
                report.add(&subject, Problem::BadWeights);
            }
            Target::Origins(origins)
        }
    };
    if !(TIMEOUT_MIN_MS..=HEALTH_TIMEOUT_MAX_MS).contains(&spec.health_timeout_ms) {
        report.add(
            &subject,
            Problem::HealthTimeoutOutOfBounds(spec.health_timeout_ms),
        );
    }
    if spec.degraded_ms == 0 || spec.degraded_ms >= spec.health_timeout_ms {
        report.add(&subject, Problem::DegradedOutOfBounds(spec.degraded_ms));
    }
    Upstream {
        name,
        target,
        timeout_ms: spec.timeout_ms,
        health: HealthPolicy {
            path: spec.health_path,
            timeout_ms: spec.health_timeout_ms,
            degraded_ms: spec.degraded_ms,
            all_unhealthy: spec.all_unhealthy,
        },
        access_secrets: spec.access_secrets,
    }
}

/// Checks an origin URL and returns it without a trailing slash.
fn origin_base(url: &str) -> Result<&str, &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err("has no host");
    }
    if authority.contains('@') {
        return Err("must not carry credentials (use access_secrets)");
    }
    if rest.contains(['?', '#']) {
        return Err("must not have a query or fragment");
    }
    if rest.contains(char::is_whitespace) {
        return Err("must not contain white space");
    }
    Ok(url.trim_end_matches('/'))
}

/// The route, and its methods as written when they have a problem (the method checks
/// between routes then see what was written).
fn route(
    spec: RouteSpec,
    subject: &Subject,
    target: RouteTarget,
    shared: &mut Shared,
    report: &mut Report,
) -> (Route, Option<Vec<String>>) {
    let mut methods = Methods::default();
    let mut methods_ok = true;
    for (i, m) in spec.methods.iter().enumerate() {
        if !METHODS.contains(&m.as_str()) {
            report.add(subject, Problem::BadMethod(m.clone()));
            methods_ok = false;
        } else if spec.methods[..i].contains(m) {
            report.add(subject, Problem::RepeatedMethod(m.clone()));
            methods_ok = false;
        } else {
            methods.push(m);
        }
    }
    if let Some(ms) = spec.timeout_ms {
        check_timeout(ms, subject, report);
    }
    if let Some(host) = &spec.host {
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
        if !ok {
            report.add(subject, Problem::BadHost(host.clone()));
        }
    }
    check_path(&spec.path, subject, report);
    let rewrite = spec
        .rewrite
        .and_then(|r| rewrite_of(r, &spec.path, subject, report))
        .map(|r| shared.rewrite(r));
    let route = Route {
        id: spec.id,
        methods,
        path: spec.path,
        host: spec.host,
        upstream: target.upstream.unwrap_or(usize::MAX),
        rewrite,
        timeout_ms: spec.timeout_ms.unwrap_or(target.default_timeout),
        policies: target.policies,
        allow_encoded_separators: spec.allow_encoded_separators,
        when: None,
        split: None,
    };
    (route, (!methods_ok).then_some(spec.methods))
}

/// Validates every named policy; a bad one is reported and left out.
fn named_policies(
    specs: std::collections::BTreeMap<String, PolicySpec>,
    report: &mut Report,
) -> Vec<NamedPolicy> {
    let mut out = Vec::with_capacity(specs.len());
    for (name, spec) in specs {
        let subject = Subject::Policy(name.clone());
        if !is_id(&name) || name.is_empty() {
            report.add(&subject, Problem::BadId);
        }
        match spec.validate() {
            Ok(policy) => out.push(NamedPolicy { name, policy }),
            Err(problems) => {
                for p in problems {
                    report.add(&subject, Problem::BadPolicy(p));
                }
            }
        }
    }
    out
}

/// Resolves `defaults` then `own` policy names into indices in phase order, checking each
/// against the route (`captures`: the names its path captures; none for the defaults).
/// `declared` names every policy the document has, including those validation left out.
fn policy_list(
    subject: &Subject,
    defaults: &[String],
    own: &[String],
    policies: &[NamedPolicy],
    declared: &[String],
    captures: &[String],
    report: &mut Report,
) -> Vec<usize> {
    let mut list: Vec<usize> = Vec::new();
    // Problems among the defaults alone are reported once, on the document.
    let on_route = *subject != Subject::Document;
    let mut from_defaults: Vec<usize> = Vec::new();
    for (i, name) in defaults.iter().chain(own).enumerate() {
        let is_default = i < defaults.len();
        match policies.iter().position(|p| &p.name == name) {
            Some(p) if list.contains(&p) => {
                if !(is_default && on_route) {
                    report.add(subject, Problem::RepeatedPolicy(name.clone()));
                }
            }
            Some(p) => {
                list.push(p);
                if is_default {
                    from_defaults.push(p);
                }
            }
            // A policy with bad settings is reported on the policy.
            None if declared.contains(name) => {}
            None if is_default && on_route => {}
            None => report.add(subject, Problem::UnknownPolicy(name.clone())),
        }
    }
    list.sort_by_key(|&p| policies[p].policy.phase());
    let view = RouteView {
        captures,
        authenticates: list.iter().any(|&p| policies[p].policy.authenticates()),
    };
    for (k, &p) in list.iter().enumerate() {
        let policy = &policies[p];
        let phase = policy.policy.phase();
        if matches!(phase, Phase::Cors | Phase::Authentication) {
            let both_defaults = |q: usize| from_defaults.contains(&p) && from_defaults.contains(&q);
            if let Some(&q) = list[..k]
                .iter()
                .find(|&&q| policies[q].policy.phase() == phase && !both_defaults(q))
            {
                report.add(
                    subject,
                    Problem::PolicyConflict {
                        policy: policy.name.clone(),
                        with: policies[q].name.clone(),
                    },
                );
            }
        }
        if *subject != Subject::Document {
            for problem in policy.policy.check_route(&view) {
                report.add(
                    subject,
                    Problem::PolicyOnRoute {
                        policy: policy.name.clone(),
                        problem,
                    },
                );
            }
        }
    }
    list
}

/// Rejects the old `:id` / `*rest` syntax with a hint; matchit checks the rest.
fn check_path(path: &str, subject: &Subject, report: &mut Report) {
    if !path.starts_with('/') {
        report.add(subject, Problem::BadPath("must start with `/`".into()));
        return;
    }
    if path == RESERVED_PREFIX || path.starts_with(&format!("{RESERVED_PREFIX}/")) {
        report.add(subject, Problem::ReservedPath);
    }
    for segment in path.split('/') {
        let old = segment
            .strip_prefix(':')
            .map(|name| format!("{{{name}}}"))
            .or_else(|| segment.strip_prefix('*').map(|name| format!("{{*{name}}}")));
        if let Some(write) = old.filter(|w| w.len() > 2) {
            report.add(
                subject,
                Problem::OldSyntax {
                    found: segment.to_owned(),
                    write,
                },
            );
        }
    }
}

fn rewrite_of(
    spec: RewriteSpec,
    path: &str,
    subject: &Subject,
    report: &mut Report,
) -> Option<Rewrite> {
    match spec {
        RewriteSpec::StripPrefix(prefix) => {
            let on_boundary = path
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
            if !prefix.starts_with('/') || prefix.len() < 2 || prefix.ends_with('/') {
                report.add(
                    subject,
                    Problem::BadRewrite(format!(
                        "strip_prefix `{prefix}` must start with `/` and not end with `/`"
                    )),
                );
                None
            } else if prefix.contains(['{', '}']) || !on_boundary {
                report.add(
                    subject,
                    Problem::BadRewrite(format!(
                        "strip_prefix `{prefix}` must be a literal leading segment of `{path}`"
                    )),
                );
                None
            } else {
                Some(Rewrite::StripPrefix(prefix))
            }
        }
        RewriteSpec::Template(text) => match Rewrite::template(&text) {
            Ok(rewrite) => {
                let captured = rewrite::captures(path);
                for name in rewrite.params().filter(|n| !captured.contains(n)) {
                    report.add(subject, Problem::RewriteUnknownParam(name.to_owned()));
                }
                Some(rewrite)
            }
            Err(e) => {
                report.add(
                    subject,
                    Problem::BadRewrite(format!("template `{text}` {e}")),
                );
                None
            }
        },
    }
}
