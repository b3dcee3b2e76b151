//! The admin API's routing and authentication: everything under `/__gateway/` is the
//! gateway's own, never forwarded, and needs `Authorization: Bearer <ADMIN_TOKEN>`.

use crate::table::RESERVED_PREFIX;

/// An admin endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /__gateway/health`: latest snapshot per origin and the overall status.
    Health,
    /// `GET /__gateway/routes`: the active version and its routes.
    Routes,
    /// `GET /__gateway/versions`: publish and rollback history.
    Versions,
}

/// Where an admin request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRoute {
    /// A known endpoint, with an allowed method.
    Endpoint(Endpoint),
    /// Under the prefix, but no such endpoint.
    NotFound,
    /// A known endpoint with another method than GET/HEAD.
    MethodNotAllowed,
}

/// `Some` for any path under the reserved prefix; `None` sends the request to routing.
pub fn route(method: &str, path: &str) -> Option<AdminRoute> {
    let rest = path.strip_prefix(RESERVED_PREFIX)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let endpoint = match rest {
        "/health" => Endpoint::Health,
        "/routes" => Endpoint::Routes,
        "/versions" => Endpoint::Versions,
        _ => return Some(AdminRoute::NotFound),
    };
    Some(match method {
        "GET" | "HEAD" => AdminRoute::Endpoint(endpoint),
        _ => AdminRoute::MethodNotAllowed,
    })
}

/// Whether `authorization` carries the bearer `token`. A missing or empty token never
/// authorizes. The comparison takes the same time wherever the first difference is.
pub fn authorized(authorization: Option<&str>, token: Option<&str>) -> bool {
    let (Some(header), Some(token)) = (authorization, token.filter(|t| !t.is_empty())) else {
        return false;
    };
    let Some((scheme, presented)) = header.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && constant_time_eq(presented.trim().as_bytes(), token.as_bytes())
}

/// Compares two byte strings without an early exit on the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0
}
