//! The scheduled health check: probe every origin of the active table and of a canary
//! candidate's (at most six at a time, each within its timeout of at most 5 s), classify,
//! store one snapshot per origin in one D1 batch, and prune old snapshots. The same run flushes this isolate's traffic
//! statistics and prunes old ones (`stats::scheduled`), then judges a running canary
//! (`canary::evaluate`).

use futures_util::StreamExt;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::web_sys::{AbortController, Headers, Request, RequestInit, Response};
use worker::{event, Env, ScheduleContext, ScheduledEvent};

use super::deadline::within;
use super::{health, isolate, js_error, routes, worker_error};
use crate::access_log::{event, Field};
use crate::health::{
    body_reports_degraded, classify, plan, Probe, ProbeTarget, Verdict, INSERT_SNAPSHOT,
    MAX_CONCURRENT_PROBES, PRUNE_SNAPSHOTS,
};
use crate::table::{AccessSecrets, RouteTable};

/// Probes per run at most, to stay within the free plan's 50 subrequests per invocation.
const MAX_PROBES_PER_RUN: usize = 40;

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = run(&env).await {
        worker::console_error!(
            "{}",
            event("health_probe_error", &[("error", Field::Str(&e))])
        );
    }
    super::stats::scheduled(&env).await;
    // After the flush, so that this isolate's latest counts are judged too.
    let environment = isolate::config(&env).environment.clone();
    if let Err(e) = super::canary::evaluate(&env, &environment).await {
        worker::console_error!("{}", event("canary_error", &[("error", Field::Str(&e))]));
    }
}

async fn run(env: &Env) -> Result<(), String> {
    let config = isolate::config(env);
    let table = routes::active(env, &config).await?;
    let mut targets = plan(&table);
    // A canary candidate's upstreams are probed too: it serves a share of the traffic.
    let candidate = isolate::serving().and_then(|s| s.candidate.clone());
    if let Some(candidate) = &candidate {
        for t in plan(candidate) {
            if !targets
                .iter()
                .any(|have| have.upstream == t.upstream && have.origin == t.origin)
            {
                targets.push(t);
            }
        }
    }
    if targets.len() > MAX_PROBES_PER_RUN {
        // Rotate through the origins, a window per minute.
        let minute = (js_sys::Date::now() / 60_000.0) as usize;
        let offset = minute * MAX_PROBES_PER_RUN % targets.len();
        targets.rotate_left(offset);
        targets.truncate(MAX_PROBES_PER_RUN);
    }
    let started = js_sys::Date::now();
    let verdicts: Vec<(ProbeTarget, Verdict)> = futures_util::stream::iter(targets)
        .map(|t| async {
            let access = access_of(&table, &t.upstream)
                .or_else(|| access_of(candidate.as_deref()?, &t.upstream));
            let verdict = probe(env, &t, access).await;
            (t, verdict)
        })
        .buffer_unordered(MAX_CONCURRENT_PROBES)
        .collect()
        .await;
    let checked_at = js_sys::Date::now();
    let db = env.d1(health::D1_BINDING).map_err(|e| e.to_string())?;
    let mut statements = Vec::with_capacity(verdicts.len() + 1);
    for (t, v) in &verdicts {
        let http_status = v.http_status.map_or(JsValue::NULL, JsValue::from);
        let params = [
            JsValue::from(t.upstream.as_str()),
            JsValue::from(t.origin.as_str()),
            JsValue::from(v.status.as_str()),
            http_status,
            JsValue::from(v.latency_ms as f64),
            JsValue::from(checked_at),
            JsValue::from(v.detail.as_str()),
        ];
        statements.push(
            db.prepare(INSERT_SNAPSHOT)
                .bind(&params)
                .map_err(|e| e.to_string())?,
        );
    }
    let cutoff = checked_at - config.health_retention_ms;
    statements.push(
        db.prepare(PRUNE_SNAPSHOTS)
            .bind(&[JsValue::from(cutoff)])
            .map_err(|e| e.to_string())?,
    );
    db.batch(statements).await.map_err(worker_error)?;
    let origins: Vec<ProbeLog<'_>> = verdicts
        .iter()
        .map(|(t, v)| ProbeLog {
            upstream: &t.upstream,
            origin: &t.origin,
            status: v.status.as_str(),
            latency_ms: v.latency_ms,
            detail: &v.detail,
        })
        .collect();
    let origins = serde_json::to_string(&origins).map_err(|e| e.to_string())?;
    worker::console_log!(
        "{}",
        event(
            "health_probed",
            &[
                ("version", Field::Str(&table.version)),
                ("origins", Field::Raw(&origins)),
                ("duration_ms", Field::Num((checked_at - started) as u64)),
            ]
        )
    );
    Ok(())
}

/// One origin in the `health_probed` log line.
#[derive(serde::Serialize)]
struct ProbeLog<'a> {
    upstream: &'a str,
    origin: &'a str,
    status: &'a str,
    latency_ms: u64,
    detail: &'a str,
}

fn access_of<'t>(table: &'t RouteTable, upstream: &str) -> Option<&'t AccessSecrets> {
    table
        .upstreams()
        .iter()
        .find(|u| u.name == upstream)?
        .access_secrets
        .as_ref()
}

/// Probes one origin: GET its health path, read the (small) body, all within the timeout.
async fn probe(env: &Env, target: &ProbeTarget, access: Option<&AccessSecrets>) -> Verdict {
    let started = js_sys::Date::now();
    let elapsed = || (js_sys::Date::now() - started).max(0.0) as u64;
    let controller = match AbortController::new() {
        Ok(c) => c,
        Err(e) => {
            return classify(
                &Probe::Failed {
                    latency_ms: 0,
                    detail: format!("{e:?}"),
                },
                target.degraded_ms,
            )
        }
    };
    let attempt = async {
        let request = request(env, target, access, &controller).map_err(|e| e.to_string())?;
        let response: Response = if target.binding {
            let fetcher = env.service(&target.origin).map_err(|e| e.to_string())?;
            fetcher
                .fetch_request(worker::Request::from(request))
                .await
                .map_err(|e| e.to_string())?
                .into()
        } else {
            let global: worker::web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
            let value = JsFuture::from(global.fetch_with_request(&request))
                .await
                .map_err(|e| js_error(&e))?;
            value.dyn_into().map_err(|e| js_error(&e))?
        };
        let body = JsFuture::from(response.text().map_err(|e| js_error(&e))?)
            .await
            .map_err(|e| js_error(&e))?;
        Ok::<_, String>((response.status(), body.as_string().unwrap_or_default()))
    };
    let probe = match within(target.timeout_ms as f64, attempt).await {
        Some(Ok((http_status, body))) => Probe::Responded {
            http_status,
            latency_ms: elapsed(),
            body_degraded: body_reports_degraded(&body),
        },
        Some(Err(detail)) => Probe::Failed {
            latency_ms: elapsed(),
            detail,
        },
        None => {
            controller.abort();
            Probe::TimedOut {
                after_ms: target.timeout_ms,
            }
        }
    };
    classify(&probe, target.degraded_ms)
}

fn request(
    env: &Env,
    target: &ProbeTarget,
    access: Option<&AccessSecrets>,
    controller: &AbortController,
) -> worker::Result<Request> {
    let headers = Headers::new()?;
    headers.set("user-agent", "edge-gateway-health/1")?;
    if let Some(access) = access {
        headers.set(
            "cf-access-client-id",
            &env.secret(&access.client_id)?.to_string(),
        )?;
        headers.set(
            "cf-access-client-secret",
            &env.secret(&access.client_secret)?.to_string(),
        )?;
    }
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_signal(Some(&controller.signal()));
    Ok(Request::new_with_str_and_init(&target.url, &init)?)
}
