//! Header policy: which headers a proxy must drop, and the values of the forwarding headers.
//!
//! Works on header names as the runtime yields them (lower case). The edge layer applies the
//! decisions to the JavaScript `Headers` objects.

/// Hop-by-hop headers (RFC 9110 §7.6.1) plus the `proxy-` prefix, never forwarded either way.
pub const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request id header, read from the client or generated, sent to the origin and the client.
pub const REQUEST_ID: &str = "x-request-id";
/// Response header naming the route table version that served the request.
pub const ROUTE_VERSION: &str = "x-gateway-route-version";
/// The longest client-supplied request id that is passed on as is.
pub const REQUEST_ID_MAX_LEN: usize = 128;

/// Whether a request asks for a WebSocket upgrade (`Upgrade: websocket`).
pub fn is_websocket(upgrade: Option<&str>) -> bool {
    upgrade.is_some_and(|u| {
        u.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("websocket"))
    })
}

/// Names among `names` that must not be forwarded.
///
/// Drops the fixed hop-by-hop set, every `proxy-*` header and every header the `Connection`
/// header lists. For a WebSocket upgrade, `Upgrade` and `Connection` are kept, since the
/// runtime needs them to open the socket to the origin.
pub fn hop_by_hop<'a>(
    names: impl IntoIterator<Item = &'a str>,
    connection: Option<&str>,
    websocket: bool,
) -> Vec<&'a str> {
    let listed: Vec<&str> = connection
        .map(|c| {
            c.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    names
        .into_iter()
        .filter(|name| {
            if websocket
                && (name.eq_ignore_ascii_case("upgrade") || name.eq_ignore_ascii_case("connection"))
            {
                return false;
            }
            HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
                || name.len() > 6 && name[..6].eq_ignore_ascii_case("proxy-")
                || listed.iter().any(|l| name.eq_ignore_ascii_case(l))
        })
        .collect()
}

/// The `X-Forwarded-For` value: the client's address appended to what earlier proxies said.
pub fn forwarded_for(existing: Option<&str>, client_ip: Option<&str>) -> Option<String> {
    match (existing.map(str::trim).filter(|e| !e.is_empty()), client_ip) {
        (Some(chain), Some(ip)) => Some(format!("{chain}, {ip}")),
        (None, Some(ip)) => Some(ip.to_owned()),
        (Some(chain), None) => Some(chain.to_owned()),
        (None, None) => None,
    }
}

/// Whether a client-supplied request id is safe to pass on and log as is.
pub fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= REQUEST_ID_MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}
