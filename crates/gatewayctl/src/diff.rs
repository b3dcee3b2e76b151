//! `diff`: what changes between two route tables — route by route, and for sample requests
//! (one per route of either table, plus any given), which would reach a different route,
//! upstream or origin path.

use std::collections::BTreeMap;

use gateway::table::{Lookup, RewriteSpec, RouteDocument, RouteSpec, RouteTable, UpstreamSpec};

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

/// The route-level changes from `old` to `new`, one line each.
pub fn changes(old: &RouteDocument, new: &RouteDocument) -> Vec<String> {
    let mut lines = Vec::new();
    let old_routes: BTreeMap<&str, &RouteSpec> =
        old.routes.iter().map(|r| (r.id.as_str(), r)).collect();
    let new_routes: BTreeMap<&str, &RouteSpec> =
        new.routes.iter().map(|r| (r.id.as_str(), r)).collect();
    for r in &new.routes {
        match old_routes.get(r.id.as_str()) {
            None => lines.push(format!("+ route {:<16} {}", r.id, describe_route(r))),
            Some(before) => {
                let fields = route_fields(before, r);
                if !fields.is_empty() {
                    lines.push(format!("~ route {:<16} {}", r.id, fields.join("; ")));
                }
            }
        }
    }
    for r in old
        .routes
        .iter()
        .filter(|r| !new_routes.contains_key(r.id.as_str()))
    {
        lines.push(format!("- route {:<16} {}", r.id, describe_route(r)));
    }
    for (name, u) in &new.upstreams {
        match old.upstreams.get(name) {
            None => lines.push(format!("+ upstream {name:<13} {}", describe_upstream(u))),
            Some(before) => {
                let fields = upstream_fields(before, u);
                if !fields.is_empty() {
                    lines.push(format!("~ upstream {name:<13} {}", fields.join("; ")));
                }
            }
        }
    }
    for (name, u) in old
        .upstreams
        .iter()
        .filter(|(n, _)| !new.upstreams.contains_key(*n))
    {
        lines.push(format!("- upstream {name:<13} {}", describe_upstream(u)));
    }
    lines
}

fn methods(r: &RouteSpec) -> String {
    if r.methods.is_empty() {
        "*".into()
    } else {
        r.methods.join(",")
    }
}

fn rewrite(r: &Option<RewriteSpec>) -> String {
    match r {
        None => "none".into(),
        Some(RewriteSpec::StripPrefix(p)) => format!("strip_prefix {p}"),
        Some(RewriteSpec::Template(t)) => format!("template {t}"),
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "none".into(), ToString::to_string)
}

fn describe_route(r: &RouteSpec) -> String {
    format!(
        "{} {}{} → {}",
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

fn route_fields(a: &RouteSpec, b: &RouteSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{name}: {x} → {y}"));
        }
    };
    field("methods", methods(a), methods(b));
    field("path", a.path.clone(), b.path.clone());
    field("host", opt(&a.host), opt(&b.host));
    field("upstream", a.upstream.clone(), b.upstream.clone());
    field("rewrite", rewrite(&a.rewrite), rewrite(&b.rewrite));
    field("timeout_ms", opt(&a.timeout_ms), opt(&b.timeout_ms));
    out
}

fn upstream_fields(a: &UpstreamSpec, b: &UpstreamSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{name}: {x} → {y}"));
        }
    };
    field("target", describe_upstream(a), describe_upstream(b));
    field(
        "timeout_ms",
        a.timeout_ms.to_string(),
        b.timeout_ms.to_string(),
    );
    field("health_path", a.health_path.clone(), b.health_path.clone());
    field(
        "health_timeout_ms",
        a.health_timeout_ms.to_string(),
        b.health_timeout_ms.to_string(),
    );
    field(
        "degraded_ms",
        a.degraded_ms.to_string(),
        b.degraded_ms.to_string(),
    );
    field(
        "all_unhealthy",
        format!("{:?}", a.all_unhealthy),
        format!("{:?}", b.all_unhealthy),
    );
    let access = |u: &UpstreamSpec| {
        u.access_secrets
            .as_ref()
            .map_or("none".into(), |s| s.client_id.clone())
    };
    field("access_secrets", access(a), access(b));
    out
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
            format!(
                "{} ({}, {} ms) {target}",
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
