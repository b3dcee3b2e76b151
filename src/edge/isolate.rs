//! Per-isolate state: the cached route table, its reload bookkeeping, configuration read once
//! from the environment, and the request id generator.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::reload::ReloadState;
use crate::request_id::RequestIds;
use crate::table::RouteTable;

/// Default refresh interval when `ROUTES_REFRESH_MS` is unset or unreadable.
const DEFAULT_REFRESH_MS: f64 = 5_000.0;

/// Settings read once per isolate from `wrangler.toml` vars.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often the route table is re-read from KV (`ROUTES_REFRESH_MS`).
    pub refresh_ms: f64,
    /// The environment whose route tables this worker accepts (`GATEWAY_ENV`).
    pub environment: String,
}

#[derive(Default)]
struct Isolate {
    table: Option<Rc<RouteTable>>,
    reload: ReloadState,
    ids: Option<RequestIds>,
    config: Option<Rc<Config>>,
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
                Rc::new(Config {
                    refresh_ms: var("ROUTES_REFRESH_MS")
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|ms| ms.is_finite() && *ms >= 0.0)
                        .unwrap_or(DEFAULT_REFRESH_MS),
                    environment: var("GATEWAY_ENV").unwrap_or_else(|| "production".to_owned()),
                })
            })
            .clone()
    })
}

/// A fresh request id.
pub fn next_request_id() -> String {
    ISOLATE.with_borrow_mut(|s| s.ids.get_or_insert_with(seeded).next_id())
}

/// A number in `0..n`, for choosing among origins.
pub fn pick(n: usize) -> usize {
    ISOLATE.with_borrow_mut(|s| s.ids.get_or_insert_with(seeded).below(n))
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
