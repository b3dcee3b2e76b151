//! The `api_key` policy: a key issued by `gatewayctl keys create`, sent in a header (or a
//! query parameter). KV stores only the key's SHA-256 (`apikeys/<hex>` → [`KeyRecord`]);
//! the edge keeps a bounded per-isolate [`KeyCache`] of positive and negative answers, so a
//! revocation takes effect within the cache's time to live.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::jwt::CONSUMER_HEADER;
use super::{check_header_name, Check, Exchange, Found, Lookup, Phase, Rejection, Spec, Verdict};
use crate::context::HeaderOp;
use crate::problem::GatewayError;

/// KV key prefix of key records.
pub const KV_PREFIX: &str = "apikeys/";
/// Default header carrying the key.
pub const DEFAULT_HEADER: &str = "x-api-key";
/// Longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 256;

/// The `api_key` policy as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    /// Header carrying the key (default `x-api-key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Query parameter carrying the key, instead of a header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Header the consumer's name reaches the origin in (default `x-gateway-consumer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_header: Option<String>,
    /// Forward the key header to the origin too (default: removed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward_key: bool,
}

/// Where the key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A request header.
    Header(String),
    /// A query parameter.
    Query(String),
}

/// A validated API key policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Where the key is.
    pub source: KeySource,
    /// The consumer's header.
    pub consumer_header: String,
    /// Whether the key header is forwarded.
    pub forward_key: bool,
}

/// What KV stores for a key (the key itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// A short public id to list and revoke the key by (`k_…`).
    pub id: String,
    /// The consumer the key belongs to.
    pub consumer: String,
    /// When it was created, in seconds since the epoch.
    pub created_at: u64,
    /// When it expires, in seconds since the epoch; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// The KV lookup an API key needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLookup {
    /// Hex SHA-256 of the presented key.
    pub hash: String,
}

impl KeyLookup {
    /// The KV key of the record.
    pub fn kv_key(&self) -> String {
        format!("{KV_PREFIX}{}", self.hash)
    }
}

/// Hex SHA-256 of a key: what KV is keyed by.
pub fn key_hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        hex.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    hex
}

impl Spec for ApiKeySpec {
    type Checked = ApiKey;

    fn validate(self) -> Result<ApiKey, Vec<String>> {
        let mut problems = Vec::new();
        let source = match (self.header, self.query) {
            (Some(_), Some(_)) => {
                problems.push("set `header` or `query`, not both".into());
                KeySource::Header(DEFAULT_HEADER.into())
            }
            (None, Some(q)) if q.is_empty() => {
                problems.push("query must not be empty".into());
                KeySource::Query(q)
            }
            (None, Some(q)) => KeySource::Query(q),
            (header, None) => {
                let header = header.unwrap_or_else(|| DEFAULT_HEADER.into());
                problems.extend(check_header_name("header", &header));
                KeySource::Header(header)
            }
        };
        let consumer_header = self
            .consumer_header
            .unwrap_or_else(|| CONSUMER_HEADER.to_owned());
        problems.extend(check_header_name("consumer_header", &consumer_header));
        if problems.is_empty() {
            Ok(ApiKey {
                source,
                consumer_header,
                forward_key: self.forward_key,
            })
        } else {
            Err(problems)
        }
    }
}

impl ApiKey {
    fn reject(&self, reason: &str) -> Verdict {
        let challenge = match &self.source {
            KeySource::Header(h) => format!("ApiKey realm=\"edge-gateway\", header=\"{h}\""),
            KeySource::Query(q) => format!("ApiKey realm=\"edge-gateway\", query=\"{q}\""),
        };
        Verdict::Reject(
            Rejection::new(GatewayError::Unauthenticated, reason)
                .with("www-authenticate", challenge),
        )
    }
}

impl Check for ApiKey {
    const PHASE: Phase = Phase::Authentication;

    fn check(&self, x: &mut Exchange<'_, '_, '_>) -> Verdict {
        let key = match &self.source {
            KeySource::Header(h) => x.request.header(h),
            KeySource::Query(q) => x.request.query_param(q).map(str::to_owned),
        };
        let Some(key) = key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()) else {
            return self.reject("no API key");
        };
        if key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return self.reject("malformed API key");
        }
        Verdict::Lookup(Lookup::ApiKey(KeyLookup {
            hash: key_hash(&key),
        }))
    }

    fn resolve(&self, x: &mut Exchange<'_, '_, '_>, _asked: Lookup, found: Found) -> Verdict {
        let record = match found {
            Found::ApiKey(record) => record,
            Found::Unavailable(why) => {
                return Verdict::Reject(Rejection::new(
                    GatewayError::AuthUnavailable,
                    format!("API keys unavailable: {why}"),
                ))
            }
            Found::Jwt(_) => return self.reject("unexpected lookup"),
        };
        let Some(record) = record else {
            return self.reject("unknown or revoked API key");
        };
        let now_s = (x.request.started_ms / 1000.0) as u64;
        if record.expires_at.is_some_and(|at| now_s >= at) {
            return self.reject(&format!("API key {} has expired", record.id));
        }
        x.effects.request_ops.push(HeaderOp::Set(
            self.consumer_header.clone(),
            record.consumer.clone(),
        ));
        if let (KeySource::Header(h), false) = (&self.source, self.forward_key) {
            x.effects.request_ops.push(HeaderOp::Remove(h.clone()));
        }
        x.effects.consumer = Some(record.consumer);
        Verdict::Continue
    }
}

/// A bounded per-isolate cache of key lookups, positive and negative.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: HashMap<String, (Option<KeyRecord>, f64)>,
}

/// How many lookups the cache holds at most.
pub const CACHE_CAPACITY: usize = 10_000;

impl KeyCache {
    /// The cached answer for `hash` at `now_ms`, if it has not expired.
    pub fn get(&self, hash: &str, now_ms: f64) -> Option<Option<KeyRecord>> {
        match self.entries.get(hash) {
            Some((record, until)) if now_ms < *until => Some(record.clone()),
            _ => None,
        }
    }

    /// Remembers an answer until `now_ms + ttl_ms`. When full, expired entries go first;
    /// if none has expired, the cache starts over (an attacker cycling keys costs lookups,
    /// never memory).
    pub fn insert(&mut self, hash: String, record: Option<KeyRecord>, now_ms: f64, ttl_ms: f64) {
        if self.entries.len() >= CACHE_CAPACITY && !self.entries.contains_key(&hash) {
            self.entries.retain(|_, (_, until)| now_ms < *until);
            if self.entries.len() >= CACHE_CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(hash, (record, now_ms + ttl_ms));
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
