//! Header policy: hop-by-hop removal, forwarding headers, request ids.

use gateway::headers::{forwarded_for, hop_by_hop, is_valid_request_id, is_websocket};
use gateway::request_id::RequestIds;

#[test]
fn hop_by_hop_headers_are_dropped() {
    let names = [
        "accept",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "x-secret-hop",
        "x-other",
        "traceparent",
        "proxy", // not a proxy-* header
    ];
    let cases: &[(Option<&str>, bool, &[&str])] = &[
        (
            None,
            false,
            &[
                "connection",
                "keep-alive",
                "te",
                "trailer",
                "transfer-encoding",
                "upgrade",
                "proxy-authorization",
                "proxy-connection",
            ],
        ),
        (
            Some("x-secret-hop, X-Other"),
            false,
            &[
                "connection",
                "keep-alive",
                "te",
                "trailer",
                "transfer-encoding",
                "upgrade",
                "proxy-authorization",
                "proxy-connection",
                "x-secret-hop",
                "x-other",
            ],
        ),
        (
            Some("upgrade"),
            true,
            &[
                "keep-alive",
                "te",
                "trailer",
                "transfer-encoding",
                "proxy-authorization",
                "proxy-connection",
            ],
        ),
    ];
    for (connection, websocket, want) in cases {
        assert_eq!(
            hop_by_hop(names, *connection, *websocket),
            *want,
            "{connection:?} ws={websocket}"
        );
    }
}

#[test]
fn websocket_upgrades_are_recognised() {
    for (upgrade, want) in [
        (Some("websocket"), true),
        (Some("WebSocket"), true),
        (Some("h2c, websocket"), true),
        (Some("h2c"), false),
        (None, false),
    ] {
        assert_eq!(is_websocket(upgrade), want, "{upgrade:?}");
    }
}

#[test]
fn forwarded_for_appends_the_client() {
    for (existing, client, want) in [
        (None, Some("203.0.113.7"), Some("203.0.113.7")),
        (
            Some("198.51.100.1"),
            Some("203.0.113.7"),
            Some("198.51.100.1, 203.0.113.7"),
        ),
        (Some("  "), Some("203.0.113.7"), Some("203.0.113.7")),
        (Some("198.51.100.1"), None, Some("198.51.100.1")),
        (None, None, None),
    ] {
        assert_eq!(
            forwarded_for(existing, client).as_deref(),
            want,
            "{existing:?} {client:?}"
        );
    }
}

#[test]
fn client_request_ids_are_checked() {
    let long = "a".repeat(129);
    for (id, ok) in [
        ("6a62d773-e378-4207-93bf-4d412a32d6e0", true),
        ("req_01HX:abc/def+g=", true),
        ("", false),
        ("has space", false),
        ("quote\"", false),
        ("new\nline", false),
        (long.as_str(), false),
        (&long[..128], true),
    ] {
        assert_eq!(is_valid_request_id(id), ok, "{id:?}");
    }
}

#[test]
fn generated_request_ids_are_uuid_v4_and_distinct() {
    let mut ids = RequestIds::new(7);
    let generated: Vec<String> = (0..1000).map(|_| ids.next_id()).collect();
    for id in &generated {
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(&id[14..15], "4", "version nibble in {id}");
        assert!("89ab".contains(&id[19..20]), "variant in {id}");
        assert!(is_valid_request_id(id));
    }
    let mut unique = generated.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), generated.len());
    assert!((0..1000).all(|_| ids.below(3) < 3));
}
