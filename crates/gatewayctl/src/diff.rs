//! `diff`: what changes between two route tables — route by route, and for sample requests
//! (one per route of either table, meeting its conditions, plus any given), which would reach
//! a different route, upstream (or split) or origin path.

use std::collections::BTreeMap;

use gateway::context::{HeaderLookup, RequestContext};
use gateway::rollout::when::MatchSpec;
use gateway::table::{Lookup, Route, RouteDocument, RouteSpec, RouteTable, UpstreamSpec};
use serde_json::Value;

use crate::args::Args;
use crate::source::Source;

/// A request to try against both tables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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

/// The route-level changes from `old` to `new`, one line each. Routes, upstreams and
/// policies are compared as values: every field that differs is named, so no change can hide.
pub fn changes(old: &RouteDocument, new: &RouteDocument) -> Vec<String> {
    let mut lines = Vec::new();
    let by_id = |d: &RouteDocument| -> BTreeMap<String, Value> {
        d.routes.iter().map(|r| (r.id.clone(), json(r))).collect()
    };
    let (old_routes, new_routes) = (by_id(old), by_id(new));
    let described: BTreeMap<&str, String> = old
        .routes
        .iter()
        .chain(&new.routes)
        .map(|r| (r.id.as_str(), describe_route(r)))
        .collect();
    // Routes in the new table's order, then the removed ones in the old table's.
    let order = new.routes.iter().chain(&old.routes).map(|r| r.id.as_str());
    let mut seen = std::collections::BTreeSet::new();
    for id in order.filter(|id| seen.insert(*id)) {
        section(
            &mut lines,
            "route",
            16,
            id,
            old_routes.get(id),
            new_routes.get(id),
            &described[id],
        );
    }
    let (old_up, new_up) = (values(&old.upstreams), values(&new.upstreams));
    for name in old_up
        .keys()
        .chain(new_up.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let u = new
            .upstreams
            .get(name)
            .or(old.upstreams.get(name))
            .expect("in one");
        section(
            &mut lines,
            "upstream",
            13,
            name,
            old_up.get(name),
            new_up.get(name),
            &describe_upstream(u),
        );
    }
    let (old_p, new_p) = (values(&old.policies), values(&new.policies));
    for name in old_p
        .keys()
        .chain(new_p.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let p = new
            .policies
            .get(name)
            .or(old.policies.get(name))
            .expect("in one");
        section(
            &mut lines,
            "policy",
            15,
            name,
            old_p.get(name),
            new_p.get(name),
            p.type_name(),
        );
    }
    if old.default_policies != new.default_policies {
        lines.push(format!(
            "~ default_policies {} → {}",
            show(&json(&old.default_policies)),
            show(&json(&new.default_policies))
        ));
    }
    lines
}

/// One `+`, `-` or `~` line for an item present in either table.
fn section(
    lines: &mut Vec<String>,
    kind: &str,
    width: usize,
    name: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    description: &str,
) {
    match (old, new) {
        (None, Some(_)) => lines.push(format!("+ {kind} {name:<width$} {description}")),
        (Some(_), None) => lines.push(format!("- {kind} {name:<width$} {description}")),
        (Some(a), Some(b)) => {
            let mut fields = Vec::new();
            value_diff("", a, b, &mut fields);
            if !fields.is_empty() {
                lines.push(format!("~ {kind} {name:<width$} {}", fields.join("; ")));
            }
        }
        (None, None) => {}
    }
}

fn values<T: serde::Serialize>(items: &BTreeMap<String, T>) -> BTreeMap<String, Value> {
    items.iter().map(|(k, v)| (k.clone(), json(v))).collect()
}

fn json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("route documents always serialise")
}

/// Every field path where `a` and `b` differ, as `path: old → new`.
pub fn value_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let none = Value::Null;
                value_diff(
                    &sub,
                    x.get(key).unwrap_or(&none),
                    y.get(key).unwrap_or(&none),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: {} → {}", show(a), show(b))),
        _ => {}
    }
}

/// A value as a diff shows it: `none`, a bare string, or compact JSON.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn methods(r: &RouteSpec) -> String {
    if r.methods.is_empty() {
        "*".into()
    } else {
        r.methods.join(",")
    }
}

fn describe_route(r: &RouteSpec) -> String {
    let policies = if r.policies.is_empty() {
        String::new()
    } else {
        format!(" [{}]", r.policies.join(", "))
    };
    let when = r
        .when
        .as_ref()
        .map_or(String::new(), |w| format!(" when {w}"));
    let split = r
        .split
        .as_ref()
        .map_or(String::new(), |s| format!(" split {s}"));
    format!(
        "{} {}{} → {}{split}{policies}{when}",
        methods(r),
        r.host.as_deref().unwrap_or(""),
        r.path,
        r.upstream
    )
}

fn describe_upstream(u: &UpstreamSpec) -> String {
    match &u.binding {
        Some(b) => format!("binding {b}"),
        None => u
            .origins
            .iter()
            .map(|o| match o.weight() {
                1 => o.url().to_owned(),
                w => format!("{} (weight {w})", o.url()),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// One request per route of each table (parameters filled with sample values, meeting the
/// route's conditions), plus `extra`.
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
            let target = gateway::forward::origin_url("", &rewritten, query);
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

/// The samples whose outcome differs, as lines.
pub fn moved(old: &RouteTable, new: &RouteTable, samples: &[Sample]) -> Vec<String> {
    samples
        .iter()
        .filter_map(|s| {
            let (a, b) = (outcome(old, s), outcome(new, s));
            (a != b).then(|| format!("{s}: {a} → {b}"))
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

/// `diff [FILE] --env ENV [--against active|VERSION|OTHER.toml] [--requests FILE]`.
pub fn diff(args: &Args) -> Result<(), String> {
    let env = args.env();
    let new = Source::read(&args.file)?.compile(env)?;
    let against = args.against.clone().unwrap_or_else(|| "active".into());
    let (old, label) = if against.ends_with(".toml") {
        (
            Source::read(std::path::Path::new(&against))?.compile(env)?,
            against.clone(),
        )
    } else {
        let store = args.store();
        let version = if against == "active" {
            store
                .active()?
                .ok_or("no version is active yet: nothing to diff against")?
        } else {
            against.clone()
        };
        let doc = store
            .document(&version)?
            .ok_or_else(|| format!("version {version} is not in KV"))?;
        let label = if against == "active" {
            format!("{version} (active)")
        } else {
            version
        };
        (doc, label)
    };
    let extra = match &args.requests {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            parse_requests(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    let table = |d: &RouteDocument| {
        RouteTable::try_from(d.clone()).map_err(|e| format!("{label} does not validate:\n{e}"))
    };
    let (old_table, new_table) = (table(&old)?, table(&new)?);
    let samples = samples(&[&old, &new], extra);
    let route_changes = changes(&old, &new);
    let moved = moved(&old_table, &new_table, &samples);

    println!("diff {} ({env}) against {label}", args.file.display());
    if route_changes.is_empty() {
        println!("routes: no changes");
    } else {
        println!("routes:");
        route_changes.iter().for_each(|l| println!("  {l}"));
    }
    println!(
        "requests that would be served differently: {} of {}",
        moved.len(),
        samples.len()
    );
    moved.iter().for_each(|l| println!("  {l}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_paths() {
        for (pattern, want) in [
            ("/users/{id}", "/users/1"),
            ("/files/{*rest}", "/files/sample/path"),
            ("/img-{n}.png", "/img-1.png"),
            ("/{{lit}}/{x}", "/{lit}/1"),
            ("/plain", "/plain"),
        ] {
            assert_eq!(fill(pattern), want);
        }
    }

    #[test]
    fn request_files() {
        let parsed =
            parse_requests("# comment\nGET /a\npost api.example.com /b?x=1 # trailing\n\n")
                .unwrap();
        assert_eq!(
            parsed,
            vec![
                Sample {
                    method: "GET".into(),
                    host: String::new(),
                    path: "/a".into(),
                    headers: Vec::new(),
                },
                Sample {
                    method: "POST".into(),
                    host: "api.example.com".into(),
                    path: "/b?x=1".into(),
                    headers: Vec::new(),
                },
            ]
        );
        assert_eq!(
            parse_requests("GET").unwrap_err(),
            "line 1: expected `METHOD [HOST] PATH [NAME:VALUE …]`, got `GET`"
        );
        assert_eq!(
            parse_requests("GET a").unwrap_err(),
            "line 1: path `a` must start with `/`"
        );
        let with_headers = parse_requests("GET h /c X-Beta:1 cookie:beta=on").unwrap();
        assert_eq!(
            with_headers[0].headers,
            [
                ("x-beta".to_owned(), "1".to_owned()),
                ("cookie".to_owned(), "beta=on".to_owned())
            ]
        );
        assert_eq!(
            with_headers[0].to_string(),
            "GET h/c [x-beta: 1, cookie: beta=on]"
        );
        assert_eq!(
            parse_requests("GET /c x-beta").unwrap_err(),
            "line 1: `x-beta` is not a header (NAME:VALUE)"
        );
    }

    fn document(routes: &str) -> RouteDocument {
        let text = format!(
            "[upstreams.orders.env.local]\norigins = [\"http://127.0.0.1:9102\"]\n\
             [upstreams.orders-v2.env.local]\norigins = [\"http://127.0.0.1:9104\"]\n{routes}"
        );
        let file: gateway::table::source::RouteFile = toml::from_str(&text).unwrap();
        let mut doc = file.compile("local").unwrap();
        doc.version = "v".into();
        doc
    }

    const ROUTES: &str = r#"
[[routes]]
id = "beta"
methods = ["GET"]
path = "/o/{id}"
upstream = "orders-v2"
when = { header = { x-beta = "1" }, cookie = { b = { present = true } }, query = { v = "2 b" } }

[[routes]]
id = "o"
methods = ["GET"]
path = "/o/{id}"
upstream = "orders"
split = { to = { orders-v2 = 12.5 } }
"#;

    #[test]
    fn samples_meet_conditions_and_outcomes_name_split_shares() {
        let doc = document(ROUTES);
        let table = RouteTable::try_from(doc.clone()).unwrap();
        let samples = samples(&[&doc], Vec::new());
        let shown: Vec<String> = samples
            .iter()
            .map(|s| format!("{s} => {}", outcome(&table, s)))
            .collect();
        assert_eq!(
            shown,
            [
                "GET /o/1 => o (orders 87.5% + orders-v2 12.5%, 10000 ms) /o/1",
                "GET /o/1?v=2%20b [x-beta: 1, cookie: b=1] => beta (orders-v2, 10000 ms) /o/1?v=2%20b",
            ]
        );
        // A changed share moves the split route's requests; a changed condition is named.
        let mut changed = doc.clone();
        changed.routes[1]
            .split
            .as_mut()
            .unwrap()
            .to
            .insert("orders-v2".into(), gateway::rollout::split::Percent(20.0));
        changed.routes[0]
            .when
            .as_mut()
            .unwrap()
            .header
            .insert("x-beta".into(), MatchSpec::Exact("2".into()));
        assert_eq!(
            changes(&doc, &changed),
            [
                "~ route beta             when.header.x-beta: 1 → 2",
                "~ route o                split.to.orders-v2: 12.5 → 20",
            ]
        );
        let new_table = RouteTable::try_from(changed).unwrap();
        assert_eq!(
            moved(&table, &new_table, &samples),
            [
                "GET /o/1: o (orders 87.5% + orders-v2 12.5%, 10000 ms) /o/1 → o (orders 80% + orders-v2 20%, 10000 ms) /o/1",
                "GET /o/1?v=2%20b [x-beta: 1, cookie: b=1]: beta (orders-v2, 10000 ms) /o/1?v=2%20b → o (orders 80% + orders-v2 20%, 10000 ms) /o/1?v=2%20b",
            ]
        );
        // Added routes are described with their conditions and split.
        let empty = document("");
        assert_eq!(
            changes(&empty, &doc)[..2],
            [
                "+ route beta             GET /o/{id} → orders-v2 when header x-beta = \"1\", cookie b present, query v = \"2 b\"",
                "+ route o                GET /o/{id} → orders split orders-v2 12.5%, sticky ip",
            ]
        );
    }
}
