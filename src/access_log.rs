//! The structured access log: one JSON line per request.
//!
//! The line is written in two parts so the hot path never waits in Rust for the origin: Rust
//! renders the head (everything known before forwarding) and whoever finishes the request —
//! Rust for answers the gateway gives itself, `glue.js` for forwarded requests — appends the
//! tail with [`tail`]'s format: `,"status":…,"duration_ms":…[,"error":…[,"policy":…]]}`
//! (`policy` names the policy that refused the request).

use serde::Serialize;

/// What is known about a request before its response.
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
    /// Route table version that served the request, if any.
    pub route_version: Option<&'a str>,
    /// Who called, once an authentication policy established it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<&'a str>,
}

impl AccessLog<'_> {
    /// The line up to (not including) its closing brace.
    pub fn head(&self) -> String {
        let mut json = serde_json::to_string(self).expect("an access log line always serialises");
        json.pop(); // the closing brace; the tail closes the object
        json
    }

    /// The whole line, for a response the gateway produced itself.
    pub fn line(
        &self,
        status: u16,
        duration_ms: u64,
        error: Option<&str>,
        policy: Option<&str>,
    ) -> String {
        self.head() + &tail(status, duration_ms, error, policy)
    }
}

/// The end of a line: status, time to response headers, why (for gateway errors) and the
/// policy that refused the request. `glue.js` writes the same format for forwarded requests.
pub fn tail(status: u16, duration_ms: u64, error: Option<&str>, policy: Option<&str>) -> String {
    let text = |s: &str| serde_json::to_string(s).expect("a string always serialises");
    let mut out = format!(",\"status\":{status},\"duration_ms\":{duration_ms}");
    if let Some(e) = error {
        out.push_str(",\"error\":");
        out.push_str(&text(e));
    }
    if let Some(p) = policy {
        out.push_str(",\"policy\":");
        out.push_str(&text(p));
    }
    out.push('}');
    out
}

/// A value in an [`event`] line.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// A string (escaped).
    Str(&'a str),
    /// A number.
    Num(u64),
    /// Text that is already JSON.
    Raw(&'a str),
    /// `null`.
    Null,
}

/// A one-line JSON event other than a request (`route_table_loaded`, `health_probed`, …).
pub fn event(name: &str, fields: &[(&str, Field<'_>)]) -> String {
    let text = |s: &str| serde_json::to_string(s).expect("a string always serialises");
    let mut line = format!("{{\"event\":{}", text(name));
    for (key, value) in fields {
        line.push(',');
        line.push_str(&text(key));
        line.push(':');
        match value {
            Field::Str(s) => line.push_str(&text(s)),
            Field::Num(n) => line.push_str(&n.to_string()),
            Field::Raw(json) => line.push_str(json),
            Field::Null => line.push_str("null"),
        }
    }
    line.push('}');
    line
}
