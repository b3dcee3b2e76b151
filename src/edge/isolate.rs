//! Per-isolate state: what serves (the release and its route tables), its reload bookkeeping,
//! configuration read once from the environment, the request id generator, and the shadow
//! evaluation's tally.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::access_log::{event, Field};
pub use crate::config::Config;
use crate::health::HealthView;
use crate::policy::api_key::KeyCache;
use crate::reload::ReloadState;
use crate::request_id::RequestIds;
use crate::rollout::shadow::Tally;
use crate::table::RouteTable;

use super::routes::Serving;

#[derive(Default)]
struct Isolate {
    serving: Option<Rc<Serving>>,
    reload: ReloadState,
    health: Rc<HealthView>,
    health_reload: ReloadState,
    ids: Option<RequestIds>,
    config: Option<Rc<Config>>,
    keys: KeyCache,
    shadow: Tally,
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

/// The cached stable table, if any.
pub fn table() -> Option<Rc<RouteTable>> {
    ISOLATE.with_borrow(|s| s.serving.as_ref().map(|serving| serving.stable.clone()))
}

/// What serves, if loaded.
pub fn serving() -> Option<Rc<Serving>> {
    ISOLATE.with_borrow(|s| s.serving.clone())
}

/// Runs `f` on the reload bookkeeping.
pub fn with_reload<T>(f: impl FnOnce(&mut ReloadState, bool) -> T) -> T {
    ISOLATE.with_borrow_mut(|s| {
        let has_table = s.serving.is_some();
        f(&mut s.reload, has_table)
    })
}

/// Installs newly loaded tables.
pub fn install(serving: Rc<Serving>) {
    ISOLATE.with_borrow_mut(|s| s.serving = Some(serving));
}

/// Runs `f` on the shadow evaluation's tally.
pub fn with_shadow<T>(f: impl FnOnce(&mut Tally) -> T) -> T {
    ISOLATE.with_borrow_mut(|s| f(&mut s.shadow))
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
