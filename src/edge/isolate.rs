//! Per-isolate state: the cached route table, its reload bookkeeping, configuration read once
//! from the environment, and the request id generator.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::health::HealthView;
use crate::policy::api_key::KeyCache;
use crate::reload::ReloadState;
use crate::request_id::RequestIds;
use crate::table::RouteTable;

/// Default refresh interval when `ROUTES_REFRESH_MS` is unset or unreadable.
const DEFAULT_REFRESH_MS: f64 = 5_000.0;
/// Default interval between health view refreshes (`HEALTH_REFRESH_MS`).
const DEFAULT_HEALTH_REFRESH_MS: f64 = 10_000.0;
/// Default age after which a snapshot no longer counts (`HEALTH_FRESH_MS`): three probe rounds.
const DEFAULT_HEALTH_FRESH_MS: f64 = 180_000.0;
/// Default snapshot retention (`HEALTH_RETENTION_HOURS`): a week.
const DEFAULT_RETENTION_HOURS: f64 = 168.0;
/// Default time an API key lookup is cached (`API_KEY_CACHE_MS`).
const DEFAULT_KEY_CACHE_MS: f64 = 30_000.0;
/// Default time an unknown API key is cached (`API_KEY_NEGATIVE_CACHE_MS`).
const DEFAULT_KEY_NEGATIVE_CACHE_MS: f64 = 5_000.0;
/// Default age at which a JWK set is refreshed in the background (`JWKS_REFRESH_MS`).
const DEFAULT_JWKS_REFRESH_MS: f64 = 300_000.0;
/// Default least time between two fetches of one JWK set (`JWKS_MIN_REFRESH_MS`).
const DEFAULT_JWKS_MIN_REFRESH_MS: f64 = 10_000.0;
/// Default timeout of a JWK set fetch (`JWKS_TIMEOUT_MS`).
const DEFAULT_JWKS_TIMEOUT_MS: f64 = 3_000.0;

/// Settings read once per isolate from `wrangler.toml` vars.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often the route table is re-read from KV (`ROUTES_REFRESH_MS`).
    pub refresh_ms: f64,
    /// The environment whose route tables this worker accepts (`GATEWAY_ENV`).
    pub environment: String,
    /// How often the health view is re-read from D1 (`HEALTH_REFRESH_MS`).
    pub health_refresh_ms: f64,
    /// How old a snapshot may be and still count (`HEALTH_FRESH_MS`).
    pub health_fresh_ms: f64,
    /// How long snapshots are kept (`HEALTH_RETENTION_HOURS`), in ms.
    pub health_retention_ms: f64,
    /// How long an API key lookup is cached (`API_KEY_CACHE_MS`): a revoked key keeps
    /// working at most this long (plus KV's own propagation).
    pub api_key_cache_ms: f64,
    /// How long an unknown API key is cached (`API_KEY_NEGATIVE_CACHE_MS`).
    pub api_key_negative_cache_ms: f64,
    /// Age at which a JWK set is refreshed in the background (`JWKS_REFRESH_MS`).
    pub jwks_refresh_ms: f64,
    /// Least time between two fetches of one JWK set (`JWKS_MIN_REFRESH_MS`).
    pub jwks_min_refresh_ms: f64,
    /// Timeout of a JWK set fetch (`JWKS_TIMEOUT_MS`).
    pub jwks_timeout_ms: f64,
}

#[derive(Default)]
struct Isolate {
    table: Option<Rc<RouteTable>>,
    reload: ReloadState,
    health: Rc<HealthView>,
    health_reload: ReloadState,
    ids: Option<RequestIds>,
    config: Option<Rc<Config>>,
    keys: KeyCache,
}

thread_local! {
    static ISOLATE: RefCell<Isolate> = RefCell::new(Isolate::default());
}

/// The configuration, read from `env` on first use.
pub fn config(env: &Env) -> Rc<Config> {
    ISOLATE.with_borrow_mut(|s| {
        s.config
            .get_or_insert_with(|| {
                let var = |name: &str| env.var(name).ok().map(|v| v.to_string());
                let number = |name: &str, default: f64| {
                    var(name)
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|n| n.is_finite() && *n >= 0.0)
                        .unwrap_or(default)
                };
                Rc::new(Config {
                    refresh_ms: number("ROUTES_REFRESH_MS", DEFAULT_REFRESH_MS),
                    environment: var("GATEWAY_ENV").unwrap_or_else(|| "production".to_owned()),
                    health_refresh_ms: number("HEALTH_REFRESH_MS", DEFAULT_HEALTH_REFRESH_MS),
                    health_fresh_ms: number("HEALTH_FRESH_MS", DEFAULT_HEALTH_FRESH_MS),
                    health_retention_ms: number("HEALTH_RETENTION_HOURS", DEFAULT_RETENTION_HOURS)
                        * 3_600_000.0,
                    api_key_cache_ms: number("API_KEY_CACHE_MS", DEFAULT_KEY_CACHE_MS),
                    api_key_negative_cache_ms: number(
                        "API_KEY_NEGATIVE_CACHE_MS",
                        DEFAULT_KEY_NEGATIVE_CACHE_MS,
                    ),
                    jwks_refresh_ms: number("JWKS_REFRESH_MS", DEFAULT_JWKS_REFRESH_MS),
                    jwks_min_refresh_ms: number("JWKS_MIN_REFRESH_MS", DEFAULT_JWKS_MIN_REFRESH_MS),
                    jwks_timeout_ms: number("JWKS_TIMEOUT_MS", DEFAULT_JWKS_TIMEOUT_MS),
                })
            })
            .clone()
    })
}

/// A fresh request id.
pub fn next_request_id() -> String {
    ISOLATE.with_borrow_mut(|s| s.ids.get_or_insert_with(seeded).next_id())
}

/// A uniform number in `[0, 1)`, for weighted origin choice.
pub fn random() -> f64 {
    ISOLATE.with_borrow_mut(|s| s.ids.get_or_insert_with(seeded).unit())
}

fn seeded() -> RequestIds {
    let word = || (js_sys::Math::random() * (u32::MAX as f64)) as u64;
    RequestIds::new((word() << 32) ^ word() ^ js_sys::Date::now() as u64)
}

/// The cached table, if any.
pub fn table() -> Option<Rc<RouteTable>> {
    ISOLATE.with_borrow(|s| s.table.clone())
}

/// Runs `f` on the reload bookkeeping.
pub fn with_reload<T>(f: impl FnOnce(&mut ReloadState, bool) -> T) -> T {
    ISOLATE.with_borrow_mut(|s| {
        let has_table = s.table.is_some();
        f(&mut s.reload, has_table)
    })
}

/// Installs a newly loaded table.
pub fn install(table: Rc<RouteTable>) {
    ISOLATE.with_borrow_mut(|s| s.table = Some(table));
}

/// The current health view (empty until first loaded).
pub fn health() -> Rc<HealthView> {
    ISOLATE.with_borrow(|s| s.health.clone())
}

/// Runs `f` on the health view's reload bookkeeping.
pub fn with_health_reload<T>(f: impl FnOnce(&mut ReloadState) -> T) -> T {
    ISOLATE.with_borrow_mut(|s| f(&mut s.health_reload))
}

/// Installs a newly loaded health view.
pub fn install_health(view: HealthView) {
    ISOLATE.with_borrow_mut(|s| s.health = Rc::new(view));
}

/// Runs `f` on the API key cache.
pub fn with_keys<T>(f: impl FnOnce(&mut KeyCache) -> T) -> T {
    ISOLATE.with_borrow_mut(|s| f(&mut s.keys))
}
