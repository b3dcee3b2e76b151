//! Test hooks: echo, deterministic downloads, chosen statuses, hop-by-hop headers, stats.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::extract::{Path, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Stats;

const CHUNK: usize = 64 * 1024;

#[derive(Clone)]
pub(crate) struct Hooks {
    service: &'static str,
    stats: Arc<Stats>,
}

pub fn routes(service: &'static str, stats: Arc<Stats>) -> Router {
    Router::new()
        .route("/echo", any(echo_root))
        .route("/echo/{*rest}", any(echo))
        .route("/_test/download", get(download))
        .route("/_test/status/{code}", get(status))
        .route("/_test/hop", get(hop))
        .route("/_test/stats", get(stats_snapshot).delete(stats_reset))
        .with_state(Hooks { service, stats })
}

/// What the echo hooks answer: the request as it arrived.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Echo {
    /// The service that answered.
    service: &'static str,
    /// The request method.
    method: String,
    /// The raw path, still percent-encoded.
    path: String,
    /// The raw query string, if any.
    query: Option<String>,
    /// Every header (repeated ones joined with `, `).
    headers: BTreeMap<String, String>,
    /// The body's length.
    body_bytes: u64,
    /// The body's SHA-256, hex.
    body_sha256: String,
}

/// Echoes a request to `/echo`.
#[utoipa::path(
    method(get, head, post, put, patch, delete, options),
    path = "/echo",
    tag = "test hooks",
    responses((status = 200, description = "The request as it arrived", body = Echo)),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn echo_root(state: State<Hooks>, request: Request) -> Response {
    echo(state, request).await
}

/// Echoes a request to `/echo/…` (any depth: `rest` spans segments).
#[utoipa::path(
    method(get, head, post, put, patch, delete, options),
    path = "/echo/{rest}",
    tag = "test hooks",
    params(("rest" = String, Path, description = "Anything, slashes included",
        extensions(("x-catch-all" = json!(true))))),
    responses((status = 200, description = "The request as it arrived", body = Echo)),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn echo(State(hooks): State<Hooks>, request: Request) -> Response {
    let service = hooks.service;
    let (parts, body) = request.into_parts();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                bytes += chunk.len() as u64;
                hasher.update(&chunk);
            }
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("body stream failed: {e}"))
                    .into_response()
            }
        }
    }
    Json(Echo {
        service,
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body_bytes: bytes,
        body_sha256: hex(&hasher.finalize()),
    })
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct DownloadParams {
    bytes: u64,
}

/// Streams `bytes` bytes of [`pattern_byte`] with their SHA-256 in `x-body-sha256`.
#[utoipa::path(
    get,
    path = "/_test/download",
    tag = "test hooks",
    params(("bytes" = u64, Query, description = "How many bytes to stream")),
    responses((status = 200, description = "`bytes` deterministic bytes",
        content_type = "application/octet-stream", body = Vec<u8>,
        headers(("x-body-sha256" = String, description = "Their SHA-256, hex")))),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn download(Query(p): Query<DownloadParams>) -> Response {
    let total = p.bytes;
    let stream = futures_util::stream::unfold(0u64, move |offset| async move {
        (offset < total).then(|| {
            let len = (total - offset).min(CHUNK as u64);
            let chunk: Vec<u8> = (offset..offset + len).map(pattern_byte).collect();
            (
                Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)),
                offset + len,
            )
        })
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert("content-length", HeaderValue::from(total));
    headers.insert(
        "x-body-sha256",
        HeaderValue::try_from(pattern_sha256(total)).expect("hex"),
    );
    response
}

/// What `/_test/status/{code}` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StatusEcho {
    /// The status asked for.
    status: u16,
}

/// Answers with the status asked for.
#[utoipa::path(
    get,
    path = "/_test/status/{code}",
    tag = "test hooks",
    params(("code" = u16, Path, description = "An HTTP status, 100-999")),
    responses((status = "default", description = "Status `code`", body = StatusEcho)),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn status(Path(code): Path<u16>) -> Response {
    match StatusCode::from_u16(code) {
        Ok(status) => (status, Json(StatusEcho { status: code })).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "not a status code").into_response(),
    }
}

/// A response carrying hop-by-hop headers (and one named by `Connection`).
#[utoipa::path(
    get,
    path = "/_test/hop",
    tag = "test hooks",
    responses((status = 200, description = "Hop-by-hop headers a proxy must drop",
        content_type = "text/plain", body = String)),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn hop() -> (HeaderMap, &'static str) {
    let mut headers = HeaderMap::new();
    headers.insert("connection", HeaderValue::from_static("x-hop-secret"));
    headers.insert("x-hop-secret", HeaderValue::from_static("1"));
    headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
    headers.insert("proxy-authenticate", HeaderValue::from_static("Basic"));
    headers.insert("x-end-to-end", HeaderValue::from_static("kept"));
    (headers, "hop")
}

/// The request counters.
#[utoipa::path(
    get,
    path = "/_test/stats",
    tag = "test hooks",
    responses((status = 200, body = crate::stats::Snapshot)),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn stats_snapshot(State(hooks): State<Hooks>) -> Json<crate::stats::Snapshot> {
    Json(hooks.stats.snapshot(hooks.service))
}

/// Zeroes the request counters.
#[utoipa::path(
    delete,
    path = "/_test/stats",
    tag = "test hooks",
    responses((status = 204, description = "Reset")),
    extensions(("x-internal" = json!(true))),
)]
pub(crate) async fn stats_reset(State(hooks): State<Hooks>) -> StatusCode {
    hooks.stats.reset();
    StatusCode::NO_CONTENT
}

/// Byte `i` of every test download: a pattern with no short period.
pub fn pattern_byte(i: u64) -> u8 {
    ((i.wrapping_mul(31).wrapping_add(7)) % 251) as u8
}

/// Hex SHA-256 of the first `bytes` bytes of the pattern.
pub fn pattern_sha256(bytes: u64) -> String {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    let mut buf = Vec::with_capacity(CHUNK);
    while offset < bytes {
        let len = (bytes - offset).min(CHUNK as u64);
        buf.clear();
        buf.extend((offset..offset + len).map(pattern_byte));
        hasher.update(&buf);
        offset += len;
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
