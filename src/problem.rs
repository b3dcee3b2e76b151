//! The one mapping from gateway errors to HTTP statuses and `application/problem+json` bodies.
//!
//! Clients get a status, a title, a generic detail and ids to quote; the cause goes to the log.

use serde::Serialize;

/// `Retry-After` when every origin is unhealthy: half the probe interval (one minute).
pub const UPSTREAM_RETRY_AFTER_S: u32 = 30;

/// Media type of error bodies (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

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
            Self::Unauthorized => 401,
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
            Self::Unauthorized => "Unauthorized",
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
            Self::Internal => "The gateway failed to handle this request.",
        }
    }

    /// The `Retry-After` seconds to send, if any.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Self::NoRouteTable => Some(5),
            Self::UpstreamUnavailable => Some(UPSTREAM_RETRY_AFTER_S),
            _ => None,
        }
    }
}

/// An `application/problem+json` body.
#[derive(Debug, Serialize)]
pub struct Problem<'a> {
    /// Always `about:blank`: the status and title say it all.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// HTTP status.
    pub status: u16,
    /// Short title.
    pub title: &'static str,
    /// Generic detail.
    pub detail: &'static str,
    /// The request id (also in `X-Request-Id`).
    pub request_id: &'a str,
    /// The route that matched, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_id: Option<&'a str>,
}

impl<'a> Problem<'a> {
    /// The body for `error` on request `request_id`, matched to `route_id` if any.
    pub fn new(error: GatewayError, request_id: &'a str, route_id: Option<&'a str>) -> Self {
        Self {
            kind: "about:blank",
            status: error.status(),
            title: error.title(),
            detail: error.detail(),
            request_id,
            route_id,
        }
    }

    /// The body as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a problem always serialises")
    }
}
