//! The route table cache: the first request of an isolate loads what serves from KV — the
//! release (`routes/active`, and `routes/release` when it is current) and the tables it names
//! (stable, canary candidate, shadow); later requests are served from memory while a
//! background task (`waitUntil`) follows the pointers. A missing, corrupt or invalid document
//! never replaces good tables, and a KV that fails or is slow (`ROUTES_LOAD_TIMEOUT_MS`) leaves
//! them as they are: a first load that fails answers 503, a refresh that fails keeps serving
//! the last good tables.

use std::rc::Rc;

use worker::kv::KvStore;
use worker::{Context, Env};

use super::deadline::within;
use super::isolate::{self, Config};
use crate::access_log::{event, Field};
use crate::context::RequestContext;
use crate::reload::Reload;
use crate::rollout::release::{Effective, Release, Side, RELEASE_KEY};
use crate::table::{version_key, RouteDocument, RouteTable, ACTIVE_KEY};

/// What serves an isolate's requests: the release and the tables it names.
#[derive(Debug)]
pub struct Serving {
    /// Which versions serve.
    pub release: Release,
    /// The stable table (every request a canary does not take).
    pub stable: Rc<RouteTable>,
    /// The canary candidate's table, if a canary runs.
    pub candidate: Option<Rc<RouteTable>>,
    /// The shadow table, if one is evaluated.
    pub shadow: Option<Rc<RouteTable>>,
}

impl Serving {
    /// The table that serves `request`: the candidate for its sticky share, else the stable.
    /// `random` is only called for a request without a sticky key during a canary.
    pub fn table_for(&self, request: &RequestContext, random: impl FnOnce() -> f64) -> &RouteTable {
        match &self.candidate {
            Some(candidate) if self.release.pick(request, random()) == Side::Candidate => candidate,
            _ => &self.stable,
        }
    }

    /// The loaded table of `version`, if any of the three is it.
    fn loaded(&self, version: &str) -> Option<Rc<RouteTable>> {
        [
            Some(&self.stable),
            self.candidate.as_ref(),
            self.shadow.as_ref(),
        ]
        .into_iter()
        .flatten()
        .find(|t| t.version == version)
        .cloned()
    }
}

/// KV binding that holds route tables.
pub const KV_BINDING: &str = "ROUTES";
/// Edge cache TTL for immutable version documents, in seconds.
const VERSION_CACHE_TTL_S: u64 = 86_400;

/// What serves, scheduling a background refresh when one is due; `None` when this isolate
/// has no table yet and the caller must [`load_now`]. Never waits.
pub fn cached(env: &Env, ctx: &Context, config: &Rc<Config>, now_ms: f64) -> Option<Rc<Serving>> {
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
    isolate::serving()
}

/// Loads what serves for an isolate that has nothing yet (its first requests only).
pub async fn load_now(env: &Env) -> Option<Rc<Serving>> {
    refresh(env.clone(), isolate::config(env)).await;
    isolate::serving()
}

/// Reads the pointers and, if they moved, the new documents; installs them if valid.
async fn refresh(env: Env, config: Rc<Config>) {
    let loaded = isolate::serving();
    let outcome = load(&env, &config, loaded.as_deref()).await;
    isolate::with_reload(|state, _| state.checked(js_sys::Date::now()));
    match outcome {
        Ok(Some((serving, ignored))) => {
            let previous = loaded
                .as_deref()
                .map_or(Field::Null, |s| Field::Str(&s.stable.version));
            let release = &serving.release;
            let candidate = release.candidate.as_ref();
            let percent = candidate.map_or(String::new(), |c| c.percent.to_string());
            let fields = [
                ("version", Field::Str(&serving.stable.version)),
                ("previous", previous),
                ("routes", Field::Num(serving.stable.routes().len() as u64)),
                (
                    "candidate",
                    candidate.map_or(Field::Null, |c| Field::Str(&c.version)),
                ),
                (
                    "percent",
                    candidate.map_or(Field::Null, |_| Field::Raw(&percent)),
                ),
                (
                    "shadow",
                    release.shadow.as_deref().map_or(Field::Null, Field::Str),
                ),
                (
                    "release_ignored",
                    ignored.as_deref().map_or(Field::Null, Field::Str),
                ),
            ];
            worker::console_log!("{}", event("route_table_loaded", &fields));
            isolate::install(Rc::new(serving));
        }
        Ok(None) => {}
        Err(error) => {
            let serving = loaded
                .as_deref()
                .map_or(Field::Null, |s| Field::Str(&s.stable.version));
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
    let (serving, _) = load(env, config, None)
        .await?
        .ok_or("no active route table")?;
    let table = serving.stable.clone();
    isolate::install(Rc::new(serving));
    Ok(table)
}

/// `Ok(None)` when what serves is already loaded; with the new [`Serving`], why
/// `routes/release` was ignored, if it was. KV gets `ROUTES_LOAD_TIMEOUT_MS` for every read
/// together: a slow store fails like an unavailable one.
async fn load(
    env: &Env,
    config: &Config,
    loaded: Option<&Serving>,
) -> Result<Option<(Serving, Option<String>)>, String> {
    let ms = config.load_timeout_ms;
    within(ms, read(env, config, loaded))
        .await
        .unwrap_or_else(|| Err(format!("no answer from KV within {ms} ms")))
}

/// Reads both pointers at once; then each table the release names that is not loaded yet.
async fn read(
    env: &Env,
    config: &Config,
    loaded: Option<&Serving>,
) -> Result<Option<(Serving, Option<String>)>, String> {
    let kv = kv(env)?;
    let effective = pointers(&kv).await?;
    let release = effective.release;
    if loaded.is_some_and(|s| s.release == release) {
        return Ok(None);
    }
    let kv = &kv;
    let table = |version: String| async move {
        match loaded.and_then(|s| s.loaded(&version)) {
            Some(table) => Ok(table),
            None => document(kv, config, &version).await.map(Rc::new),
        }
    };
    let stable = table(release.stable.clone()).await?;
    let candidate = match &release.candidate {
        Some(c) => Some(table(c.version.clone()).await?),
        None => None,
    };
    let shadow = match &release.shadow {
        Some(version) => Some(table(version.clone()).await?),
        None => None,
    };
    let serving = Serving {
        release,
        stable,
        candidate,
        shadow,
    };
    Ok(Some((serving, effective.ignored)))
}

/// The `ROUTES` KV namespace.
pub fn kv(env: &Env) -> Result<KvStore, String> {
    env.kv(KV_BINDING)
        .map_err(|e| format!("KV binding {KV_BINDING}: {e}"))
}

/// Reads `routes/active` and `routes/release` together and applies the staleness rule.
pub async fn pointers(kv: &KvStore) -> Result<Effective, String> {
    let (active, release) = read_pointers(kv).await?;
    Release::effective(active.as_deref(), release.as_deref())
}

/// The values of `routes/active` and `routes/release`, read together.
pub async fn read_pointers(kv: &KvStore) -> Result<(Option<String>, Option<String>), String> {
    let (active, release) =
        futures_util::future::join(kv.get(ACTIVE_KEY).text(), kv.get(RELEASE_KEY).text()).await;
    let active = active.map_err(|e| format!("reading {ACTIVE_KEY}: {e}"))?;
    let release = release.map_err(|e| format!("reading {RELEASE_KEY}: {e}"))?;
    Ok((active, release))
}

/// Reads and validates the document of `version`.
async fn document(kv: &KvStore, config: &Config, version: &str) -> Result<RouteTable, String> {
    let key = version_key(version);
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
    RouteTable::try_from(doc).map_err(|errors| format!("{key} is invalid: {errors}"))
}
