//! `check` against wrangler.toml: every binding a compiled route table names is declared for
//! its environment — rate limit bindings with the same limit and period, Durable Object
//! bindings of class `RateLimiter`, service bindings. routes.toml's `local` is wrangler.toml's
//! top level; any other environment NAME is `[env.NAME]` (wrangler does not inherit bindings).

use std::collections::BTreeMap;
use std::path::Path;

use gateway::policy::rate_limit::{RateLimitSpec, Store};
use gateway::policy::PolicySpec;
use gateway::table::{RouteDocument, Subject};
use serde::Deserialize;

use crate::locate::line_col;

/// The class the gateway's Durable Object rate limiter is exported as.
pub const RATE_LIMITER_CLASS: &str = "RateLimiter";

/// The bindings of a wrangler configuration file, as far as `check` needs them.
#[derive(Debug)]
pub struct WranglerToml {
    /// The file name as given, for messages.
    pub name: String,
    top: Bindings,
    env: BTreeMap<String, Bindings>,
}

/// The file: the top level's bindings and the environments' (not `#[serde(flatten)]`, which
/// would lose the positions of errors).
#[derive(Debug, Deserialize)]
struct Config {
    #[serde(default)]
    ratelimits: Vec<RateLimitBinding>,
    #[serde(default)]
    durable_objects: DurableObjects,
    #[serde(default)]
    services: Vec<ServiceBinding>,
    #[serde(default)]
    vpc_services: Vec<ServiceBinding>,
    #[serde(default)]
    env: BTreeMap<String, Bindings>,
}

/// One environment's bindings (unknown fields are ignored).
#[derive(Debug, Default, Deserialize)]
struct Bindings {
    #[serde(default)]
    ratelimits: Vec<RateLimitBinding>,
    #[serde(default)]
    durable_objects: DurableObjects,
    #[serde(default)]
    services: Vec<ServiceBinding>,
    #[serde(default)]
    vpc_services: Vec<ServiceBinding>,
}

#[derive(Debug, Deserialize)]
struct RateLimitBinding {
    name: String,
    simple: Option<Simple>,
}

#[derive(Debug, Deserialize)]
struct Simple {
    limit: u64,
    period: u64,
}

#[derive(Debug, Default, Deserialize)]
struct DurableObjects {
    #[serde(default)]
    bindings: Vec<DurableObjectBinding>,
}

#[derive(Debug, Deserialize)]
struct DurableObjectBinding {
    name: String,
    class_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ServiceBinding {
    binding: String,
}

impl WranglerToml {
    /// Reads `path`; `Ok(None)` if it does not exist. A TOML error is reported with its
    /// position.
    pub fn read(path: &Path) -> Result<Option<Self>, String> {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{name}: {e}\nnothing was changed")),
        };
        Self::parse(name, &text).map(Some)
    }

    /// Parses the text of a wrangler configuration named `name`.
    pub fn parse(name: String, text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            format!(
                "{name}:{line}:{col}: {}\nnothing was changed",
                e.message().trim()
            )
        })?;
        let top = Bindings {
            ratelimits: config.ratelimits,
            durable_objects: config.durable_objects,
            services: config.services,
            vpc_services: config.vpc_services,
        };
        Ok(Self {
            name,
            top,
            env: config.env,
        })
    }

    /// Every binding `doc` names that its environment does not declare (or declares
    /// differently), by policy or upstream.
    pub fn problems(&self, doc: &RouteDocument) -> Vec<(Subject, String)> {
        let env = doc.environment.as_str();
        let empty = Bindings::default();
        let (declared, place, table) = if env == "local" {
            (
                &self.top,
                format!("{} (top level)", self.name),
                String::new(),
            )
        } else {
            (
                self.env.get(env).unwrap_or(&empty),
                format!("{} [env.{env}]", self.name),
                format!("env.{env}."),
            )
        };
        let mut problems = Vec::new();
        for (name, spec) in &doc.policies {
            let PolicySpec::RateLimit(rl) = spec else {
                continue;
            };
            if rl.binding.is_empty() {
                continue; // validation reports it
            }
            let problem = match rl.store {
                Store::Binding => rate_limit_problem(rl, declared, &place, &table),
                Store::DurableObject => durable_object_problem(rl, declared, &place, &table),
            };
            problems.extend(problem.map(|p| (Subject::Policy(name.clone()), p)));
        }
        for (name, upstream) in &doc.upstreams {
            let Some(binding) = upstream.binding.as_deref().filter(|b| !b.is_empty()) else {
                continue;
            };
            let declared = declared
                .services
                .iter()
                .chain(&declared.vpc_services)
                .any(|s| s.binding == binding);
            if !declared {
                problems.push((
                    Subject::Upstream(name.clone()),
                    format!(
                        "service binding `{binding}` is not declared in {place}: add a \
                         [[{table}services]] entry with binding = \"{binding}\""
                    ),
                ));
            }
        }
        problems
    }
}

fn rate_limit_problem(
    rl: &RateLimitSpec,
    declared: &Bindings,
    place: &str,
    table: &str,
) -> Option<String> {
    let b = &rl.binding;
    let want = format!(
        "simple = {{ limit = {}, period = {} }}",
        rl.limit, rl.period_s
    );
    let Some(found) = declared.ratelimits.iter().find(|r| &r.name == b) else {
        return Some(format!(
            "rate limit binding `{b}` is not declared in {place}: add a [[{table}ratelimits]] \
             entry with name = \"{b}\" and {want}"
        ));
    };
    let Some(simple) = &found.simple else {
        return Some(format!(
            "rate limit binding `{b}` in {place} has no `simple` limit: add {want}"
        ));
    };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    if simple.limit != rl.limit {
        ours.push(format!("limit = {}", rl.limit));
        theirs.push(format!("simple.limit = {}", simple.limit));
    }
    if simple.period != rl.period_s {
        ours.push(format!("period_s = {}", rl.period_s));
        theirs.push(format!("simple.period = {}", simple.period));
    }
    (!ours.is_empty()).then(|| {
        format!(
            "{}, but rate limit binding `{b}` in {place} has {}: make them equal (the binding \
             enforces wrangler's numbers)",
            ours.join(" and "),
            theirs.join(" and ")
        )
    })
}

fn durable_object_problem(
    rl: &RateLimitSpec,
    declared: &Bindings,
    place: &str,
    table: &str,
) -> Option<String> {
    let b = &rl.binding;
    let Some(found) = declared
        .durable_objects
        .bindings
        .iter()
        .find(|d| &d.name == b)
    else {
        return Some(format!(
            "Durable Object binding `{b}` is not declared in {place}: add a \
             [[{table}durable_objects.bindings]] entry with name = \"{b}\" and class_name = \
             \"{RATE_LIMITER_CLASS}\""
        ));
    };
    match found.class_name.as_deref() {
        Some(RATE_LIMITER_CLASS) => None,
        Some(other) => Some(format!(
            "Durable Object binding `{b}` in {place} has class_name = \"{other}\": rate limits \
             need class_name = \"{RATE_LIMITER_CLASS}\""
        )),
        None => Some(format!(
            "Durable Object binding `{b}` in {place} has no class_name: rate limits need \
             class_name = \"{RATE_LIMITER_CLASS}\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::table::source::RouteFile;

    const WRANGLER: &str = r#"
name = "w"
[[ratelimits]]
name = "RL"
namespace_id = "1"
simple = { limit = 100, period = 60 }
[[durable_objects.bindings]]
name = "DO"
class_name = "RateLimiter"
[[services]]
binding = "SVC"

[env.prod]
name = "w"
[[env.prod.ratelimits]]
name = "RL"
namespace_id = "2"
simple = { limit = 50, period = 10 }
[[env.prod.durable_objects.bindings]]
name = "DO"
class_name = "Counter"
[[env.prod.vpc_services]]
binding = "SVC"
"#;

    const ROUTES: &str = r#"
[upstreams.a.env.local]
binding = "SVC"
[upstreams.a.env.prod]
binding = "SVC"
[upstreams.a.env.staging]
binding = "SVC"
[policies.rl]
type = "rate_limit"
key = "ip"
limit = 100
period_s = 60
store = "binding"
binding = "RL"
[policies.do]
type = "rate_limit"
key = "ip"
limit = 5
period_s = 60
store = "durable_object"
binding = "DO"
"#;

    fn problems(env: &str) -> Vec<String> {
        let wrangler = WranglerToml::parse("w.toml".into(), WRANGLER).unwrap();
        let file: RouteFile = toml::from_str(ROUTES).unwrap();
        let doc = file.compile(env).unwrap();
        wrangler
            .problems(&doc)
            .into_iter()
            .map(|(s, p)| format!("{s}: {p}"))
            .collect()
    }

    #[test]
    fn local_is_the_top_level_and_matches() {
        assert_eq!(problems("local"), Vec::<String>::new());
    }

    #[test]
    fn an_environment_reports_mismatches_and_accepts_vpc_services() {
        assert_eq!(
            problems("prod"),
            [
                "policy `do`: Durable Object binding `DO` in w.toml [env.prod] has class_name = \"Counter\": rate limits need class_name = \"RateLimiter\"",
                "policy `rl`: limit = 100 and period_s = 60, but rate limit binding `RL` in w.toml [env.prod] has simple.limit = 50 and simple.period = 10: make them equal (the binding enforces wrangler's numbers)",
            ]
        );
    }

    #[test]
    fn an_environment_wrangler_lacks_inherits_nothing() {
        assert_eq!(
            problems("staging"),
            [
                "policy `do`: Durable Object binding `DO` is not declared in w.toml [env.staging]: add a [[env.staging.durable_objects.bindings]] entry with name = \"DO\" and class_name = \"RateLimiter\"",
                "policy `rl`: rate limit binding `RL` is not declared in w.toml [env.staging]: add a [[env.staging.ratelimits]] entry with name = \"RL\" and simple = { limit = 100, period = 60 }",
                "upstream `a`: service binding `SVC` is not declared in w.toml [env.staging]: add a [[env.staging.services]] entry with binding = \"SVC\"",
            ]
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = WranglerToml::parse("w.toml".into(), "name = \"w\"\n[[ratelimits]]\nname = 1\n")
            .unwrap_err();
        assert!(err.starts_with("w.toml:3:8: "), "{err}");
        assert!(err.ends_with("\nnothing was changed"), "{err}");
    }
}
