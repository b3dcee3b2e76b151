//! The canary's automatic transitions, run by the scheduled job: read the release, sum the
//! stable and candidate versions' traffic since the current step started (D1
//! `traffic_stats`), ask the judge ([`crate::rollout::canary`]), and act on its verdict — abort,
//! advance a step or promote — by rewriting the pointers in KV and recording the transition
//! with its reason in D1 (author `gateway`). A verdict to wait is only logged.

use wasm_bindgen::JsValue;
use worker::Env;

use super::health::D1_BINDING;
use super::routes;
use super::worker_error;
use crate::access_log::{event, Field};
use crate::history::{Action, NewActivation, GATEWAY_AUTHOR, INSERT_ACTIVATION};
use crate::rollout::canary::{judge, Verdict};
use crate::rollout::release::{Release, RELEASE_KEY};
use crate::stats::sql::{VersionTotals, SELECT_TOTALS_SINCE};
use crate::stats::window_start;
use crate::table::ACTIVE_KEY;

/// Judges the running canary, if any, and carries out the verdict.
pub async fn evaluate(env: &Env, environment: &str) -> Result<(), String> {
    let kv = routes::kv(env)?;
    let release = routes::pointers(&kv).await?.release;
    let Some(candidate) = &release.candidate else {
        return Ok(());
    };
    let now = js_sys::Date::now() as u64;
    let since = window_start(candidate.step_started_ms);
    let db = env.d1(D1_BINDING).map_err(|e| e.to_string())?;
    let params = [
        JsValue::from(release.stable.as_str()),
        JsValue::from(candidate.version.as_str()),
        JsValue::from(since as f64),
    ];
    let rows: Vec<VersionTotals> = db
        .prepare(SELECT_TOTALS_SINCE)
        .bind(&params)
        .map_err(worker_error)?
        .all()
        .await
        .map_err(worker_error)?
        .results()
        .map_err(worker_error)?;
    let stable = VersionTotals::of(&rows, &release.stable);
    let cand = VersionTotals::of(&rows, &candidate.version);
    let verdict = judge(candidate, &stable, &cand, now);
    let (next, action, name) = match &verdict {
        Verdict::Wait(_) => {
            log("canary_wait", &release, None, &verdict);
            return Ok(());
        }
        Verdict::Abort(_) => (release.aborted(), Action::Abort, "canary_aborted"),
        Verdict::Advance { percent, .. } => (
            release.advanced(*percent, now),
            Action::Step,
            "canary_advanced",
        ),
        Verdict::Promote(_) => (
            release.promoted().expect("a canary runs"),
            Action::Promote,
            "canary_promoted",
        ),
    };
    // `routes/active` first, then `routes/release`: a reader that sees only the first write
    // finds the release stale and serves `routes/active` alone (see `rollout::release`).
    if action == Action::Promote {
        kv.put(ACTIVE_KEY, next.stable.as_str())
            .map_err(|e| e.to_string())?
            .execute()
            .await
            .map_err(|e| format!("writing {ACTIVE_KEY}: {e}"))?;
    }
    kv.put(RELEASE_KEY, next.to_json())
        .map_err(|e| e.to_string())?
        .execute()
        .await
        .map_err(|e| format!("writing {RELEASE_KEY}: {e}"))?;
    let (version, previous) = match action {
        // The abort moves traffic from the candidate back to stable.
        Action::Abort => (release.stable.as_str(), candidate.version.as_str()),
        _ => (candidate.version.as_str(), release.stable.as_str()),
    };
    let at = String::from(js_sys::Date::new_0().to_iso_string());
    let reason = verdict.reason();
    let row = NewActivation {
        environment,
        version,
        previous: Some(previous),
        action,
        author: GATEWAY_AUTHOR,
        activated_at: &at,
        reason,
    };
    let params: Vec<JsValue> = row
        .params()
        .iter()
        .map(|p| p.map_or(JsValue::NULL, JsValue::from))
        .collect();
    let recorded = match db.prepare(INSERT_ACTIVATION).bind(&params) {
        Ok(statement) => statement.run().await.map(drop).map_err(worker_error),
        Err(e) => Err(worker_error(e)),
    };
    log(name, &release, Some(&next), &verdict);
    // The transition happened; a history row that could not be written is an error to see.
    recorded.map_err(|e| format!("{name}, but recording it in D1 failed: {e}"))
}

/// Logs a verdict: the canary judged (`release`), and its share after the transition (`next`;
/// none after an abort or a promotion).
fn log(name: &str, release: &Release, next: Option<&Release>, verdict: &Verdict) {
    let candidate = release.candidate.as_ref();
    let share = match next {
        Some(next) => next.candidate.as_ref(),
        None => candidate,
    };
    let percent = share.map_or("null".to_owned(), |c| c.percent.to_string());
    let fields = [
        ("stable", Field::Str(&release.stable)),
        (
            "candidate",
            candidate.map_or(Field::Null, |c| Field::Str(&c.version)),
        ),
        ("percent", Field::Raw(&percent)),
        ("reason", Field::Str(verdict.reason())),
    ];
    worker::console_log!("{}", event(name, &fields));
}
