//! Per-isolate JWK sets and JWT signature verification with WebCrypto. A set is fetched when
//! a token's key is not cached (at most once per `JWKS_MIN_REFRESH_MS`), refreshed in the
//! background when older than `JWKS_REFRESH_MS`, and kept when the issuer's endpoint fails.
//! Imported `CryptoKey`s are cached per (kid, algorithm).

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::exchange::Exchange;
use super::proxy::{fetch_text, import_key, verify as verify_js};
use crate::access_log::{event, Field};
use crate::policy::jose::{parse_jwks, Alg, Jwk};
use crate::policy::jwt::{keys_action, JwtLookup, KeyCheck, KeysAction};

#[derive(Default)]
struct KeySet {
    keys: Vec<Jwk>,
    loaded_at: Option<f64>,
    attempted_at: Option<f64>,
    error: Option<String>,
    imported: Vec<((Option<String>, Alg), JsValue)>,
    /// The fetch in flight, shared: a token whose key is not cached waits for it rather
    /// than being refused while the set (say, after a key rotation) is on its way.
    pending: Option<js_sys::Promise>,
}

thread_local! {
    static SETS: RefCell<HashMap<String, KeySet>> = RefCell::new(HashMap::new());
}

/// The key for a token: the first key of the set with the token's `kid` (any, if the token
/// names none) that fits its algorithm; and its imported `CryptoKey`, if imported already.
fn find(url: &str, kid: Option<&str>, alg: Alg) -> Option<(Jwk, Option<JsValue>)> {
    SETS.with_borrow(|sets| {
        let set = sets.get(url)?;
        let jwk = set
            .keys
            .iter()
            .find(|k| (kid.is_none() || k.kid.as_deref() == kid) && alg.fits(k))?;
        let imported = set
            .imported
            .iter()
            .find(|((k, a), _)| k.as_deref() == jwk.kid.as_deref() && *a == alg)
            .map(|(_, key)| key.clone());
        Some((jwk.clone(), imported))
    })
}

/// The fetch of `url` in flight, or a new one: resolves once the set is installed or the
/// fetch failed.
fn fetching(url: &str, timeout_ms: f64) -> js_sys::Promise {
    if let Some(pending) = SETS.with_borrow(|s| s.get(url).and_then(|set| set.pending.clone())) {
        return pending;
    }
    let owned = url.to_owned();
    let promise = wasm_bindgen_futures::future_to_promise(async move {
        load(owned, timeout_ms).await;
        Ok(JsValue::UNDEFINED)
    });
    SETS.with_borrow_mut(|s| {
        let set = s.entry(url.to_owned()).or_default();
        set.attempted_at = Some(js_sys::Date::now());
        set.pending = Some(promise.clone());
    });
    promise
}

/// Fetches `url` and installs the set; on failure the old keys stay.
async fn load(url: String, timeout_ms: f64) {
    let outcome = match JsFuture::from(fetch_text(&url, timeout_ms)).await {
        Ok(text) => parse_jwks(&text.as_string().unwrap_or_default()),
        Err(e) => Err(super::js_error(&e)),
    };
    let fields_error;
    match outcome {
        Ok(keys) => {
            let count = keys.len() as u64;
            SETS.with_borrow_mut(|s| {
                let set = s.entry(url.clone()).or_default();
                set.pending = None;
                set.keys = keys;
                set.imported.clear();
                set.error = None;
                set.loaded_at = Some(js_sys::Date::now());
            });
            let fields = [("url", Field::Str(&url)), ("keys", Field::Num(count))];
            worker::console_log!("{}", event("jwks_loaded", &fields));
        }
        Err(error) => {
            fields_error = error;
            let kept = SETS.with_borrow_mut(|s| {
                let set = s.entry(url.clone()).or_default();
                set.pending = None;
                set.error = Some(fields_error.clone());
                set.keys.len() as u64
            });
            let fields = [
                ("url", Field::Str(&url)),
                ("error", Field::Str(&fields_error)),
                ("kept_keys", Field::Num(kept)),
            ];
            worker::console_error!("{}", event("jwks_error", &fields));
        }
    }
}

/// Verifies a token's signature with its issuer's keys.
pub async fn verify(ex: &Exchange, lookup: &JwtLookup) -> KeyCheck {
    let (url, kid, alg) = (&lookup.jwks_url, lookup.kid.as_deref(), lookup.alg);
    let now = js_sys::Date::now();
    let mut found = find(url, kid, alg);
    let (loaded_at, attempted_at, pending) = SETS.with_borrow(|s| {
        s.get(url.as_str()).map_or((None, None, None), |set| {
            (set.loaded_at, set.attempted_at, set.pending.clone())
        })
    });
    if let (None, Some(pending)) = (&found, pending) {
        // A fetch is on its way (a rotation, a first use): wait for it, not refuse.
        let _ = JsFuture::from(pending).await;
        found = find(url, kid, alg);
    }
    let config = &ex.config;
    match keys_action(
        found.is_some(),
        loaded_at,
        attempted_at,
        now,
        config.jwks_refresh_ms,
        config.jwks_min_refresh_ms,
    ) {
        KeysAction::Use => {}
        KeysAction::Refresh => {
            let promise = fetching(url, config.jwks_timeout_ms);
            ex.ctx.wait_until(async move {
                let _ = JsFuture::from(promise).await;
            });
        }
        KeysAction::FetchNow => {
            let _ = JsFuture::from(fetching(url, config.jwks_timeout_ms)).await;
            found = find(url, kid, alg);
        }
    }
    let Some((jwk, imported)) = found else {
        return SETS.with_borrow(|s| match s.get(url.as_str()) {
            Some(set) if set.loaded_at.is_some() => KeyCheck::UnknownKey,
            Some(KeySet { error: Some(e), .. }) => KeyCheck::Unavailable(e.clone()),
            _ => KeyCheck::Unavailable("no keys loaded yet".into()),
        });
    };
    let key = match imported {
        Some(key) => key,
        None => {
            let text = serde_json::to_string(&jwk).expect("a JWK always serialises");
            match JsFuture::from(import_key(&text, alg.name())).await {
                Ok(key) => {
                    SETS.with_borrow_mut(|s| {
                        if let Some(set) = s.get_mut(url.as_str()) {
                            set.imported.push(((jwk.kid.clone(), alg), key.clone()));
                        }
                    });
                    key
                }
                // A key WebCrypto refuses cannot verify anything.
                Err(e) => {
                    return KeyCheck::Unavailable(format!(
                        "key {:?} does not import: {}",
                        jwk.kid,
                        super::js_error(&e)
                    ))
                }
            }
        }
    };
    let verified = verify_js(&key, alg.name(), &lookup.signature, &lookup.signing_input);
    match JsFuture::from(verified).await {
        Ok(ok) if ok.as_bool() == Some(true) => KeyCheck::Valid,
        _ => KeyCheck::BadSignature,
    }
}
