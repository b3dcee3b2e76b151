//! Traffic statistics at the edge. `glue.js` counts every response (Rust's own answers
//! through [`tally`]); the first request at least `STATS_FLUSH_MS` after the last flush
//! schedules a background flush (`waitUntil`) that takes the counts and adds them to D1 in
//! one batch — requests never wait on D1 and never write to it themselves. The scheduled job
//! flushes too and prunes windows older than `STATS_RETENTION_HOURS`. Counts of a flush that
//! fails are lost and logged (`stats_flush_error`, with how many); so are those an isolate
//! holds when it is evicted, unlogged. The shadow evaluation's differences
//! ([`crate::rollout::shadow`]) are flushed in the same batch.

use std::cell::Cell;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{Context, Env};

use super::health::D1_BINDING;
use super::isolate::{self, Config};
use super::worker_error;
use crate::access_log::{event, Field};
use crate::rollout::shadow;
use crate::stats::sql::{parse_taken, upsert_params, Row, PRUNE, UPSERT};
use crate::stats::{window_start, FlushClock, Outcome, Totals};

#[wasm_bindgen(module = "/src/edge/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = tallyAnswer)]
    fn tally_answer(outcome: &str);
    /// The counts so far (JSON, [`parse_taken`]'s input); counting starts over.
    #[wasm_bindgen(js_name = takeStats)]
    pub(super) fn take_stats() -> String;
}

thread_local! {
    static CLOCK: Cell<FlushClock> = Cell::new(FlushClock::default());
}

/// Counts a response the gateway answered from Rust.
pub fn tally(outcome: &Outcome<'_>) {
    tally_answer(&outcome.to_json());
}

/// Schedules a flush when one is due; never waits.
pub fn flush_if_due(env: &Env, ctx: &Context, config: &Config, now_ms: f64) {
    let due = CLOCK.with(|cell| {
        let mut clock = cell.get();
        let due = clock.due(now_ms, config.stats_flush_ms);
        cell.set(clock);
        due
    });
    if due {
        let env = env.clone();
        ctx.wait_until(async move { flush(&env, None).await });
    }
}

/// The scheduled job's part: flush this isolate's counts and prune old windows.
pub async fn scheduled(env: &Env) {
    let config = isolate::config(env);
    let cutoff = js_sys::Date::now() - config.stats_retention_ms;
    flush(env, Some(cutoff)).await;
}

/// Takes the counts and adds them to D1 (pruning windows before `prune_before`, if given,
/// in the same batch); a failure is logged with the counts it lost.
async fn flush(env: &Env, prune_before: Option<f64>) {
    let rows = match parse_taken(&take_stats()) {
        Ok(rows) => rows,
        Err(e) => return log_error(&e, &[]),
    };
    let diffs = isolate::with_shadow(|tally| tally.take());
    if rows.is_empty() && diffs.is_empty() && prune_before.is_none() {
        return;
    }
    if let Err(e) = write(env, &rows, &diffs, prune_before).await {
        log_error(&e, &rows);
    }
}

async fn write(
    env: &Env,
    rows: &[Row],
    diffs: &[shadow::Row],
    prune_before: Option<f64>,
) -> Result<(), String> {
    let db = env.d1(D1_BINDING).map_err(|e| e.to_string())?;
    let mut statements = Vec::new();
    for rows in upsert_params(rows) {
        let statement = db.prepare(UPSERT).bind(&[JsValue::from(rows)]);
        statements.push(statement.map_err(worker_error)?);
    }
    if !diffs.is_empty() {
        // The shadow evaluation's differences, counted in the window they are flushed in.
        let window = window_start(js_sys::Date::now() as u64);
        let param = shadow::upsert_param(window, diffs);
        let statement = db
            .prepare(shadow::UPSERT_DIFFS)
            .bind(&[JsValue::from(param)]);
        statements.push(statement.map_err(worker_error)?);
    }
    if let Some(cutoff) = prune_before {
        for prune in [PRUNE, shadow::PRUNE_DIFFS] {
            let statement = db.prepare(prune).bind(&[JsValue::from(cutoff)]);
            statements.push(statement.map_err(worker_error)?);
        }
    }
    db.batch(statements).await.map_err(worker_error)?;
    Ok(())
}

fn log_error(error: &str, lost: &[Row]) {
    let requests = lost.iter().map(|r| &r.totals).sum::<Totals>().requests;
    let fields = [
        ("error", Field::Str(error)),
        ("lost_rows", Field::Num(lost.len() as u64)),
        ("lost_requests", Field::Num(requests)),
    ];
    worker::console_error!("{}", event("stats_flush_error", &fields));
}
