//! The admin API under `/__gateway/`: health, routes and versions, behind a bearer token
//! (`ADMIN_TOKEN`, a secret; `.dev.vars` locally). Never forwarded to an origin.

use wasm_bindgen::JsValue;
use worker::web_sys::{Headers, Response, ResponseInit};
use worker::{Env, Result};

use super::{health, isolate, respond, routes};
use crate::admin::{authorized, AdminRoute, Endpoint};
use crate::health::{overall, Status};
use crate::history::{Activation, VersionRecord, SELECT_ACTIVATIONS, SELECT_VERSIONS};
use crate::problem::GatewayError;
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
    if !authorized(header.as_deref(), token.as_deref()) {
        let response = respond::problem(GatewayError::Unauthorized, request_id, None, None, None)?;
        response
            .headers()
            .set("www-authenticate", "Bearer realm=\"edge-gateway admin\"")?;
        return Ok(response);
    }
    let endpoint = match route {
        AdminRoute::Endpoint(endpoint) => endpoint,
        AdminRoute::NotFound => {
            return respond::problem(GatewayError::NoRoute, request_id, None, None, None)
        }
        AdminRoute::MethodNotAllowed => {
            return respond::problem(
                GatewayError::MethodNotAllowed,
                request_id,
                None,
                None,
                Some("GET, HEAD"),
            )
        }
    };
    let body = match endpoint {
        Endpoint::Health => health_report(env).await,
        Endpoint::Routes => routes_report(env).await,
        Endpoint::Versions => versions_report(env).await,
    };
    match body {
        Ok(body) => json(&body, request_id),
        Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"event": "admin_error", "request_id": request_id, "error": e})
            );
            respond::problem(GatewayError::Internal, request_id, None, None, None)
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
    let rows = health::latest(env).await.map_err(|e| e.to_string())?;
    let now = js_sys::Date::now();
    let targets = crate::health::plan(&table);
    let origins: Vec<serde_json::Value> = targets
        .iter()
        .map(|t| {
            let row = rows
                .iter()
                .find(|r| r.upstream == t.upstream && r.origin == t.origin);
            let fresh = row.is_some_and(|r| now - r.checked_at as f64 <= config.health_fresh_ms);
            serde_json::json!({
                "upstream": t.upstream,
                "origin": t.origin,
                "status": row.map_or("unknown", |r| r.status.as_str()),
                "http_status": row.and_then(|r| r.http_status),
                "latency_ms": row.map(|r| r.latency_ms),
                "checked_at": row.map(|r| r.checked_at),
                "detail": row.map_or("", |r| r.detail.as_str()),
                "fresh": fresh,
            })
        })
        .collect();
    let statuses: Vec<Status> = origins
        .iter()
        .filter(|o| o["fresh"] == true)
        .filter_map(|o| Status::parse(o["status"].as_str()?))
        .collect();
    let status = if statuses.is_empty() {
        "unknown"
    } else {
        overall(statuses).as_str()
    };
    let checked_at = rows.iter().map(|r| r.checked_at).max();
    Ok(serde_json::json!({
        "status": status,
        "checked_at": checked_at,
        "fresh_ms": config.health_fresh_ms as u64,
        "route_version": table.version,
        "origins": origins,
    })
    .to_string())
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
    let document: serde_json::Value = serde_json::from_str(&document).map_err(|e| e.to_string())?;
    Ok(serde_json::json!({
        "serving_version": table.version,
        "active_version": active,
        "environment": table.environment,
        "route_count": table.routes().len(),
        "document": document,
    })
    .to_string())
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
        .map_err(|e| e.to_string())?
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(|e| e.to_string())?;
    let activations: Vec<Activation> = query(SELECT_ACTIVATIONS)
        .map_err(|e| e.to_string())?
        .all()
        .await
        .and_then(|r| r.results())
        .map_err(|e| e.to_string())?;
    let active = activations.first().map(|a| a.version.clone());
    Ok(serde_json::json!({
        "environment": config.environment,
        "active_version": active,
        "versions": versions,
        "activations": activations,
    })
    .to_string())
}
