//! The per-isolate health view: the latest snapshot per origin, re-read from D1 in the
//! background (`waitUntil`). Requests never wait on D1: until the first read lands, every
//! origin counts as usable.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use worker::{Context, Env};

use super::isolate::{self, Config};
use crate::access_log::{event, Field};
use crate::health::{HealthView, Snapshot, Status, SELECT_LATEST};
use crate::reload::Reload;

/// D1 binding holding history and health snapshots.
pub const D1_BINDING: &str = "DB";

/// The view to choose origins with; schedules a background refresh when it is due.
pub fn current(env: &Env, ctx: &Context, config: &Config, now_ms: f64) -> Rc<HealthView> {
    let due = isolate::with_health_reload(|state| {
        // Never `LoadNow`: an empty view is a usable answer, so no request waits.
        let due = state.decide(true, now_ms, config.health_refresh_ms) == Reload::ServeAndRefresh;
        if due {
            state.refresh_started(now_ms);
        }
        due
    });
    if due {
        let env = env.clone();
        ctx.wait_until(async move {
            match latest(&env).await {
                Ok(rows) => isolate::install_health(view(&rows)),
                Err(e) => worker::console_error!(
                    "{}",
                    event(
                        "health_view_error",
                        &[("error", Field::Str(&e.to_string()))]
                    )
                ),
            }
            isolate::with_health_reload(|state| state.checked(js_sys::Date::now()));
        });
    }
    isolate::health()
}

/// The latest snapshot of every origin.
pub async fn latest(env: &Env) -> worker::Result<Vec<Snapshot>> {
    env.d1(D1_BINDING)?
        .prepare(SELECT_LATEST)
        .bind(&[] as &[JsValue])?
        .all()
        .await?
        .results()
}

fn view(rows: &[Snapshot]) -> HealthView {
    HealthView::new(rows.iter().filter_map(|r| {
        let status = Status::parse(&r.status)?;
        Some((
            r.upstream.clone(),
            r.origin.clone(),
            status,
            r.checked_at as f64,
        ))
    }))
}
