//! `/healthz` — a [`contracts::HealthReport`], the type the gateway's probes read — and the
//! switch that drives it: `PUT /_test/health {"mode": …, "slow_ms": …}` or `HEALTH_MODE` at
//! start. Modes: `healthy`, `slow` (answers after `slow_ms`), `degraded` (200 with
//! `"status": "degraded"`), `unhealthy` (503).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use contracts::{HealthReport, HealthStatus};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Service;

/// How `/healthz` behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = HealthMode)]
pub enum Mode {
    /// 200, `{"status": "healthy"}`.
    Healthy,
    /// 200 after `slow_ms`.
    Slow,
    /// 200, `{"status": "degraded"}`.
    Degraded,
    /// 503, `{"status": "unhealthy"}`.
    Unhealthy,
}

/// The switch's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = HealthSetting)]
pub struct Setting {
    /// The mode.
    pub mode: Mode,
    /// Delay in `slow` mode, ms.
    #[serde(default = "default_slow")]
    pub slow_ms: u64,
}

fn default_slow() -> u64 {
    1_500
}

impl Setting {
    /// From `HEALTH_MODE` (default healthy) and `HEALTH_SLOW_MS`.
    pub fn from_env() -> Self {
        let mode = std::env::var("HEALTH_MODE")
            .ok()
            .and_then(|m| serde_json::from_value(json!(m.to_ascii_lowercase())).ok())
            .unwrap_or(Mode::Healthy);
        let slow_ms = std::env::var("HEALTH_SLOW_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_slow());
        Self { mode, slow_ms }
    }
}

type Switch = Arc<RwLock<Setting>>;

#[derive(Clone)]
pub(crate) struct Health {
    service: Service,
    switch: Switch,
}

pub fn routes(service: Service) -> Router {
    let switch: Switch = Arc::new(RwLock::new(Setting::from_env()));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/_test/health", get(current).put(set))
        .with_state(Health { service, switch })
}

/// The service's health: healthy, degraded or unhealthy (503), its name and API version.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Healthy or degraded", body = HealthReport),
        (status = 503, description = "Unhealthy", body = HealthReport),
    ),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn healthz(State(health): State<Health>) -> Response {
    let setting = *health.switch.read().expect("health lock");
    let status = match setting.mode {
        Mode::Healthy => HealthStatus::Healthy,
        Mode::Slow => {
            tokio::time::sleep(Duration::from_millis(setting.slow_ms)).await;
            HealthStatus::Healthy
        }
        Mode::Degraded => HealthStatus::Degraded,
        Mode::Unhealthy => HealthStatus::Unhealthy,
    };
    let mut report = HealthReport::new(status);
    report.service = Some(health.service.name.to_owned());
    report.version = Some(health.service.api_version());
    if status != HealthStatus::Healthy {
        report.detail = Some(format!(
            "mode `{}` set by the test switch",
            mode_word(setting.mode)
        ));
    }
    let code = StatusCode::from_u16(status.http_status()).expect("a valid status");
    (code, Json(report)).into_response()
}

fn mode_word(mode: Mode) -> String {
    json!(mode).as_str().unwrap_or_default().to_owned()
}

/// The test switch's setting.
#[utoipa::path(
    get,
    path = "/_test/health",
    tag = "test hooks",
    responses((status = 200, body = Setting)),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn current(State(health): State<Health>) -> Json<Setting> {
    Json(*health.switch.read().expect("health lock"))
}

/// Sets how `/healthz` answers.
#[utoipa::path(
    put,
    path = "/_test/health",
    tag = "test hooks",
    request_body = Setting,
    responses((status = 200, description = "The new setting", body = Setting)),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn set(
    State(health): State<Health>,
    Json(setting): Json<Setting>,
) -> Json<Setting> {
    *health.switch.write().expect("health lock") = setting;
    Json(setting)
}
