//! The edge's side of the policy engine ([`crate::policy::run`]): API key records from KV
//! through the per-isolate cache, JWT signatures through the JWK set cache and WebCrypto.
//! A cache hit answers without awaiting anything, so such a request stays synchronous.

use super::exchange::Exchange;
use super::{isolate, jwks, routes::KV_BINDING};
use crate::access_log::{event, Field};
use crate::policy::api_key::{KeyLookup, KeyRecord};
use crate::policy::{Found, Lookup, Resolver};

/// Answers the policies' lookups for one request.
pub struct EdgeResolver<'e>(pub &'e Exchange);

impl Resolver for EdgeResolver<'_> {
    async fn resolve(&self, policy: &str, lookup: &Lookup) -> Found {
        match lookup {
            Lookup::ApiKey(key) => api_key(self.0, policy, key).await,
            Lookup::Jwt(token) => Found::Jwt(jwks::verify(self.0, token).await),
        }
    }
}

async fn api_key(ex: &Exchange, policy: &str, key: &KeyLookup) -> Found {
    let now = ex.request.started_ms;
    if let Some(cached) = isolate::with_keys(|c| c.get(&key.hash, now)) {
        return Found::ApiKey(cached);
    }
    let read = match ex.env.kv(KV_BINDING) {
        Ok(kv) => kv
            .get(&key.kv_key())
            .text()
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let log_error = |error: &str| {
        let fields = [
            ("policy", Field::Str(policy)),
            ("request_id", Field::Str(&ex.request.request_id)),
            ("error", Field::Str(error)),
        ];
        worker::console_error!("{}", event("api_key_error", &fields));
    };
    let record = match read {
        Err(error) => {
            log_error(&error);
            return Found::Unavailable(error);
        }
        Ok(None) => None,
        Ok(Some(text)) => match serde_json::from_str::<KeyRecord>(&text) {
            Ok(record) => Some(record),
            Err(e) => {
                log_error(&format!("{} is not a key record: {e}", key.kv_key()));
                None
            }
        },
    };
    let ttl = if record.is_some() {
        ex.config.api_key_cache_ms
    } else {
        ex.config.api_key_negative_cache_ms
    };
    isolate::with_keys(|c| c.insert(key.hash.clone(), record.clone(), now, ttl));
    Found::ApiKey(record)
}
