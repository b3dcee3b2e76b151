//! `/healthz` and the switch that drives it: `PUT /_test/health {"mode": …, "slow_ms": …}`
//! or `HEALTH_MODE` at start. Modes: `healthy`, `slow` (answers after `slow_ms`), `degraded`
//! (200 with `"status": "degraded"`), `unhealthy` (503).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How `/healthz` behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 200, `{"status": "ok"}`.
    Healthy,
    /// 200 after `slow_ms`.
    Slow,
    /// 200, `{"status": "degraded"}`.
    Degraded,
    /// 503, `{"status": "unhealthy"}`.
    Unhealthy,
}

/// The switch's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

pub fn routes(service: &'static str) -> Router {
    let switch: Switch = Arc::new(RwLock::new(Setting::from_env()));
    Router::new()
        .route("/healthz", get(move |s| healthz(service, s)))
        .route("/_test/health", get(current).put(set))
        .with_state(switch)
}

async fn healthz(service: &'static str, State(switch): State<Switch>) -> Response {
    let setting = *switch.read().expect("health lock");
    let (status, word) = match setting.mode {
        Mode::Healthy => (StatusCode::OK, "ok"),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_millis(setting.slow_ms)).await;
            (StatusCode::OK, "ok")
        }
        Mode::Degraded => (StatusCode::OK, "degraded"),
        Mode::Unhealthy => (StatusCode::SERVICE_UNAVAILABLE, "unhealthy"),
    };
    (status, Json(json!({"status": word, "service": service}))).into_response()
}

async fn current(State(switch): State<Switch>) -> Json<Setting> {
    Json(*switch.read().expect("health lock"))
}

async fn set(State(switch): State<Switch>, Json(setting): Json<Setting>) -> Json<Setting> {
    *switch.write().expect("health lock") = setting;
    Json(setting)
}
