//! The admin API under `/__gateway/`: the console's static files (no token), and behind a
//! bearer token (`ADMIN_TOKEN`, a secret; `.dev.vars` locally) health, routes, versions, stats,
//! the release, diffs and health history — and the write endpoints ([`super::actions`]). Never
//! forwarded to an origin.

use wasm_bindgen::JsValue;
use worker::web_sys::{Headers, Response, ResponseInit};
use worker::{Env, Result};

use super::{actions, health, isolate, proxy, routes};
use crate::access_log::{event, Field};
use crate::admin::actions::{check_document, Refusal};
use crate::admin::console::Asset;
use crate::admin::query::{DiffQuery, HistoryQuery};
use crate::admin::release::ReleaseReport;
use crate::admin::{authorized, bad_query, AdminRoute, DiffReport, Endpoint, VersionsReport};
use crate::forward::UrlParts;
use crate::health::timeline::{timeline, MAX_TIMELINE_ROWS, SELECT_SINCE};
use crate::health::Snapshot;
use crate::history::{Activation, VersionRecord, SELECT_ACTIVATIONS, SELECT_VERSIONS};
use crate::problem::{Answer, GatewayError};
use crate::rollout::release::{Effective, Release};
use crate::stats::report::{report, StatsQuery};
use crate::stats::sql::{Row, SELECT_STEPS_SINCE};
use crate::table::{version_key, ACTIVE_KEY};

/// Secret holding the admin bearer token.
const TOKEN: &str = "ADMIN_TOKEN";
/// Versions and activations listed by `/__gateway/versions`.
const HISTORY_LIMIT: f64 = 100.0;

/// Why an admin request got no report: a refusal the client should read (404, 409, 422, …),
/// or a failure whose cause goes to the log (500).
pub enum Failure {
    /// A problem with its own status and detail.
    Refused(Refusal),
    /// The gateway failed; the message is for the log.
    Internal(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Internal(message)
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

/// Answers an admin request.
pub async fn serve(
    req: &worker::web_sys::Request,
    env: &Env,
    route: AdminRoute,
    request_id: &str,
) -> Result<Response> {
    match route {
        AdminRoute::Endpoint(Endpoint::Console(asset)) => return console(asset, request_id),
        AdminRoute::Redirect { location } => {
            return respond(308, None, &[("location", location)], request_id)
        }
        _ => {}
    }
    let token = env.secret(TOKEN).ok().map(|s| s.to_string());
    let header = req.headers().get("authorization").ok().flatten();
    let problem = |error| Answer::problem(error, request_id);
    if !authorized(header.as_deref(), token.as_deref()) {
        let answer = problem(GatewayError::Unauthorized)
            .with("www-authenticate", "Bearer realm=\"edge-gateway admin\"");
        return Ok(proxy::answer(&answer));
    }
    let endpoint = match route {
        AdminRoute::Endpoint(endpoint) => endpoint,
        AdminRoute::MethodNotAllowed { allow } => {
            let answer = problem(GatewayError::MethodNotAllowed).with("allow", allow);
            return Ok(proxy::answer(&answer));
        }
        AdminRoute::NotFound | AdminRoute::Redirect { .. } => {
            return Ok(proxy::answer(&problem(GatewayError::NoRoute)))
        }
    };
    let url = req.url();
    let query = UrlParts::split(&url).and_then(|u| u.query);
    let now = js_sys::Date::now() as u64;
    let body = match endpoint {
        Endpoint::Health => health_report(env).await.map_err(Failure::from),
        Endpoint::Routes => routes_report(env).await.map_err(Failure::from),
        Endpoint::Versions => versions_report(env).await.map_err(Failure::from),
        Endpoint::Release => release_report(env).await.map_err(Failure::from),
        Endpoint::Stats => match StatsQuery::parse(query, now) {
            Ok(query) => stats_report(env, &query).await.map_err(Failure::from),
            Err(why) => return Ok(proxy::answer(&bad_query(why, request_id))),
        },
        Endpoint::Diff => match DiffQuery::parse(query) {
            Ok(query) => diff_report(env, &query).await,
            Err(why) => return Ok(proxy::answer(&bad_query(why, request_id))),
        },
        Endpoint::HealthHistory => match HistoryQuery::parse(query, now) {
            Ok(query) => health_history(env, &query).await.map_err(Failure::from),
            Err(why) => return Ok(proxy::answer(&bad_query(why, request_id))),
        },
        Endpoint::Rollback | Endpoint::Promote | Endpoint::Abort => {
            actions::act(req, env, endpoint).await
        }
        Endpoint::Console(asset) => return console(asset, request_id),
    };
    match body {
        Ok(body) => json(&body, request_id),
        Err(Failure::Refused(refusal)) => Ok(proxy::answer(&refusal.answer(request_id))),
        Err(Failure::Internal(e)) => {
            let fields = [
                ("request_id", Field::Str(request_id)),
                ("endpoint", Field::Str(&format!("{endpoint:?}"))),
                ("error", Field::Str(&e)),
            ];
            worker::console_error!("{}", event("admin_error", &fields));
            Ok(proxy::answer(&problem(GatewayError::Internal)))
        }
    }
}

/// The one builder of the admin API's own non-problem responses (JSON reports, the console's
/// files, the redirect to it): `headers`, then `x-request-id`.
pub(super) fn respond(
    status: u16,
    body: Option<&str>,
    headers: &[(&str, &str)],
    request_id: &str,
) -> Result<Response> {
    let all = Headers::new()?;
    for (name, value) in headers {
        all.set(name, value)?;
    }
    if !headers.iter().any(|(name, _)| *name == "cache-control") {
        all.set("cache-control", "no-store")?;
    }
    all.set("x-request-id", request_id)?;
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(&all);
    Ok(Response::new_with_opt_str_and_init(body, &init)?)
}

fn json(body: &str, request_id: &str) -> Result<Response> {
    respond(
        200,
        Some(body),
        &[("content-type", "application/json")],
        request_id,
    )
}

/// One of the console's files, with its CSP and other headers.
pub(super) fn console(asset: Asset, request_id: &str) -> Result<Response> {
    respond(200, Some(asset.body()), &asset.headers(), request_id)
}

/// Latest snapshot per origin of the active table, and the overall status.
async fn health_report(env: &Env) -> std::result::Result<String, String> {
    let config = isolate::config(env);
    let table = routes::active(env, &config).await?;
    let rows = health::latest(env).await.map_err(super::worker_error)?;
    let targets = crate::health::plan(&table);
    let report = crate::admin::health_report(
        &table,
        &targets,
        &rows,
        js_sys::Date::now(),
        config.health_fresh_ms,
    );
    serde_json::to_string(&report).map_err(|e| e.to_string())
}

/// The version this isolate serves, the one KV names, and the served document.
async fn routes_report(env: &Env) -> std::result::Result<String, String> {
    let config = isolate::config(env);
    let table = routes::active(env, &config).await?;
    let kv = env.kv(routes::KV_BINDING).map_err(|e| e.to_string())?;
    let active = kv.get(ACTIVE_KEY).text().await.map_err(|e| e.to_string())?;
    let document = kv
        .get(&version_key(&table.version))
        .text()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the served version's document is gone from KV")?;
    let routes = table.routes().len();
    Ok(crate::admin::routes_report(
        &table.version,
        active.as_deref(),
        &table.environment,
        routes,
        &document,
    ))
}

/// Versions and activations of this environment from D1, newest first.
async fn versions_report(env: &Env) -> std::result::Result<String, String> {
    let config = isolate::config(env);
    let db = env.d1(health::D1_BINDING).map_err(|e| e.to_string())?;
    let params = [
        JsValue::from(config.environment.as_str()),
        JsValue::from(HISTORY_LIMIT),
    ];
    let query = |sql: &str| db.prepare(sql).bind(&params);
    let versions: Vec<VersionRecord> = query(SELECT_VERSIONS)
        .map_err(super::worker_error)?
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(super::worker_error)?;
    let activations: Vec<Activation> = query(SELECT_ACTIVATIONS)
        .map_err(|e| e.to_string())?
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(|e| e.to_string())?;
    let report = VersionsReport {
        environment: &config.environment,
        active_version: crate::history::stable_version(&activations),
        versions: &versions,
        activations: &activations,
    };
    serde_json::to_string(&report).map_err(|e| e.to_string())
}

/// Traffic statistics per version, route and upstream since the query's start, in steps.
async fn stats_report(env: &Env, query: &StatsQuery) -> std::result::Result<String, String> {
    let db = env.d1(health::D1_BINDING).map_err(|e| e.to_string())?;
    let text = |value: &Option<String>| value.as_deref().map_or(JsValue::NULL, JsValue::from);
    let params = [
        JsValue::from(query.from_ms as f64),
        JsValue::from(query.step_ms as f64),
        text(&query.route),
        text(&query.version),
    ];
    let rows: Vec<Row> = db
        .prepare(SELECT_STEPS_SINCE)
        .bind(&params)
        .map_err(super::worker_error)?
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(super::worker_error)?;
    serde_json::to_string(&report(query, &rows)).map_err(|e| e.to_string())
}

/// The release in force, as `routes/active` and `routes/release` say (after the staleness
/// rule); none when nothing is published.
async fn release_report(env: &Env) -> std::result::Result<String, String> {
    let config = isolate::config(env);
    let current = current_release(env).await?;
    let report = ReleaseReport::new(&config.environment, current.as_ref());
    serde_json::to_string(&report).map_err(|e| e.to_string())
}

/// The release in force; `None` when `routes/active` is missing (nothing is published).
pub async fn current_release(env: &Env) -> std::result::Result<Option<Effective>, String> {
    let kv = routes::kv(env)?;
    let (active, release) = routes::read_pointers(&kv).await?;
    Ok(Release::effective(active.as_deref(), release.as_deref()).ok())
}

/// What changes between two versions: both documents read from KV and validated (404 when one
/// is missing, 422 when it does not validate), then compared as `gatewayctl diff` does.
async fn diff_report(env: &Env, query: &DiffQuery) -> std::result::Result<String, Failure> {
    let config = isolate::config(env);
    let kv = routes::kv(env)?;
    let (from, to) = futures_util::future::join(
        kv.get(&version_key(&query.from)).text(),
        kv.get(&version_key(&query.to)).text(),
    )
    .await;
    let read = |text: std::result::Result<Option<String>, worker::KvError>, version: &str| {
        text.map_err(|e| Failure::Internal(format!("reading {}: {e}", version_key(version))))
    };
    let (from, to) = (read(from, &query.from)?, read(to, &query.to)?);
    let env_name = config.environment.as_str();
    let old = check_document(&query.from, env_name, from.as_deref())?;
    let new = check_document(&query.to, env_name, to.as_deref())?;
    let diff = crate::diff::compare((&old.0, &old.1), (&new.0, &new.1), Vec::new());
    let report = DiffReport {
        environment: env_name,
        from: &query.from,
        to: &query.to,
        diff: &diff,
    };
    serde_json::to_string(&report).map_err(|e| Failure::Internal(e.to_string()))
}

/// Snapshots per origin since the query's start, from D1 (the newest `MAX_TIMELINE_ROWS`).
async fn health_history(env: &Env, query: &HistoryQuery) -> std::result::Result<String, String> {
    let config = isolate::config(env);
    // Without a table the origins are those of the snapshots alone.
    let targets = match routes::active(env, &config).await {
        Ok(table) => crate::health::plan(&table),
        Err(_) => Vec::new(),
    };
    let db = env.d1(health::D1_BINDING).map_err(|e| e.to_string())?;
    let params = [
        JsValue::from(query.from_ms as f64),
        JsValue::from(MAX_TIMELINE_ROWS as f64),
    ];
    let rows: Vec<Snapshot> = db
        .prepare(SELECT_SINCE)
        .bind(&params)
        .map_err(super::worker_error)?
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(super::worker_error)?;
    let report = timeline(&targets, &rows, query.from_ms, query.until_ms);
    serde_json::to_string(&report).map_err(|e| e.to_string())
}
