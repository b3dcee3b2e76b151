//! The structured access log: one JSON line per request.

use serde::Serialize;

/// One request, as logged when its response headers are ready.
#[derive(Debug, Serialize)]
pub struct AccessLog<'a> {
    /// Always `"request"`, to tell these lines from error lines.
    pub event: &'static str,
    /// The request id (client's or generated).
    pub request_id: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Request host.
    pub host: &'a str,
    /// Raw request path (no query).
    pub path: &'a str,
    /// The matched route, if any.
    pub route_id: Option<&'a str>,
    /// The route's upstream, if any.
    pub upstream: Option<&'a str>,
    /// The origin the request went to, if it was forwarded.
    pub origin: Option<&'a str>,
    /// Status sent to the client.
    pub status: u16,
    /// Time to response headers, in milliseconds.
    pub duration_ms: u64,
    /// Route table version that served the request, if any.
    pub route_version: Option<&'a str>,
    /// Why the gateway answered itself, for 5xx (never sent to clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AccessLog<'_> {
    /// The log line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an access log line always serialises")
    }
}
