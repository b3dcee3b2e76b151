//! The admin API under `/__gateway/`: health, routes, versions and stats, behind a bearer token
//! (`ADMIN_TOKEN`, a secret; `.dev.vars` locally). Never forwarded to an origin.

use wasm_bindgen::JsValue;
use worker::web_sys::{Headers, Response, ResponseInit};
use worker::{Env, Result};

use super::{health, isolate, proxy, routes};
use crate::access_log::{event, Field};
use crate::admin::{authorized, bad_query, AdminRoute, Endpoint, VersionsReport};
use crate::forward::UrlParts;
use crate::history::{Activation, VersionRecord, SELECT_ACTIVATIONS, SELECT_VERSIONS};
use crate::problem::{Answer, GatewayError};
use crate::stats::report::{report, StatsQuery};
use crate::stats::sql::{Row, SELECT_STEPS_SINCE};
use crate::table::{version_key, ACTIVE_KEY};

/// Secret holding the admin bearer token.
const TOKEN: &str = "ADMIN_TOKEN";
/// Versions and activations listed by `/__gateway/versions`.
const HISTORY_LIMIT: f64 = 100.0;

/// Answers an admin request.
pub async fn serve(
    req: &worker::web_sys::Request,
    env: &Env,
    route: AdminRoute,
    request_id: &str,
) -> Result<Response> {
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
        AdminRoute::NotFound => return Ok(proxy::answer(&problem(GatewayError::NoRoute))),
        AdminRoute::MethodNotAllowed => {
            let answer = problem(GatewayError::MethodNotAllowed).with("allow", "GET, HEAD");
            return Ok(proxy::answer(&answer));
        }
    };
    let body = match endpoint {
        Endpoint::Health => health_report(env).await,
        Endpoint::Routes => routes_report(env).await,
        Endpoint::Versions => versions_report(env).await,
        Endpoint::Stats => {
            let url = req.url();
            let query = UrlParts::split(&url).and_then(|u| u.query);
            match StatsQuery::parse(query, js_sys::Date::now() as u64) {
                Ok(query) => stats_report(env, &query).await,
                Err(why) => return Ok(proxy::answer(&bad_query(why, request_id))),
            }
        }
    };
    match body {
        Ok(body) => json(&body, request_id),
        Err(e) => {
            let fields = [
                ("request_id", Field::Str(request_id)),
                ("error", Field::Str(&e)),
            ];
            worker::console_error!("{}", event("admin_error", &fields));
            Ok(proxy::answer(&problem(GatewayError::Internal)))
        }
    }
}

fn json(body: &str, request_id: &str) -> Result<Response> {
    let headers = Headers::new()?;
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    headers.set("x-request-id", request_id)?;
    let init = ResponseInit::new();
    init.set_status(200);
    init.set_headers(&headers);
    Ok(Response::new_with_opt_str_and_init(Some(body), &init)?)
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
