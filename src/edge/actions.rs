//! The admin API's write endpoints — `POST /__gateway/rollback`, `/promote`, `/abort` — carried
//! out: read the body and the release in force, check (the pure checks are
//! [`crate::admin::actions`]'), write `routes/active` first and `routes/release` second (see
//! [`crate::rollout::release`] for why), record the activations in D1 in one batch, and answer
//! the release afterwards. The same transitions as `gatewayctl rollback`, `promote` and
//! `abort` ([`crate::rollout::transition`]), recorded with author `console`.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use worker::kv::KvStore;
use worker::Env;

use super::admin::{current_release, Failure};
use super::health::D1_BINDING;
use super::{isolate, routes, worker_error};
use crate::access_log::{event, Field};
use crate::admin::actions::{
    self, check_document, never_published, parse_body, rollback_target, CanaryBody, Refusal,
    RollbackBody, CONSOLE_AUTHOR, MAX_BODY_BYTES,
};
use crate::admin::release::{ActionReport, Recorded};
use crate::admin::Endpoint;
use crate::history::{
    Activation, VersionRecord, INSERT_ACTIVATION, SELECT_STABLE_ACTIVATION, SELECT_VERSION,
};
use crate::rollout::release::{Release, RELEASE_KEY};
use crate::rollout::transition::Transition;
use crate::table::{version_key, ACTIVE_KEY};

type Outcome<T> = Result<T, Failure>;

/// Carries out a write endpoint's request; the body of its answer.
pub async fn act(req: &worker::web_sys::Request, env: &Env, endpoint: Endpoint) -> Outcome<String> {
    let text = body_text(req).await?;
    let config = isolate::config(env);
    let environment = config.environment.as_str();
    let kv = routes::kv(env)?;
    let current = current_release(env).await?.map(|e| e.release);
    let plan = match endpoint {
        Endpoint::Rollback => {
            let body: RollbackBody = parse_body(&text)?;
            plan_rollback(env, &kv, environment, current.as_ref(), &body).await?
        }
        Endpoint::Promote => {
            let body: CanaryBody = parse_body(&text)?;
            let plan = actions::promote(current.as_ref(), &body)?;
            check_document(
                &plan.next.stable,
                environment,
                document(&kv, &plan.next.stable).await?.as_deref(),
            )?;
            plan
        }
        Endpoint::Abort => {
            let body: CanaryBody = parse_body(&text)?;
            actions::abort(current.as_ref(), &body)?
        }
        other => {
            return Err(Failure::Internal(format!(
                "{other:?} is not a write endpoint"
            )))
        }
    };
    carry_out(env, &kv, environment, &plan).await
}

/// The request body as text; one that says it is larger than `parse_body` accepts is refused
/// unread.
async fn body_text(req: &worker::web_sys::Request) -> Outcome<String> {
    let length = req.headers().get("content-length").ok().flatten();
    if length
        .and_then(|l| l.trim().parse::<usize>().ok())
        .is_some_and(|l| l > MAX_BODY_BYTES)
    {
        return Err(Refusal::too_large().into());
    }
    let promise = req
        .text()
        .map_err(|e| Failure::Internal(format!("reading the body: {}", super::js_error(&e))))?;
    let value = JsFuture::from(promise)
        .await
        .map_err(|e| Failure::Internal(format!("reading the body: {}", super::js_error(&e))))?;
    Ok(value.as_string().unwrap_or_default())
}

/// The rollback's target, checked: `to`, or what the latest stable activation replaced (D1);
/// recorded in D1 as published here, its document present in KV and valid.
async fn plan_rollback(
    env: &Env,
    kv: &KvStore,
    environment: &str,
    current: Option<&Release>,
    body: &RollbackBody,
) -> Outcome<Transition> {
    let db = env.d1(D1_BINDING).map_err(|e| e.to_string())?;
    let replaced = match body.to {
        Some(_) => None,
        None => {
            let rows: Vec<Activation> = rows(&db, SELECT_STABLE_ACTIVATION, &[environment]).await?;
            rows.into_iter().next().and_then(|a| a.previous)
        }
    };
    let target = rollback_target(current, body, replaced.as_deref())?;
    let records: Vec<VersionRecord> = rows(&db, SELECT_VERSION, &[environment, &target]).await?;
    if records.is_empty() {
        return Err(never_published(&target, environment).into());
    }
    check_document(
        &target,
        environment,
        document(kv, &target).await?.as_deref(),
    )?;
    Ok(actions::rollback(current, &target, body))
}

/// The document of `version` in KV, if any (read afresh: a check must not see a cached miss).
async fn document(kv: &KvStore, version: &str) -> Outcome<Option<String>> {
    let key = version_key(version);
    kv.get(&key)
        .text()
        .await
        .map_err(|e| Failure::Internal(format!("reading {key}: {e}")))
}

/// Rows of a statement with text parameters.
async fn rows<T: serde::de::DeserializeOwned>(
    db: &worker::D1Database,
    sql: &str,
    params: &[&str],
) -> Outcome<Vec<T>> {
    let params: Vec<JsValue> = params.iter().map(|p| JsValue::from(*p)).collect();
    let rows = db
        .prepare(sql)
        .bind(&params)
        .map_err(worker_error)?
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(worker_error)?;
    Ok(rows)
}

/// Writes the pointers (`routes/active` first when the stable version changes, then
/// `routes/release`), records the activations, logs the transition and answers the release.
async fn carry_out(
    env: &Env,
    kv: &KvStore,
    environment: &str,
    plan: &Transition,
) -> Outcome<String> {
    let next = &plan.next;
    if plan.sets_active {
        kv.put(ACTIVE_KEY, next.stable.as_str())
            .map_err(|e| e.to_string())?
            .execute()
            .await
            .map_err(|e| format!("writing {ACTIVE_KEY} (nothing changed): {e}"))?;
    }
    // When this write fails after `routes/active` moved, the gateway ignores the stale release
    // document and serves the new stable version alone: the transition still happened.
    let release = match kv.put(RELEASE_KEY, next.to_json()) {
        Ok(put) => put.execute().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let (Err(e), false) = (&release, plan.sets_active) {
        return Err(Failure::Internal(format!(
            "writing {RELEASE_KEY} (nothing changed): {e}"
        )));
    }
    let at = String::from(js_sys::Date::new_0().to_iso_string());
    let activations = plan.activations(environment, CONSOLE_AUTHOR, &at);
    let recorded = record(env, &activations).await;
    let action = plan.action.as_str();
    let fields = [
        ("action", Field::Str(action)),
        ("stable", Field::Str(&next.stable)),
        ("author", Field::Str(CONSOLE_AUTHOR)),
    ];
    worker::console_log!("{}", event("admin_action", &fields));
    if let Err(e) = release {
        return Err(Failure::Internal(format!(
            "{action}: {} is stable, but writing {RELEASE_KEY} failed (the gateway serves {} \
             alone until the next transition rewrites it): {e}",
            next.stable, next.stable
        )));
    }
    recorded.map_err(|e| format!("{action} done, but recording it in D1 failed: {e}"))?;
    let report = ActionReport {
        action,
        environment,
        active_version: &next.stable,
        release: next.into(),
        activations: activations.iter().map(Recorded::from).collect(),
    };
    serde_json::to_string(&report).map_err(|e| Failure::Internal(e.to_string()))
}

/// Inserts the activations in one D1 batch.
async fn record(
    env: &Env,
    activations: &[crate::history::NewActivation<'_>],
) -> Result<(), String> {
    let db = env.d1(D1_BINDING).map_err(|e| e.to_string())?;
    let statements = activations
        .iter()
        .map(|a| {
            let params: Vec<JsValue> = a
                .params()
                .iter()
                .map(|p| p.map_or(JsValue::NULL, JsValue::from))
                .collect();
            db.prepare(INSERT_ACTIVATION).bind(&params)
        })
        .collect::<worker::Result<Vec<_>>>()
        .map_err(worker_error)?;
    db.batch(statements).await.map(drop).map_err(worker_error)
}
