//! The one mapping from gateway errors to HTTP statuses and `application/problem+json` bodies.
//!
//! Clients get a status, a title, a generic detail and ids to quote; the cause goes to the log.

use std::borrow::Cow;

use serde::Serialize;

/// `Retry-After` when every origin is unhealthy: half the probe interval (one minute).
pub const UPSTREAM_RETRY_AFTER_S: u32 = 30;

/// Media type of error bodies (RFC 9457).
pub const PROBLEM_JSON: &str = contracts::problem::MEDIA_TYPE;

/// Everything the gateway itself can answer with instead of an origin response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// No route matches the host and path.
    NoRoute,
    /// The path is routed, but not for this method.
    MethodNotAllowed,
    /// No valid route table has been loaded yet.
    NoRouteTable,
    /// The origin sent no response headers within the route's timeout.
    OriginTimeout,
    /// The origin could not be reached or failed before responding.
    OriginFailure,
    /// Every origin of the upstream is unhealthy and it rejects in that case.
    UpstreamUnavailable,
    /// An admin request without a valid bearer token.
    Unauthorized,
    /// A captured path parameter holds an encoded separator (`%2F`, `%5C`) or dot-segment.
    EncodedSeparator,
    /// A `GET` or `HEAD` request with a body, which the runtime cannot forward.
    BodyNotAllowed,
    /// A route's authentication policy found no valid credentials.
    Unauthenticated,
    /// A route's IP rules refuse the client.
    Forbidden,
    /// A CORS preflight from an origin, method or header the route does not allow.
    CorsRejected,
    /// A route's rate limit is reached.
    RateLimited,
    /// The request body is larger than the route accepts.
    PayloadTooLarge,
    /// Credentials cannot be checked now (no signing keys could be loaded).
    AuthUnavailable,
    /// The gateway itself failed.
    Internal,
}

impl GatewayError {
    /// The HTTP status for this error.
    pub fn status(self) -> u16 {
        match self {
            Self::NoRoute => 404,
            Self::MethodNotAllowed => 405,
            Self::NoRouteTable => 503,
            Self::OriginTimeout => 504,
            Self::OriginFailure => 502,
            Self::UpstreamUnavailable => 503,
            Self::EncodedSeparator | Self::BodyNotAllowed => 400,
            Self::Unauthorized | Self::Unauthenticated => 401,
            Self::Forbidden | Self::CorsRejected => 403,
            Self::RateLimited => 429,
            Self::PayloadTooLarge => 413,
            Self::AuthUnavailable => 503,
            Self::Internal => 500,
        }
    }

    /// A short, stable title.
    pub fn title(self) -> &'static str {
        match self {
            Self::NoRoute => "Not Found",
            Self::MethodNotAllowed => "Method Not Allowed",
            Self::NoRouteTable => "Route Table Unavailable",
            Self::OriginTimeout => "Gateway Timeout",
            Self::OriginFailure => "Bad Gateway",
            Self::UpstreamUnavailable => "Upstream Unavailable",
            Self::EncodedSeparator | Self::BodyNotAllowed => "Bad Request",
            Self::Unauthorized | Self::Unauthenticated => "Unauthorized",
            Self::Forbidden | Self::CorsRejected => "Forbidden",
            Self::RateLimited => "Too Many Requests",
            Self::PayloadTooLarge => "Content Too Large",
            Self::AuthUnavailable => "Authentication Unavailable",
            Self::Internal => "Internal Server Error",
        }
    }

    /// A generic explanation that reveals nothing internal.
    pub fn detail(self) -> &'static str {
        match self {
            Self::NoRoute => "No route matches this host and path.",
            Self::MethodNotAllowed => {
                "This path does not accept this method; see the Allow header."
            }
            Self::NoRouteTable => "The gateway has no route table loaded yet. Try again shortly.",
            Self::OriginTimeout => {
                "The upstream did not respond in time. The request was not retried."
            }
            Self::OriginFailure => {
                "The upstream could not be reached. The request was not retried."
            }
            Self::UpstreamUnavailable => {
                "Every origin of this upstream is unhealthy. The request was not sent; retry later."
            }
            Self::Unauthorized => "This endpoint needs a valid bearer token.",
            Self::EncodedSeparator => {
                "A path parameter contains an encoded slash, backslash or dot-segment, which this route does not accept."
            }
            Self::BodyNotAllowed => {
                "A GET or HEAD request cannot carry a body through this gateway. Send it without one, or use POST."
            }
            Self::Unauthenticated => "This route needs valid credentials.",
            Self::Forbidden => "This client may not use this route.",
            Self::CorsRejected => "This origin, method or header is not allowed cross-origin.",
            Self::RateLimited => "Too many requests. Retry after the time in Retry-After.",
            Self::PayloadTooLarge => "The request body is larger than this route accepts.",
            Self::AuthUnavailable => {
                "The gateway cannot verify credentials right now. Try again shortly."
            }
            Self::Internal => "The gateway failed to handle this request.",
        }
    }

    /// The `Retry-After` seconds to send, if any.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Self::NoRouteTable | Self::AuthUnavailable => Some(5),
            Self::UpstreamUnavailable => Some(UPSTREAM_RETRY_AFTER_S),
            _ => None,
        }
    }
}

/// A response the gateway gives itself, described for `glue.js` — the one place that builds
/// such responses: a problem+json body from `status`, `title`, `detail` and the ids, or no
/// body when `title` is `None` (a CORS preflight), with `headers` set on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Short title; `None` for a response without a body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<&'static str>,
    /// Generic detail (the admin API's refusals say which version and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Cow<'static, str>>,
    /// The request id (also in `X-Request-Id`).
    pub request_id: String,
    /// The route that matched, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_id: Option<String>,
    /// The route table version, if one is loaded (`X-Gateway-Route-Version`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Headers to set besides the standard ones, in order (`Allow`, `Retry-After`,
    /// `WWW-Authenticate`, rate limit headers, …).
    pub headers: Vec<(String, String)>,
    /// The route's response header operations (CORS, transforms), applied after `headers`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<crate::context::HeaderOp>,
}

impl Answer {
    /// The problem answer for `error`, with its `Retry-After` if it has one.
    pub fn problem(error: GatewayError, request_id: &str) -> Self {
        let mut headers = Vec::new();
        if let Some(seconds) = error.retry_after() {
            headers.push(("retry-after".to_owned(), seconds.to_string()));
        }
        Self {
            status: error.status(),
            title: Some(error.title()),
            detail: Some(Cow::Borrowed(error.detail())),
            request_id: request_id.to_owned(),
            route_id: None,
            version: None,
            headers,
            ops: Vec::new(),
        }
    }

    /// An answer without a body (a CORS preflight).
    pub fn empty(status: u16, request_id: &str) -> Self {
        Self {
            status,
            title: None,
            detail: None,
            request_id: request_id.to_owned(),
            route_id: None,
            version: None,
            headers: Vec::new(),
            ops: Vec::new(),
        }
    }

    /// Names the route and the table version.
    pub fn on(mut self, route_id: Option<&str>, version: Option<&str>) -> Self {
        self.route_id = route_id.map(str::to_owned);
        self.version = version.map(str::to_owned);
        self
    }

    /// Adds a header.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The body `glue.js` renders for this answer, as the contract shared with the services
    /// defines it ([`contracts::Problem`]); `None` for an answer without a body.
    pub fn body(&self) -> Option<contracts::Problem> {
        let title = self.title?;
        let mut problem = contracts::Problem::new(self.status, title);
        problem.detail = self.detail.as_deref().map(str::to_owned);
        problem.request_id = Some(self.request_id.clone());
        problem.route_id = self.route_id.clone();
        Some(problem)
    }

    /// The description as JSON, for `glue.js`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an answer always serialises")
    }
}
