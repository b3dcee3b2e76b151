//! Forwarding decisions: split the request URL, build the origin URL, classify the outcome.
//!
//! No I/O here: the edge layer sends the request and reports whether the timer fired.

use crate::problem::GatewayError;

/// The parts of an absolute request URL the gateway needs, borrowed from the URL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// Host, with the port if the URL has one.
    pub host: &'a str,
    /// The raw path, still percent-encoded; at least `/`.
    pub path: &'a str,
    /// The raw query after `?`, byte for byte; `None` when the URL has no `?`.
    pub query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// Splits an absolute URL as the runtime gives it (`https://host:port/path?query`).
    /// Returns `None` for anything else. The fragment, if any, is dropped.
    pub fn split(url: &'a str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let url = rest.split_once('#').map_or(rest, |(before, _)| before);
        let path_at = url.find(['/', '?']).unwrap_or(url.len());
        let (host, rest) = url.split_at(path_at);
        if host.is_empty() {
            return None;
        }
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        Some(Self {
            scheme,
            host,
            path,
            query,
        })
    }
}

/// The URL sent to the origin: its base, the (rewritten) path and the original query, byte
/// for byte. A rewrite template may carry a query of its own (`/orders?user_id={id}`); the
/// client's query is then appended after `&`.
pub fn origin_url(base: &str, path: &str, query: Option<&str>) -> String {
    let mut url = String::with_capacity(base.len() + path.len() + query.map_or(0, |q| q.len() + 1));
    url.push_str(base);
    url.push_str(path);
    match query {
        Some("") if path.contains('?') => {}
        Some(q) => {
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str(q);
        }
        None => {}
    }
    url
}

/// How an attempt to reach the origin ended, short of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The route's timer fired before response headers arrived; the request was aborted.
    TimedOut,
    /// The fetch failed on its own (refused, reset, DNS, TLS).
    Failed,
}

impl From<Failure> for GatewayError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::TimedOut => GatewayError::OriginTimeout,
            Failure::Failed => GatewayError::OriginFailure,
        }
    }
}

/// Everything `glue.js` needs to forward one request, decided in Rust and sent as one JSON
/// object: where to, how long to wait, the header operations on both sides, the edge checks
/// to run first, and the access log line's head.
#[derive(Debug, serde::Serialize)]
pub struct Plan<'a> {
    /// The origin URL (for a service binding, a URL naming the upstream).
    pub url: &'a str,
    /// A service binding to send it through instead of `fetch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<&'a str>,
    /// The response-header timeout, in ms.
    pub timeout_ms: u64,
    /// The request id.
    pub request_id: &'a str,
    /// The matched route.
    pub route_id: &'a str,
    /// The route table version.
    pub version: &'a str,
    /// The chosen upstream (for traffic statistics).
    pub upstream: &'a str,
    /// `X-Forwarded-Proto`.
    pub proto: &'a str,
    /// `X-Forwarded-Host`.
    pub host: &'a str,
    /// Operations on the origin request, after the header policy.
    pub request_headers: &'a [crate::context::HeaderOp],
    /// Operations on the response to the client (and on gateway answers).
    pub response_headers: &'a [crate::context::HeaderOp],
    /// Rate limits to check at the edge before forwarding.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub gates: &'a [crate::context::Gate],
    /// How long one gate may take before the request goes on unchecked, in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_timeout_ms: Option<u64>,
    /// Largest request body of undeclared length, counted while streaming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body: Option<u64>,
    /// The policy that set `max_body`, for the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_policy: Option<&'a str>,
    /// The access log line up to its status.
    pub log_head: &'a str,
    /// When the request arrived (ms since the epoch).
    pub started: f64,
}

impl Plan<'_> {
    /// The plan as JSON, for `glue.js`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a plan always serialises")
    }
}
