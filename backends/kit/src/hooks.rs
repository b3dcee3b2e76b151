//! Test hooks: echo, deterministic downloads, chosen statuses, hop-by-hop headers, stats.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Stats;

const CHUNK: usize = 64 * 1024;

pub fn routes(service: &'static str, stats: Arc<Stats>) -> Router {
    let reset = stats.clone();
    Router::new()
        .route("/echo", any(move |r| echo(service, r)))
        .route("/echo/{*rest}", any(move |r| echo(service, r)))
        .route("/_test/download", get(download))
        .route("/_test/status/{code}", get(status))
        .route("/_test/hop", get(hop))
        .route(
            "/_test/stats",
            get(move || async move { Json(stats.snapshot(service)) }).delete(move || async move {
                reset.reset();
                StatusCode::NO_CONTENT
            }),
        )
}

/// Echoes what arrived; the body is hashed chunk by chunk as it streams in.
async fn echo(service: &'static str, request: Request) -> Response {
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
    Json(json!({
        "service": service,
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_bytes": bytes,
        "body_sha256": hex(&hasher.finalize()),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct DownloadParams {
    bytes: u64,
}

/// Streams `bytes` bytes of [`pattern_byte`] with their SHA-256 in `x-body-sha256`.
async fn download(Query(p): Query<DownloadParams>) -> Response {
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

async fn status(Path(code): Path<u16>) -> Response {
    match StatusCode::from_u16(code) {
        Ok(status) => (status, Json(json!({"status": code}))).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "not a status code").into_response(),
    }
}

/// A response carrying hop-by-hop headers (and one named by `Connection`).
async fn hop() -> (HeaderMap, &'static str) {
    let mut headers = HeaderMap::new();
    headers.insert("connection", HeaderValue::from_static("x-hop-secret"));
    headers.insert("x-hop-secret", HeaderValue::from_static("1"));
    headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
    headers.insert("proxy-authenticate", HeaderValue::from_static("Basic"));
    headers.insert("x-end-to-end", HeaderValue::from_static("kept"));
    (headers, "hop")
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
