//! Routes against their upstreams' contracts: after its rewrite, every route must reach an
//! operation of the contract for each of its methods (templates compared structurally:
//! parameters line up whatever their names, static segments match), and the parameters its
//! rewrite puts in the query must be ones the operation takes; an upstream's `health_path`
//! must be a `GET` of its contract. Operations no route exposes (and no probe uses) are
//! listed as information, unless marked `x-internal`.

use gateway::table::{RewriteSpec, RouteSpec, Subject, METHODS};

use super::{template_pieces, Contract, Segment};

/// An upstream whose contract is known.
#[derive(Debug, Clone, Copy)]
pub struct Upstream<'a> {
    /// Its name in the route table.
    pub name: &'a str,
    /// Where the contract is, as written in the route table.
    pub source: &'a str,
    /// The contract.
    pub contract: &'a Contract,
    /// The path its origins are probed at.
    pub health_path: &'a str,
}

/// One thing found, about a route or an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is about.
    pub subject: Subject,
    /// What was found, without the subject.
    pub message: String,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Routes that reach nothing (errors).
    pub problems: Vec<Finding>,
    /// Operations no route exposes (information).
    pub unexposed: Vec<Finding>,
}

/// One segment of the path a route forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Static(String),
    /// A captured parameter: one segment.
    Param,
    /// A catch-all capture: one or more segments.
    Rest,
    /// Literal text and captures within one segment; `true` if one is a catch-all.
    Mixed(Vec<Result<String, String>>, bool),
}

/// The path a route forwards to, as a template: its segments, the query parameters its
/// rewrite sets, and the text for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Forwarded {
    parts: Vec<Part>,
    query: Vec<String>,
    text: String,
}

/// Checks every route on an upstream in `upstreams` (its own, and the sides of its split).
pub fn check(routes: &[RouteSpec], upstreams: &[Upstream<'_>]) -> Report {
    let mut report = Report::default();
    let mut exposed: Vec<Vec<bool>> = upstreams
        .iter()
        .map(|u| vec![false; u.contract.operations.len()])
        .collect();
    for (u, upstream) in upstreams.iter().enumerate() {
        let health = parts_of(upstream.health_path, &[]);
        let probed = upstream
            .contract
            .operations
            .iter()
            .enumerate()
            .filter(|(_, op)| {
                op.method == "GET" && health.as_ref().is_ok_and(|h| lines_up(h, &op.segments))
            });
        let mut found = false;
        for (i, _) in probed {
            exposed[u][i] = true;
            found = true;
        }
        if !found {
            report.problems.push(Finding {
                subject: Subject::Upstream(upstream.name.to_owned()),
                message: format!(
                    "health_path {} is not a GET operation of its contract {}",
                    upstream.health_path, upstream.source
                ),
            });
        }
    }
    for route in routes {
        let Ok(forwarded) = forwarded(route) else {
            continue; // validation reports the route's own problems
        };
        // (a method the gateway does not serve is validation's problem, not the contract's)
        let methods: Vec<&str> = if route.methods.is_empty() {
            METHODS.to_vec()
        } else {
            route
                .methods
                .iter()
                .map(String::as_str)
                .filter(|m| METHODS.contains(m))
                .collect()
        };
        let targets = std::iter::once(route.upstream.as_str()).chain(
            route
                .split
                .iter()
                .flat_map(|s| s.to.keys().map(String::as_str)),
        );
        for target in targets {
            let Some(u) = upstreams.iter().position(|u| u.name == target) else {
                continue;
            };
            let upstream = &upstreams[u];
            let found = reach(&forwarded, &methods, upstream, &mut exposed[u]);
            report
                .problems
                .extend(found.into_iter().map(|message| Finding {
                    subject: Subject::Route(route.id.clone()),
                    message,
                }));
        }
    }
    for (u, upstream) in upstreams.iter().enumerate() {
        for (i, op) in upstream.contract.operations.iter().enumerate() {
            if !exposed[u][i] && !op.internal {
                report.unexposed.push(Finding {
                    subject: Subject::Upstream(upstream.name.to_owned()),
                    message: format!(
                        "{} in its contract {} is exposed by no route",
                        op.label(),
                        upstream.source
                    ),
                });
            }
        }
    }
    report
}

/// The problems of one route on one upstream; marks the operations it exposes.
fn reach(
    forwarded: &Forwarded,
    methods: &[&str],
    upstream: &Upstream<'_>,
    exposed: &mut [bool],
) -> Vec<String> {
    let ops = &upstream.contract.operations;
    let lined: Vec<usize> = (0..ops.len())
        .filter(|&i| lines_up(&forwarded.parts, &ops[i].segments))
        .collect();
    let on = format!(
        "the contract of upstream `{}` ({})",
        upstream.name, upstream.source
    );
    if lined.is_empty() {
        return vec![format!(
            "{} {} (after its rewrite) reaches no operation in {on}",
            methods.join(", "),
            forwarded.text
        )];
    }
    let serving = |method: &str| -> Option<usize> {
        let exact = lined.iter().copied().find(|&i| ops[i].method == method);
        exact.or_else(|| {
            (method == "HEAD")
                .then(|| lined.iter().copied().find(|&i| ops[i].method == "GET"))
                .flatten()
        })
    };
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    for method in methods {
        match serving(method) {
            Some(i) => {
                exposed[i] = true;
                for name in &forwarded.query {
                    if ops[i].param("query", name).is_none() {
                        problems.push(format!(
                            "its rewrite sets query parameter `{name}`, which {} in {on} does not take",
                            ops[i].label()
                        ));
                    }
                }
            }
            None => missing.push(*method),
        }
    }
    if !missing.is_empty() {
        let have: Vec<&str> = super::METHODS
            .into_iter()
            .filter(|m| lined.iter().any(|&i| ops[i].method == *m))
            .collect();
        problems.insert(
            0,
            format!(
                "{} {} (after its rewrite) reaches no operation in {on}, which has {} only",
                missing.join(", "),
                forwarded.text,
                have.join(", ")
            ),
        );
    }
    problems
}

/// Whether a forwarded path reaches a contract template.
fn lines_up(route: &[Part], contract: &[Segment]) -> bool {
    match (route.first(), contract.first()) {
        (None, None) => true,
        (
            Some(_),
            Some(Segment::Param {
                catch_all: true, ..
            }),
        ) => {
            // the rest of the path, which must not be empty
            contract.len() == 1 && route != [Part::Static(String::new())]
        }
        (Some(part), Some(segment)) => {
            let one = match (part, segment) {
                (Part::Static(a), Segment::Static(b)) => a == b,
                (Part::Static(a), Segment::Param { .. }) => !a.is_empty(),
                (Part::Param, Segment::Param { .. }) => true,
                (Part::Mixed(_, false), Segment::Param { .. }) => true,
                (Part::Static(text), Segment::Mixed(pattern)) => glob(pattern, text),
                (Part::Mixed(a, false), Segment::Mixed(b)) => same_shape(a, b),
                _ => false,
            };
            one && lines_up(&route[1..], &contract[1..])
        }
        _ => false,
    }
}

/// Whether literal `text` is a value of a segment pattern (each parameter one or more
/// characters).
fn glob(pattern: &[Result<String, String>], text: &str) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((Ok(literal), rest)) => text
            .strip_prefix(literal.as_str())
            .is_some_and(|t| glob(rest, t)),
        Some((Err(_), rest)) => (1..=text.len())
            .filter(|&n| text.is_char_boundary(n))
            .any(|n| glob(rest, &text[n..])),
    }
}

/// Same literals at the same places, parameters against parameters.
fn same_shape(a: &[Result<String, String>], b: &[Result<String, String>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Ok(x), Ok(y)) => x == y,
            (Err(_), Err(_)) => true,
            _ => false,
        })
}

/// The path a route forwards to: its own path, with the prefix stripped, or its template.
fn forwarded(route: &RouteSpec) -> Result<Forwarded, String> {
    let catch_alls: Vec<String> = template_pieces_all(&route.path)?
        .into_iter()
        .filter_map(|(name, rest)| rest.then_some(name))
        .collect();
    let (path, query) = match &route.rewrite {
        None => (route.path.clone(), ""),
        Some(RewriteSpec::StripPrefix(prefix)) => {
            let path = match route.path.strip_prefix(prefix.as_str()) {
                Some("") => "/".to_owned(),
                Some(rest) if rest.starts_with('/') => rest.to_owned(),
                _ => route.path.clone(),
            };
            (path, "")
        }
        Some(RewriteSpec::Template(template)) => match template.split_once('?') {
            Some((path, query)) => (path.to_owned(), query),
            None => (template.clone(), ""),
        },
    };
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            pair.split_once('=')
                .map_or(pair, |(name, _)| name)
                .to_owned()
        })
        .collect();
    Ok(Forwarded {
        parts: parts_of(&path, &catch_alls)?,
        query,
        text: path,
    })
}

/// Every `{name}` in a matchit path, and whether it is a catch-all (`{*name}`).
fn template_pieces_all(path: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or("unbalanced `{`")?;
        let inner = &rest[open + 1..open + close];
        out.push((
            inner.trim_start_matches('*').to_owned(),
            inner.starts_with('*'),
        ));
        rest = &rest[open + close + 1..];
    }
    Ok(out)
}

/// The segments of a forwarded path template; `catch_alls` names the route's catch-alls.
fn parts_of(path: &str, catch_alls: &[String]) -> Result<Vec<Part>, String> {
    let rest = path.strip_prefix('/').ok_or("does not start with `/`")?;
    let is_rest = |name: &str| catch_alls.iter().any(|c| c == name);
    rest.split('/')
        .map(|segment| {
            let pieces = template_pieces(segment)?;
            Ok(match pieces.as_slice() {
                [] => Part::Static(String::new()),
                [Ok(text)] => Part::Static(text.clone()),
                [Err(name)] if is_rest(name) => Part::Rest,
                [Err(_)] => Part::Param,
                _ => {
                    let spans = pieces.iter().any(|p| p.as_ref().is_err_and(|n| is_rest(n)));
                    Part::Mixed(pieces, spans)
                }
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
