//! The route table wire format: the JSON document the worker reads from KV (format 3; formats 1
//! — a table without policies — and 2 — without conditions or splits — are still read).
//!
//! `gatewayctl` compiles `routes.toml` into this document for one environment; the worker and
//! the CLI both turn it into a [`RouteTable`](super::RouteTable) with the same validation.
//! The format is documented in `docs/route-table-format.md`; bump [`FORMAT`] on any change that
//! an older worker could misread.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::PolicySpec;
use crate::rollout::split::SplitSpec;
use crate::rollout::when::WhenSpec;

/// The newest document format this build reads and writes (2: policies; 3: routes' `when`
/// and `split`).
pub const FORMAT: u32 = 3;
/// The format that added policies.
pub const POLICIES_FORMAT: u32 = 2;
/// The oldest format this build still reads (1: no policies). `gatewayctl` writes a table
/// without policies as format 1, so workers of the previous release can still read it.
pub const MIN_FORMAT: u32 = 1;

/// A compiled route table for one environment, as stored in KV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDocument {
    /// Wire format version: [`MIN_FORMAT`] to [`FORMAT`], and at least what
    /// [`needed_format`](Self::needed_format) says.
    pub format: u32,
    /// Version id, unique per publish (e.g. `20261122T031500Z-3f2a9c1b`).
    pub version: String,
    /// Hex SHA-256 of the document's routes and upstreams (identical tables share it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub checksum: String,
    /// The environment the origins were resolved for (`local`, `production`, …).
    pub environment: String,
    /// Upstreams by name.
    pub upstreams: BTreeMap<String, UpstreamSpec>,
    /// Routes, in file order.
    pub routes: Vec<RouteSpec>,
    /// Named policies, by name (format 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, PolicySpec>,
    /// Policies every route runs before its own, and that answer for unrouted requests
    /// (format 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_policies: Vec<String>,
}

impl RouteDocument {
    /// The oldest format that can express this document: 3 with conditions or splits, 2 with
    /// policies, else 1.
    pub fn needed_format(&self) -> u32 {
        let rollout = self
            .routes
            .iter()
            .any(|r| r.when.is_some() || r.split.is_some());
        let policies = !self.policies.is_empty()
            || !self.default_policies.is_empty()
            || self
                .routes
                .iter()
                .any(|r| !r.policies.is_empty() || r.allow_encoded_separators);
        if rollout {
            FORMAT
        } else if policies {
            POLICIES_FORMAT
        } else {
            MIN_FORMAT
        }
    }
}

/// One upstream service, resolved for a single environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSpec {
    /// Origin base URLs (`https://users.example.com`, `http://127.0.0.1:9101`), each
    /// optionally with a weight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<OriginSpec>,
    /// A service binding (Fetcher) name to use instead of origin URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// Default timeout for the origin's response headers, in milliseconds.
    pub timeout_ms: u64,
    /// Path probed by health checks.
    pub health_path: String,
    /// Health probe timeout, in milliseconds (at most 5000).
    #[serde(default = "default_health_timeout")]
    pub health_timeout_ms: u64,
    /// A healthy answer slower than this counts as degraded, in milliseconds.
    #[serde(default = "default_degraded")]
    pub degraded_ms: u64,
    /// What to do when every origin is unhealthy.
    #[serde(default)]
    pub all_unhealthy: AllUnhealthy,
    /// Names of the secrets that hold a Cloudflare Access service token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_secrets: Option<AccessSecrets>,
}

/// Default health probe timeout, in milliseconds.
pub const DEFAULT_HEALTH_TIMEOUT_MS: u64 = 2_000;
/// Default latency above which a healthy answer is degraded, in milliseconds.
pub const DEFAULT_DEGRADED_MS: u64 = 1_000;

fn default_health_timeout() -> u64 {
    DEFAULT_HEALTH_TIMEOUT_MS
}

fn default_degraded() -> u64 {
    DEFAULT_DEGRADED_MS
}

/// An origin: a bare URL (weight 1) or `{ url, weight }`.
///
/// Deserialised by hand rather than with `#[serde(untagged)]`, which would buffer every value
/// through serde's generic content type and add kilobytes to the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum OriginSpec {
    /// A URL with weight 1.
    Url(String),
    /// A URL with an explicit weight (0 drains the origin).
    Weighted {
        /// Base URL.
        url: String,
        /// Relative share of the upstream's traffic.
        weight: u32,
    },
}

impl OriginSpec {
    /// The base URL.
    pub fn url(&self) -> &str {
        match self {
            Self::Url(url) | Self::Weighted { url, .. } => url,
        }
    }

    /// The weight (1 for a bare URL).
    pub fn weight(&self) -> u32 {
        match self {
            Self::Url(_) => 1,
            Self::Weighted { weight, .. } => *weight,
        }
    }
}

impl<'de> Deserialize<'de> for OriginSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OriginSpec;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an origin URL or { url, weight }")
            }

            fn visit_str<E: serde::de::Error>(self, url: &str) -> Result<OriginSpec, E> {
                Ok(OriginSpec::Url(url.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OriginSpec, A::Error> {
                let (mut url, mut weight) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "url" => url = Some(map.next_value::<String>()?),
                        "weight" => weight = Some(map.next_value::<u32>()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(other, &["url", "weight"]))
                        }
                    }
                }
                let url = url.ok_or_else(|| serde::de::Error::missing_field("url"))?;
                Ok(match weight {
                    Some(weight) => OriginSpec::Weighted { url, weight },
                    None => OriginSpec::Url(url),
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl From<&str> for OriginSpec {
    fn from(url: &str) -> Self {
        Self::Url(url.to_owned())
    }
}

/// What an upstream does when every origin is unhealthy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllUnhealthy {
    /// Answer 503 with `Retry-After` at once.
    #[default]
    Reject,
    /// Send the request to one origin anyway (still exactly one attempt).
    TryAnyway,
}

/// Names of the worker secrets holding a Cloudflare Access service token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSecrets {
    /// Secret sent as `CF-Access-Client-Id`.
    pub client_id: String,
    /// Secret sent as `CF-Access-Client-Secret`.
    pub client_secret: String,
}

/// One route. The same shape appears in `routes.toml` and in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Unique, stable id; appears in logs, errors and diffs.
    pub id: String,
    /// Methods served; empty means every method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Path pattern in matchit 0.9 syntax (`/users/{id}`, `/static/{*rest}`).
    pub path: String,
    /// Exact host this route is limited to; absent means any host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Name of the upstream requests are forwarded to.
    pub upstream: String,
    /// How the path is rewritten before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<RewriteSpec>,
    /// Timeout overriding the upstream's, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Names of the policies this route runs (after the defaults), in any order: they run
    /// in the fixed phase order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Accept captured parameters holding `%2F`, `%5C` or an encoded dot-segment (refused
    /// with 400 by default: an origin framework might decode and normalise them) (format 2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_encoded_separators: bool,
    /// Conditions a request must meet for this route to serve it (format 3); several routes
    /// may then share a host, path and method. Boxed, as are splits: most routes have
    /// neither, and a document of 10,000 routes is held beside the table while it loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Box<WhenSpec>>,
    /// A sticky share of the route's requests sent to other upstreams (format 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Box<SplitSpec>>,
}

/// A path rewrite: either strip a literal prefix or build the path from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RewriteSpec {
    /// Remove this literal prefix (`/api`) from the matched path.
    StripPrefix(String),
    /// Build the path from literal text and `{param}` captures (`/v1/users/{id}`).
    Template(String),
}

impl RouteDocument {
    /// Parses a document from JSON text (the KV value).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Serialises the document as compact JSON (the KV value).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a route document always serialises")
    }
}

/// KV key holding the id of the active version (plain text).
pub const ACTIVE_KEY: &str = "routes/active";

/// KV key holding the document of `version`; written once, never overwritten.
pub fn version_key(version: &str) -> String {
    format!("routes/versions/{version}")
}
