//! The human-edited source, `routes.toml`, and its compilation into a [`RouteDocument`] for one
//! environment. Parsing the TOML text happens in `gatewayctl`; this module holds the shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    AccessSecrets, AllUnhealthy, OriginSpec, RouteDocument, RouteSpec, Subject, UpstreamSpec,
    FORMAT,
};
use crate::policy::PolicySpec;

/// Default upstream timeout when `routes.toml` sets none, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Default health path when `routes.toml` sets none.
pub const DEFAULT_HEALTH_PATH: &str = "/healthz";

/// The whole of `routes.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// Policies every route runs before its own (and that answer unrouted requests).
    #[serde(default)]
    pub default_policies: Vec<String>,
    /// Upstreams by name.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamSource>,
    /// Policies by name (`[policies.NAME]`).
    #[serde(default)]
    pub policies: BTreeMap<String, PolicySource>,
    /// Routes, in order (`[[routes]]`).
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
}

/// A policy as written: `type = "…"`, its settings, and optional per-environment overrides
/// (`[policies.NAME.env.ENV]`, merged over the settings). Kept as a JSON map until
/// [`RouteFile::compile`] turns it into a [`PolicySpec`] for one environment.
pub type PolicySource = serde_json::Map<String, serde_json::Value>;

/// An upstream as written: shared settings plus one block per environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSource {
    /// Default response-header timeout, in milliseconds.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Path probed by health checks.
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Health probe timeout, in milliseconds (at most 5000).
    #[serde(default = "default_health_timeout")]
    pub health_timeout_ms: u64,
    /// A healthy answer slower than this counts as degraded, in milliseconds.
    #[serde(default = "default_degraded")]
    pub degraded_ms: u64,
    /// What to do when every origin is unhealthy: `reject` (503) or `try_anyway`.
    #[serde(default)]
    pub all_unhealthy: AllUnhealthy,
    /// Where the upstream lives in each environment (`[upstreams.users.env.local]`).
    pub env: BTreeMap<String, EnvTarget>,
    /// The service's OpenAPI document, a path relative to `routes.toml`: `gatewayctl check`
    /// verifies that every route on this upstream reaches an operation it defines. Checked
    /// before publishing only; it is not part of the route document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
}

/// Where an upstream lives in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvTarget {
    /// Origin base URLs: loopback locally, the Cloudflare Tunnel hostname in production;
    /// each a string, or `{ url = "…", weight = N }`.
    #[serde(default)]
    pub origins: Vec<OriginSpec>,
    /// A service binding name (Worker or Workers VPC service) instead of origins.
    #[serde(default)]
    pub binding: Option<String>,
    /// Secrets holding a Cloudflare Access service token for this environment's origins.
    #[serde(default)]
    pub access_secrets: Option<AccessSecrets>,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

fn default_health_path() -> String {
    DEFAULT_HEALTH_PATH.to_owned()
}

fn default_health_timeout() -> u64 {
    super::document::DEFAULT_HEALTH_TIMEOUT_MS
}

fn default_degraded() -> u64 {
    super::document::DEFAULT_DEGRADED_MS
}

/// A problem compiling the source for one environment: an upstream without a block for it,
/// or a policy whose settings do not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileProblem {
    /// The upstream or policy.
    pub subject: Subject,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for CompileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

/// Turns a policy's source into its spec for `environment`.
fn compile_policy(source: &PolicySource, environment: &str) -> Result<PolicySpec, String> {
    use serde_json::Value;
    let mut fields = source.clone();
    let kind = match fields.remove("type") {
        Some(Value::String(kind)) => kind,
        _ => {
            return Err(format!(
                "needs `type = \"…\"`, one of {}",
                crate::policy::TYPES.join(", ")
            ))
        }
    };
    match fields.remove("env") {
        None => {}
        Some(Value::Object(envs)) => match envs.get(environment) {
            None => {}
            Some(Value::Object(overrides)) => {
                fields.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())))
            }
            Some(_) => return Err(format!("`env.{environment}` must be a table")),
        },
        Some(_) => return Err("`env` must be a table of environments".into()),
    }
    let tagged = Value::Object([(kind, Value::Object(fields))].into_iter().collect());
    serde_json::from_value(tagged).map_err(|e| e.to_string())
}

impl RouteFile {
    /// Environments named by any upstream, sorted.
    pub fn environments(&self) -> Vec<String> {
        let mut envs: Vec<String> = self
            .upstreams
            .values()
            .flat_map(|u| u.env.keys().cloned())
            .collect();
        envs.sort();
        envs.dedup();
        envs
    }

    /// Resolves every upstream for `environment` into an unversioned document.
    ///
    /// The result still has to pass validation; `version` and `checksum` are left empty for
    /// the publisher to fill in ([`RouteDocument::checksum_input`]).
    pub fn compile(&self, environment: &str) -> Result<RouteDocument, Vec<CompileProblem>> {
        let (doc, problems) = self.compile_partial(environment);
        if problems.is_empty() {
            Ok(doc)
        } else {
            Err(problems)
        }
    }

    /// Like [`compile`](Self::compile), but always returns a document — without the
    /// upstreams and policies that did not compile — beside the problems, so a checker can
    /// also validate everything else and report every problem at once.
    pub fn compile_partial(&self, environment: &str) -> (RouteDocument, Vec<CompileProblem>) {
        let mut missing = Vec::new();
        let mut upstreams = BTreeMap::new();
        for (name, source) in &self.upstreams {
            let Some(target) = source.env.get(environment) else {
                missing.push(CompileProblem {
                    subject: Subject::Upstream(name.clone()),
                    message: format!("no `[upstreams.{name}.env.{environment}]` block"),
                });
                continue;
            };
            upstreams.insert(
                name.clone(),
                UpstreamSpec {
                    origins: target.origins.clone(),
                    binding: target.binding.clone(),
                    timeout_ms: source.timeout_ms,
                    health_path: source.health_path.clone(),
                    health_timeout_ms: source.health_timeout_ms,
                    degraded_ms: source.degraded_ms,
                    all_unhealthy: source.all_unhealthy,
                    access_secrets: target.access_secrets.clone(),
                },
            );
        }
        let mut policies = BTreeMap::new();
        for (name, source) in &self.policies {
            match compile_policy(source, environment) {
                Ok(spec) => {
                    policies.insert(name.clone(), spec);
                }
                Err(message) => missing.push(CompileProblem {
                    subject: Subject::Policy(name.clone()),
                    message,
                }),
            }
        }
        let mut doc = RouteDocument {
            format: FORMAT,
            version: String::new(),
            checksum: String::new(),
            environment: environment.to_owned(),
            upstreams,
            routes: self.routes.clone(),
            policies,
            default_policies: self.default_policies.clone(),
        };
        doc.format = doc.needed_format();
        (doc, missing)
    }
}

impl RouteDocument {
    /// The bytes a content checksum covers: everything but `version` and `checksum`, so that
    /// publishing an identical table twice yields the same checksum.
    pub fn checksum_input(&self) -> String {
        let bare = RouteDocument {
            version: String::new(),
            checksum: String::new(),
            ..self.clone()
        };
        bare.to_json()
    }
}
