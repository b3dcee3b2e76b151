//! Header policy: the hop-by-hop headers a proxy must drop, the gateway's own header names,
//! and which client request ids are passed on.
//!
//! The policy is applied to the JavaScript `Headers` objects by `src/edge/glue.js` (one call
//! per request, for speed): it receives [`HOP_BY_HOP`] from here once per isolate, drops those,
//! every `proxy-*` header and whatever `Connection` names (keeping `Upgrade`/`Connection` for a
//! WebSocket), and appends the client to `X-Forwarded-For`. `src/edge/tests.rs` checks that
//! application on real `Headers` objects.

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus the `proxy-` prefix, never forwarded either way.
pub const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request id header, read from the client or generated, sent to the origin and the client
/// (the name the services share, [`contracts::headers::REQUEST_ID`]).
pub const REQUEST_ID: &str = contracts::headers::REQUEST_ID;
/// Response header naming the route table version that served the request.
pub const ROUTE_VERSION: &str = contracts::headers::ROUTE_VERSION;
/// The longest client-supplied request id that is passed on as is.
pub const REQUEST_ID_MAX_LEN: usize = 128;

/// Whether a client-supplied request id is safe to pass on and log as is.
pub fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= REQUEST_ID_MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}
