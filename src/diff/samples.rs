//! Sample requests replayed against two route tables: one per route of either table (its path
//! filled with sample parameters, meeting its conditions), plus any given, and where each would
//! end up — route, upstream (or split), timeout, policies and origin path, or 404/405.

use serde::{Serialize, Serializer};

use crate::context::{HeaderLookup, RequestContext};
use crate::rollout::when::MatchSpec;
use crate::table::{Lookup, Route, RouteDocument, RouteSpec, RouteTable};

/// A request to try against both tables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Sample {
    /// HTTP method.
    pub method: String,
    /// Host, empty for "any".
    pub host: String,
    /// Path, with its query if any.
    pub path: String,
    /// Request headers (lower-case names), e.g. to meet a route's conditions.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Display for Sample {
    /// `GET api.example.com/a?b=1 [x-beta: 1]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}{}", self.method, self.host, self.path)?;
        if !self.headers.is_empty() {
            let headers: Vec<String> = self
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect();
            write!(f, " [{}]", headers.join(", "))?;
        }
        Ok(())
    }
}

/// A sample's headers, for its request context.
struct SampleHeaders(Vec<(String, String)>);

impl HeaderLookup for SampleHeaders {
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

/// The host of a sample's URL when it names none: a route limited to a host never matches it.
const ANY_HOST: &str = "sample.invalid";

/// One request per route of each table (parameters filled with sample values, meeting the
/// route's conditions), plus `extra`; sorted, without duplicates.
pub fn samples(docs: &[&RouteDocument], extra: Vec<Sample>) -> Vec<Sample> {
    let mut all: Vec<Sample> = docs
        .iter()
        .flat_map(|d| d.routes.iter())
        .map(sample_of)
        .chain(extra)
        .collect();
    all.sort();
    all.dedup();
    all
}

/// A request the route serves: its first method, its path filled, and the headers, cookies
/// and query its conditions ask for (an exact value, a prefix as it is, `1` for presence).
fn sample_of(r: &RouteSpec) -> Sample {
    let mut sample = Sample {
        method: r.methods.first().cloned().unwrap_or_else(|| "GET".into()),
        host: r.host.clone().unwrap_or_default(),
        path: fill(&r.path),
        headers: Vec::new(),
    };
    let Some(when) = &r.when else {
        return sample;
    };
    let value = |test: &MatchSpec| match test {
        MatchSpec::Exact(v) | MatchSpec::Prefix { prefix: v } => v.clone(),
        MatchSpec::Present { .. } => "1".to_owned(),
    };
    for (name, test) in &when.header {
        sample.headers.push((name.clone(), value(test)));
    }
    let cookies: Vec<String> = when
        .cookie
        .iter()
        .map(|(name, test)| format!("{name}={}", value(test)))
        .collect();
    if !cookies.is_empty() {
        sample.headers.push(("cookie".into(), cookies.join("; ")));
    }
    for (i, (name, test)) in when.query.iter().enumerate() {
        let sep = if i == 0 { '?' } else { '&' };
        sample.path.push(sep);
        sample.path.push_str(name);
        sample.path.push('=');
        sample.path.push_str(&encode_query(&value(test)));
    }
    sample
}

/// Percent-encodes a query value (all but unreserved characters).
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A concrete path for a pattern: `{x}` → `1`, `{*x}` → `sample/path`.
pub fn fill(pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        if rest[at..].starts_with("{{") || rest[at..].starts_with("}}") {
            out.push_str(&rest[at..at + 1]);
            rest = &rest[at + 2..];
            continue;
        }
        let Some(end) = rest[at..].find('}') else {
            break;
        };
        let name = &rest[at + 1..at + end];
        out.push_str(if name.starts_with('*') {
            "sample/path"
        } else {
            "1"
        });
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Where a request ends up: `route (upstream, timeout) /origin/path`, `404` or `405`; a split
/// route names each upstream with its share (`orders 90% + orders-v2 10%`).
pub fn outcome(table: &RouteTable, s: &Sample) -> String {
    let (path, query) = match s.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (s.path.as_str(), None),
    };
    let host = if s.host.is_empty() { ANY_HOST } else { &s.host };
    let Some(request) = RequestContext::new(
        format!("https://{host}{}", s.path),
        s.method.clone(),
        String::new(),
        0.0,
        Box::new(SampleHeaders(s.headers.clone())),
    ) else {
        return format!("invalid request URL https://{host}{}", s.path);
    };
    match table.lookup_request(&request) {
        Lookup::NotFound => "404".into(),
        Lookup::MethodNotAllowed { .. } => "405".into(),
        Lookup::Found(m) => {
            let rewritten = match &m.route.rewrite {
                Some(r) => r.apply(path, |n| m.params.get(n)),
                None => path.to_owned(),
            };
            let target = crate::forward::origin_url("", &rewritten, query);
            let policies: Vec<&str> = m
                .route
                .policies
                .iter()
                .map(|&i| table.policies()[i].name.as_str())
                .collect();
            let policies = if policies.is_empty() {
                String::new()
            } else {
                format!(", {}", policies.join("+"))
            };
            format!(
                "{} ({}, {} ms{policies}) {target}",
                m.route.id,
                upstreams(table, m.route),
                m.route.timeout_ms
            )
        }
    }
}

/// The route's upstream, or each upstream of its split with its share.
fn upstreams(table: &RouteTable, route: &Route) -> String {
    let Some(split) = &route.split else {
        return table.upstream_of(route).name.clone();
    };
    let shares: Vec<String> = split
        .shares()
        .map(|(u, bp)| {
            let percent = format!("{}.{:02}", bp / 100, bp % 100);
            let percent = percent.trim_end_matches('0').trim_end_matches('.');
            format!("{} {percent}%", table.upstreams()[u].name)
        })
        .collect();
    shares.join(" + ")
}

/// A sample served differently by the two tables; its `Display` is the line `gatewayctl diff`
/// prints (`GET /api/users/1: users-get (users, 10000 ms) /users/1 → 404`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The request.
    pub request: Sample,
    /// Its [`outcome`] in the old table.
    pub from: String,
    /// Its [`outcome`] in the new table.
    pub to: String,
}

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.request, self.from, self.to)
    }
}

impl Serialize for Moved {
    /// `{request: {method, host, path, headers}, from, to, line}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            request: &'a Sample,
            from: &'a str,
            to: &'a str,
            line: String,
        }
        View {
            request: &self.request,
            from: &self.from,
            to: &self.to,
            line: self.to_string(),
        }
        .serialize(serializer)
    }
}

/// The samples whose outcome differs between `old` and `new`, in the samples' order.
pub fn moved(old: &RouteTable, new: &RouteTable, samples: &[Sample]) -> Vec<Moved> {
    samples
        .iter()
        .filter_map(|s| {
            let (from, to) = (outcome(old, s), outcome(new, s));
            (from != to).then(|| Moved {
                request: s.clone(),
                from,
                to,
            })
        })
        .collect()
}

/// Parses a requests file: `METHOD [HOST] PATH [NAME:VALUE …]` per line (headers without
/// spaces in their values), `#` comments.
pub fn parse_requests(text: &str) -> Result<Vec<Sample>, String> {
    text.lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(n, line)| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let (method, host, path, headers) = match parts.as_slice() {
                [m, p, rest @ ..] if p.starts_with('/') => (m, "", p, rest),
                [m, h, p, rest @ ..] if p.starts_with('/') => (m, *h, p, rest),
                [_, p] | [_, _, p] => {
                    return Err(format!("line {n}: path `{p}` must start with `/`"))
                }
                _ => {
                    return Err(format!(
                        "line {n}: expected `METHOD [HOST] PATH [NAME:VALUE …]`, got `{line}`"
                    ))
                }
            };
            let headers = headers
                .iter()
                .map(|h| match h.split_once(':') {
                    Some((name, value)) if !name.is_empty() => {
                        Ok((name.to_ascii_lowercase(), value.to_owned()))
                    }
                    _ => Err(format!("line {n}: `{h}` is not a header (NAME:VALUE)")),
                })
                .collect::<Result<_, _>>()?;
            Ok(Sample {
                method: method.to_ascii_uppercase(),
                host: host.to_owned(),
                path: (*path).to_owned(),
                headers,
            })
        })
        .collect()
}
