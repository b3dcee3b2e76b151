//! `diff`: what changes between two route tables — route by route, and for sample requests
//! (one per route of either table, plus any given), which would reach a different route,
//! upstream or origin path.

use std::collections::BTreeMap;

use gateway::table::{Lookup, RouteDocument, RouteSpec, RouteTable, UpstreamSpec};
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
    /// Path.
    pub path: String,
}

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
    format!(
        "{} {}{} → {}{policies}",
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

/// One request per route of each table (parameters filled with sample values), plus `extra`.
pub fn samples(docs: &[&RouteDocument], extra: Vec<Sample>) -> Vec<Sample> {
    let mut all: Vec<Sample> = docs
        .iter()
        .flat_map(|d| d.routes.iter())
        .map(|r| Sample {
            method: r.methods.first().cloned().unwrap_or_else(|| "GET".into()),
            host: r.host.clone().unwrap_or_default(),
            path: fill(&r.path),
        })
        .chain(extra)
        .collect();
    all.sort();
    all.dedup();
    all
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

/// Where a request ends up: `route (upstream, timeout) /origin/path`, `404` or `405`.
pub fn outcome(table: &RouteTable, s: &Sample) -> String {
    let (path, query) = match s.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (s.path.as_str(), None),
    };
    match table.lookup(&s.host, &s.method, path) {
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
                m.route.id, m.upstream.name, m.route.timeout_ms
            )
        }
    }
}

/// The samples whose outcome differs, as lines.
pub fn moved(old: &RouteTable, new: &RouteTable, samples: &[Sample]) -> Vec<String> {
    samples
        .iter()
        .filter_map(|s| {
            let (a, b) = (outcome(old, s), outcome(new, s));
            (a != b).then(|| format!("{} {}{}: {a} → {b}", s.method, s.host, s.path))
        })
        .collect()
}

/// Parses a requests file: `METHOD [HOST] PATH` per line, `#` comments.
pub fn parse_requests(text: &str) -> Result<Vec<Sample>, String> {
    text.lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty())
        .map(|(n, line)| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let (method, host, path) = match parts.as_slice() {
                [m, p] => (m, "", p),
                [m, h, p] => (m, *h, p),
                _ => {
                    return Err(format!(
                        "line {n}: expected `METHOD [HOST] PATH`, got `{line}`"
                    ))
                }
            };
            if !path.starts_with('/') {
                return Err(format!("line {n}: path `{path}` must start with `/`"));
            }
            Ok(Sample {
                method: method.to_ascii_uppercase(),
                host: host.to_owned(),
                path: (*path).to_owned(),
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
                    path: "/a".into()
                },
                Sample {
                    method: "POST".into(),
                    host: "api.example.com".into(),
                    path: "/b?x=1".into()
                },
            ]
        );
        assert_eq!(
            parse_requests("GET").unwrap_err(),
            "line 1: expected `METHOD [HOST] PATH`, got `GET`"
        );
        assert_eq!(
            parse_requests("GET a").unwrap_err(),
            "line 1: path `a` must start with `/`"
        );
    }
}
