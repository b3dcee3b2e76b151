//! Helpers shared by the policy tests: specs from JSON, requests, exchanges, test JWTs and a
//! tiny `block_on` for the policy engine.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use gateway::context::{Effects, RequestContext};
use gateway::policy::{Exchange, Policy, PolicySpec, Verdict};

/// "Now" for every test request: 2026-01-01T00:00:00Z, in ms.
pub const NOW_S: u64 = 1_767_225_600;
/// [`NOW_S`] in ms, as a request's `started_ms`.
pub const NOW_MS: f64 = NOW_S as f64 * 1000.0;

/// Request headers as a test writes them.
pub type Headers<'a> = &'a [(&'static str, &'static str)];

/// A policy spec from the document's JSON (`{"<type>": {…}}`).
pub fn spec(json: &str) -> PolicySpec {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("spec parses: {e}\n{json}"))
}

/// Validates a spec written as JSON.
pub fn validate(json: &str) -> Result<Policy, Vec<String>> {
    spec(json).validate()
}

/// Validates a spec that must be valid.
pub fn policy(json: &str) -> Policy {
    validate(json).unwrap_or_else(|e| panic!("valid policy: {e:?}\n{json}"))
}

/// The problems of a spec that must be invalid.
pub fn problems(json: &str) -> Vec<String> {
    match validate(json) {
        Ok(p) => panic!("expected problems, got {p:?}\n{json}"),
        Err(e) => e,
    }
}

/// A request to `https://api.example.com{path}` at [`NOW_MS`].
pub fn request_to(
    method: &str,
    path: &str,
    headers: &[(&'static str, &'static str)],
) -> RequestContext {
    RequestContext::new(
        format!("https://api.example.com{path}"),
        method.to_owned(),
        "req-1".to_owned(),
        NOW_MS,
        Box::new(headers.to_vec()),
    )
    .expect("absolute URL")
}

/// A request to `https://api.example.com/a` at [`NOW_MS`].
pub fn request(method: &str, headers: &[(&'static str, &'static str)]) -> RequestContext {
    request_to(method, "/a", headers)
}

/// Runs `policy.check` on `request` (route `r`, policy named `p`, no path parameters).
pub fn check(policy: &Policy, request: &RequestContext, effects: &mut Effects) -> Verdict {
    let params = matchit::Params::new();
    let mut x = Exchange {
        request,
        route_id: "r",
        params: &params,
        effects,
        policy: "p",
    };
    policy.check(&mut x)
}

/// Unpadded base64url (RFC 4648 §5).
pub fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A compact JWS with this header and payload JSON and a fake signature.
pub fn jws(header: &str, payload: &str) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes()),
        b64url(b"not-a-real-signature")
    )
}

/// An RS256 token with `kid: k1` and this payload.
pub fn rs256(payload: &str) -> String {
    jws(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#, payload)
}

/// Polls a future to completion; the resolvers in the tests never wait.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
