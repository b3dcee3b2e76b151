//! The `idp` sample identity provider: signs RS256/ES256 JWTs and publishes their public keys,
//! for local development and end-to-end tests of the gateway's JWT and Access policies.
//!
//! At start it generates an RSA-2048 pair (`rsa-1`) and a P-256 pair (`ec-1`).
//! - `GET /.well-known/jwks.json` and `GET /cdn-cgi/access/certs` (where Cloudflare Access
//!   publishes its keys) answer `{"keys": [JWK, …]}`, newest generation first;
//! - `POST /token {"sub", "aud", "iss", "alg", "ttl_s", "exp", "nbf", "iat", "claims", "kid"}`
//!   (all optional) answers `{"access_token", "token_type": "Bearer", "expires_in"}`; see
//!   [`TokenRequest`] for the defaults. `GET /token?sub=…&aud=a,b&alg=…` does the same;
//! - `POST /_test/rotate {"keep_old": true}` makes `rsa-N`/`ec-N` the signing keys and answers
//!   `{"kids": [new], "published": [every kid in the set]}`;
//! - `PUT /_test/jwks {"mode": "ok"|"fail"|"slow", "slow_ms": N}` makes both key-set endpoints
//!   answer normally, 500, or after `slow_ms` (default 3000); `GET` reads the setting;
//! - `GET /_test/jwks/stats` answers `{"fetches": N}`, the key-set requests since start (or
//!   `DELETE`, which resets it);
//! - plus the kit's `/healthz` and test hooks (`/_test/stats` counts each path too).
//!
//! Its OpenAPI document ([`openapi`]) is generated from the handlers' annotations, which also
//! register their routes, and committed at `backends/idp/openapi.json`.

mod keys;
mod token;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use backend_kit::{problem, Service};
use contracts::Problem;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use keys::{b64, Alg, KeyRing, Material, RSA_BITS};
pub use token::{
    Audience, Plan, TokenQuery, TokenRequest, DEFAULT_AUD, DEFAULT_SUB, DEFAULT_TTL_S,
};

/// The service name, in logs and echoes.
pub const SERVICE: &str = "idp";
/// The service and the API version it reports (this crate's version).
pub const API: Service = Service::new(SERVICE, env!("CARGO_PKG_VERSION"));
/// Port when `PORT` is unset.
pub const DEFAULT_PORT: u16 = 9103;

/// What the provider is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The default `iss` of its tokens.
    pub issuer: String,
}

impl Config {
    /// `ISSUER` from the environment, else `http://127.0.0.1:<PORT>`.
    pub fn from_env() -> Self {
        let issuer = std::env::var("ISSUER")
            .ok()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", backend_kit::port(DEFAULT_PORT)));
        Self { issuer }
    }
}

/// How the key-set endpoints behave (`PUT /_test/jwks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JwksMode {
    /// Serve the key set.
    Ok,
    /// Answer 500.
    Fail,
    /// Serve the key set after `slow_ms`.
    Slow,
}

/// The key-set fault switch's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JwksSetting {
    /// The mode.
    pub mode: JwksMode,
    /// Delay in `slow` mode, ms.
    #[serde(default = "default_slow")]
    pub slow_ms: u64,
}

fn default_slow() -> u64 {
    3_000
}

/// The body of `POST /_test/rotate`.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Keep publishing the previous keys (default true).
    keep_old: Option<bool>,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeySet {
    /// Public JWKs (RSA: `n`, `e`; EC P-256: `crv`, `x`, `y`), newest generation first.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// An issued token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The compact JWS.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// What `POST /_test/rotate` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// The new signing keys' ids.
    pub kids: Vec<String>,
    /// Every key id the key sets now publish.
    pub published: Vec<String>,
}

/// Key-set requests since start (or the last reset).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JwksStats {
    /// How many.
    pub fetches: u64,
}

/// The provider's state.
struct Idp {
    config: Config,
    keys: RwLock<KeyRing>,
    jwks: RwLock<JwksSetting>,
    fetches: AtomicU64,
}

type Shared = Arc<Idp>;

/// The whole service configured from the environment, with the kit's health and test hooks.
/// Generates the first keys, which takes a moment.
pub fn app() -> Router {
    app_with(Config::from_env())
}

/// The whole service with `config`.
pub fn app_with(config: Config) -> Router {
    let idp: Shared = Arc::new(Idp {
        config,
        keys: RwLock::new(KeyRing::new(Material::generate())),
        jwks: RwLock::new(JwksSetting {
            mode: JwksMode::Ok,
            slow_ms: default_slow(),
        }),
        fetches: AtomicU64::new(0),
    });
    let (routes, _) = routes().split_for_parts();
    backend_kit::app(API, routes.with_state(idp))
}

#[derive(utoipa::OpenApi)]
#[openapi(tags(
    (name = "keys", description = "Public keys of the signing keys"),
    (name = "tokens", description = "Signed JWTs"),
))]
struct Api;

/// The service's own routes with their OpenAPI operations.
fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(Api::openapi())
        .routes(routes!(key_set))
        .routes(routes!(access_certs))
        .routes(routes!(token_from_query, token_from_body))
        .routes(routes!(rotate))
        .routes(routes!(jwks_setting, set_jwks))
        .routes(routes!(jwks_stats, reset_jwks_stats))
}

/// The service's OpenAPI document, the kit's operations included.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, own) = routes().split_for_parts();
    backend_kit::openapi::document(
        API,
        "Sample identity provider: signs RS256/ES256 JWTs and publishes their public keys.",
        own,
    )
}

/// The key set, where Cloudflare Access publishes its keys.
#[utoipa::path(get, path = "/cdn-cgi/access/certs", tag = "keys",
    responses(
        (status = 200, description = "The key set", body = KeySet),
        (status = 500, description = "Failure injected by PUT /_test/jwks", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn access_certs(state: State<Shared>) -> Response {
    key_set(state).await
}

/// The key set.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses(
        (status = 200, description = "The key set", body = KeySet),
        (status = 500, description = "Failure injected by PUT /_test/jwks", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn key_set(State(idp): State<Shared>) -> Response {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    let setting = *idp.jwks.read().expect("jwks lock");
    match setting.mode {
        JwksMode::Ok => {}
        JwksMode::Slow => tokio::time::sleep(Duration::from_millis(setting.slow_ms)).await,
        JwksMode::Fail => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "key set failure injected by PUT /_test/jwks",
            )
        }
    }
    let keys = idp.keys.read().expect("keys lock").jwks()["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Json(KeySet { keys }).into_response()
}

/// Issues a token as the body asks (every field optional; an empty body reads as `{}`).
#[utoipa::path(post, path = "/token", tag = "tokens",
    request_body(content = TokenRequest, description = "What to put in the token"),
    responses(
        (status = 200, description = "The token", body = IssuedToken),
        (status = 400, description = "A body that does not parse, or an unknown `alg`", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn token_from_body(State(idp): State<Shared>, body: Bytes) -> Response {
    match parse_body::<TokenRequest>(&body) {
        Ok(request) => issue(&idp, request),
        Err(response) => *response,
    }
}

/// Issues a token as the query asks.
#[utoipa::path(get, path = "/token", tag = "tokens",
    params(TokenQuery),
    responses(
        (status = 200, description = "The token", body = IssuedToken),
        (status = 400, description = "A query that does not parse, or an unknown `alg`", body = Problem,
            content_type = "application/problem+json"),
    ))]
async fn token_from_query(
    State(idp): State<Shared>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    match query {
        Ok(Query(query)) => issue(&idp, query.into()),
        Err(e) => problem(StatusCode::BAD_REQUEST, &e.body_text()),
    }
}

fn issue(idp: &Idp, request: TokenRequest) -> Response {
    let plan = match request.plan(&idp.config.issuer, now()) {
        Ok(plan) => plan,
        Err(detail) => return problem(StatusCode::BAD_REQUEST, &detail),
    };
    let signer = idp.keys.read().expect("keys lock").current();
    let token = signer.sign(plan.alg, plan.kid.as_deref(), &plan.payload);
    Json(IssuedToken {
        access_token: token,
        token_type: "Bearer",
        expires_in: plan.expires_in,
    })
    .into_response()
}

/// New signing keys.
#[utoipa::path(post, path = "/_test/rotate", tag = "test hooks",
    request_body(content = RotateRequest, description = "Optional; an empty body reads as `{}`"),
    responses(
        (status = 200, description = "The new keys", body = Rotated),
        (status = 400, description = "A body that does not parse", body = Problem,
            content_type = "application/problem+json"),
        (status = 500, description = "Key generation failed", body = Problem,
            content_type = "application/problem+json"),
    ),
    extensions(("x-internal" = json!(true))))]
async fn rotate(State(idp): State<Shared>, body: Bytes) -> Response {
    let request = match parse_body::<RotateRequest>(&body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let Ok(material) = tokio::task::spawn_blocking(Material::generate).await else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "key generation failed");
    };
    let mut ring = idp.keys.write().expect("keys lock");
    let generation = ring.rotate(material, request.keep_old.unwrap_or(true));
    Json(Rotated {
        kids: vec![generation.kid(Alg::Rs256), generation.kid(Alg::Es256)],
        published: ring.kids(),
    })
    .into_response()
}

/// How the key-set endpoints behave.
#[utoipa::path(get, path = "/_test/jwks", tag = "test hooks",
    responses((status = 200, body = JwksSetting)),
    extensions(("x-internal" = json!(true))))]
async fn jwks_setting(State(idp): State<Shared>) -> Json<JwksSetting> {
    Json(*idp.jwks.read().expect("jwks lock"))
}

/// Makes the key-set endpoints answer normally, 500, or slowly.
#[utoipa::path(put, path = "/_test/jwks", tag = "test hooks",
    request_body = JwksSetting,
    responses(
        (status = 200, description = "The new setting", body = JwksSetting),
        (status = 400, description = "A body that does not parse", body = Problem,
            content_type = "application/problem+json"),
    ),
    extensions(("x-internal" = json!(true))))]
async fn set_jwks(State(idp): State<Shared>, body: Bytes) -> Response {
    match parse_body::<JwksSetting>(&body) {
        Ok(setting) => {
            *idp.jwks.write().expect("jwks lock") = setting;
            Json(setting).into_response()
        }
        Err(response) => *response,
    }
}

/// Key-set requests since start.
#[utoipa::path(get, path = "/_test/jwks/stats", tag = "test hooks",
    responses((status = 200, body = JwksStats)),
    extensions(("x-internal" = json!(true))))]
async fn jwks_stats(State(idp): State<Shared>) -> Json<JwksStats> {
    Json(JwksStats {
        fetches: idp.fetches.load(Ordering::SeqCst),
    })
}

/// Resets the key-set request count.
#[utoipa::path(delete, path = "/_test/jwks/stats", tag = "test hooks",
    responses((status = 204, description = "Reset")),
    extensions(("x-internal" = json!(true))))]
async fn reset_jwks_stats(State(idp): State<Shared>) -> StatusCode {
    idp.fetches.store(0, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// A JSON body, whatever its content type (an empty body reads as `{}`); a 400 problem if it
/// does not parse.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    let body = if body.trim_ascii().is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        Box::new(problem(
            StatusCode::BAD_REQUEST,
            &format!("bad JSON body: {e}"),
        ))
    })
}

/// Unix time, seconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
