//! Per-isolate state: the cached route table, its reload bookkeeping, configuration read once
//! from the environment, and the request id generator.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::access_log::{event, Field};
pub use crate::config::Config;
use crate::health::HealthView;
use crate::policy::api_key::KeyCache;
use crate::reload::ReloadState;
use crate::request_id::RequestIds;
use crate::table::RouteTable;

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

/// The configuration, read from `env` on first use; a value that does not parse is logged
/// (`config_error`) and its default used.
pub fn config(env: &Env) -> Rc<Config> {
    ISOLATE.with_borrow_mut(|s| {
        s.config
            .get_or_insert_with(|| {
                let (config, errors) =
                    Config::from_vars(|name| env.var(name).ok().map(|v| v.to_string()));
                for e in errors {
                    let fields = [
                        ("var", Field::Str(e.var)),
                        ("value", Field::Str(&e.value)),
                        ("error", Field::Str(&e.to_string())),
                    ];
                    worker::console_error!("{}", event("config_error", &fields));
                }
                Rc::new(config)
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
