//! The route table cache: the first request of an isolate loads the table from KV; later
//! requests are served from memory while a background task (`waitUntil`) follows the active
//! pointer. A missing, corrupt or invalid document never replaces a good table, and a KV
//! that fails or is slow (`ROUTES_LOAD_TIMEOUT_MS`) leaves the table as it is: a first load
//! that fails answers 503, a refresh that fails keeps serving the last good table.

use std::rc::Rc;

use worker::{Context, Env};

use super::deadline::within;
use super::isolate::{self, Config};
use crate::access_log::{event, Field};
use crate::reload::{follow_pointer, PointerDecision, Reload};
use crate::table::{version_key, RouteDocument, RouteTable, ACTIVE_KEY};

/// KV binding that holds route tables.
pub const KV_BINDING: &str = "ROUTES";
/// Edge cache TTL for immutable version documents, in seconds.
const VERSION_CACHE_TTL_S: u64 = 86_400;

/// The cached table, scheduling a background refresh when one is due; `None` when this
/// isolate has no table yet and the caller must [`load_now`]. Never waits.
pub fn cached(
    env: &Env,
    ctx: &Context,
    config: &Rc<Config>,
    now_ms: f64,
) -> Option<Rc<RouteTable>> {
    let decision = isolate::with_reload(|state, has_table| {
        let decision = state.decide(has_table, now_ms, config.refresh_ms);
        if decision == Reload::ServeAndRefresh {
            state.refresh_started(now_ms);
        }
        decision
    });
    match decision {
        Reload::LoadNow => return None,
        Reload::Serve => {}
        Reload::ServeAndRefresh => ctx.wait_until(refresh(env.clone(), config.clone())),
    }
    isolate::table()
}

/// Loads the active table for an isolate that has none (its first requests only).
pub async fn load_now(env: &Env) -> Option<Rc<RouteTable>> {
    refresh(env.clone(), isolate::config(env)).await;
    isolate::table()
}

/// Reads the active pointer and, if it moved, the new document; installs it if valid.
async fn refresh(env: Env, config: Rc<Config>) {
    let loaded = isolate::table();
    let outcome = load(&env, &config, loaded.as_deref().map(|t| t.version.as_str())).await;
    isolate::with_reload(|state, _| state.checked(js_sys::Date::now()));
    match outcome {
        Ok(Some(table)) => {
            let previous = loaded
                .as_deref()
                .map_or(Field::Null, |t| Field::Str(&t.version));
            let fields = [
                ("version", Field::Str(&table.version)),
                ("previous", previous),
                ("routes", Field::Num(table.routes().len() as u64)),
            ];
            worker::console_log!("{}", event("route_table_loaded", &fields));
            isolate::install(Rc::new(table));
        }
        Ok(None) => {}
        Err(error) => {
            let serving = loaded
                .as_deref()
                .map_or(Field::Null, |t| Field::Str(&t.version));
            let fields = [("error", Field::Str(&error)), ("serving", serving)];
            worker::console_error!("{}", event("route_table_error", &fields));
        }
    }
}

/// The active table, for work outside the request path (scheduled probes, admin API): the
/// isolate's copy if it has one, else a fresh load from KV.
pub async fn active(env: &Env, config: &Config) -> Result<Rc<RouteTable>, String> {
    if let Some(table) = isolate::table() {
        return Ok(table);
    }
    let table = Rc::new(
        load(env, config, None)
            .await?
            .ok_or("no active route table")?,
    );
    isolate::install(table.clone());
    Ok(table)
}

/// `Ok(None)` when the active version is already loaded. KV gets `ROUTES_LOAD_TIMEOUT_MS`
/// for both reads together: a slow store fails like an unavailable one.
async fn load(
    env: &Env,
    config: &Config,
    loaded: Option<&str>,
) -> Result<Option<RouteTable>, String> {
    let ms = config.load_timeout_ms;
    within(ms, read(env, config, loaded))
        .await
        .unwrap_or_else(|| Err(format!("no answer from KV within {ms} ms")))
}

async fn read(
    env: &Env,
    config: &Config,
    loaded: Option<&str>,
) -> Result<Option<RouteTable>, String> {
    let kv = env
        .kv(KV_BINDING)
        .map_err(|e| format!("KV binding {KV_BINDING}: {e}"))?;
    let pointer = kv
        .get(ACTIVE_KEY)
        .text()
        .await
        .map_err(|e| format!("reading {ACTIVE_KEY}: {e}"))?;
    let version = match follow_pointer(loaded, pointer.as_deref()) {
        PointerDecision::Unchanged => return Ok(None),
        PointerDecision::Missing => return Err(format!("{ACTIVE_KEY} is missing or empty")),
        PointerDecision::Fetch(version) => version,
    };
    let key = version_key(&version);
    let text = kv
        .get(&key)
        .cache_ttl(VERSION_CACHE_TTL_S)
        .text()
        .await
        .map_err(|e| format!("reading {key}: {e}"))?
        .ok_or_else(|| format!("{ACTIVE_KEY} names {version}, but {key} does not exist"))?;
    let doc = RouteDocument::from_json(&text)
        .map_err(|e| format!("{key} is not a route document: {e}"))?;
    if doc.version != version {
        return Err(format!("{key} says it is version {}", doc.version));
    }
    if doc.environment != config.environment {
        return Err(format!(
            "{key} was compiled for environment {}, this gateway serves {}",
            doc.environment, config.environment
        ));
    }
    RouteTable::try_from(doc)
        .map(Some)
        .map_err(|errors| format!("{key} is invalid: {errors}"))
}
