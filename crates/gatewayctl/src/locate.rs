//! Where things are in `routes.toml`: line and column of each route and upstream, so every
//! problem can be reported as `file:line:column`.

use std::collections::BTreeMap;

use gateway::table::Subject;
use serde::Deserialize;

#[derive(Deserialize)]
struct SpanFile {
    #[serde(default)]
    routes: Vec<SpanRoute>,
}

#[derive(Deserialize)]
struct SpanRoute {
    id: Option<toml::Spanned<String>>,
}

/// Positions of the subjects of a route file.
#[derive(Debug, Default)]
pub struct Positions {
    routes: Vec<(String, (usize, usize))>,
    upstreams: BTreeMap<String, (usize, usize)>,
    policies: BTreeMap<String, (usize, usize)>,
    defaults: Option<(usize, usize)>,
}

impl Positions {
    /// Finds every route id and upstream header in `text` (best effort: unknown → 1:1).
    pub fn of(text: &str) -> Self {
        let routes = toml::from_str::<SpanFile>(text)
            .map(|f| f.routes)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.id)
            .map(|id| (id.get_ref().clone(), line_col(text, id.span().start)))
            .collect();
        let mut upstreams = BTreeMap::new();
        let mut policies = BTreeMap::new();
        let mut defaults = None;
        for (n, line) in text.lines().enumerate() {
            let header = line.trim_start();
            if header.starts_with("default_policies") && defaults.is_none() {
                defaults = Some((n + 1, 1));
            }
            for (prefix, table) in [
                ("[upstreams.", &mut upstreams),
                ("[policies.", &mut policies),
            ] {
                if let Some(rest) = header.strip_prefix(prefix) {
                    let name: String = rest
                        .chars()
                        .take_while(|c| !matches!(c, '.' | ']'))
                        .collect();
                    table
                        .entry(name.trim_matches('"').to_owned())
                        .or_insert((n + 1, 1));
                }
            }
        }
        Self {
            routes,
            upstreams,
            policies,
            defaults,
        }
    }

    /// Line and column for a validation subject.
    pub fn of_subject(&self, subject: &Subject, duplicate: bool) -> (usize, usize) {
        match subject {
            Subject::Document => self.defaults.unwrap_or((1, 1)),
            Subject::Upstream(name) => self.upstreams.get(name).copied().unwrap_or((1, 1)),
            Subject::Policy(name) => self.policies.get(name).copied().unwrap_or((1, 1)),
            Subject::Route(id) => {
                if let Some(i) = id.strip_prefix("routes[").and_then(|s| s.strip_suffix(']')) {
                    return i
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| self.routes.get(i))
                        .map_or((1, 1), |r| r.1);
                }
                let mut matching = self.routes.iter().filter(|(r, _)| r == id);
                let found = if duplicate {
                    matching.next_back()
                } else {
                    matching.next()
                };
                found.map_or((1, 1), |r| r.1)
            }
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
