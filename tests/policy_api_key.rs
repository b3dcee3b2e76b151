//! The `api_key` policy's pure parts: validation, the key hash KV is keyed by, where the key
//! is read from (header or query) and when it is refused unread, and the bounded `KeyCache`.

mod policy_support;

use gateway::context::Effects;
use gateway::policy::api_key::{key_hash, KeyCache, KeyLookup, KeyRecord, CACHE_CAPACITY};
use gateway::policy::{Lookup, Policy, Verdict};
use gateway::problem::GatewayError;
use policy_support::{check, policy, problems, request_to};

#[test]
fn key_hash_is_lowercase_hex_sha256() {
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(key_hash(""), empty);
    assert_eq!(key_hash("abc"), abc);
    let lookup = KeyLookup {
        hash: key_hash("abc"),
    };
    assert_eq!(lookup.kv_key(), format!("apikeys/{abc}"));
}

#[test]
fn api_key_validation() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{"header": "x-key", "query": "key"}"#,
            &["set `header` or `query`, not both"],
        ),
        (r#"{"query": ""}"#, &["query must not be empty"]),
        (
            r#"{"header": "X-Api-Key"}"#,
            &["header: `X-Api-Key` is not a lower-case header name"],
        ),
        (
            r#"{"header": "host"}"#,
            &["header: `host` is managed by the gateway"],
        ),
        (
            r#"{"header": "connection"}"#,
            &["header: `connection` is managed by the gateway"],
        ),
        (
            r#"{"header": "proxy-key"}"#,
            &["header: `proxy-key` is managed by the gateway"],
        ),
        (
            r#"{"header": "", "consumer_header": "x-request-id"}"#,
            &[
                "header: `` is not a lower-case header name",
                "consumer_header: `x-request-id` is managed by the gateway",
            ],
        ),
    ];
    for (json, want) in cases {
        assert_eq!(
            problems(&format!(r#"{{"api_key": {json}}}"#)),
            *want,
            "{json}"
        );
    }
}

#[test]
fn api_keys_are_read_then_looked_up_by_hash() {
    let header = policy(r#"{"api_key": {}}"#);
    let query = policy(r#"{"api_key": {"query": "api_key"}}"#);
    let long: &'static str = "k".repeat(257).leak();
    let header_challenge = "ApiKey realm=\"edge-gateway\", header=\"x-api-key\"";
    let query_challenge = "ApiKey realm=\"edge-gateway\", query=\"api_key\"";
    type Case<'a> = (
        &'a str,
        &'a Policy,
        &'a str,
        &'a [(&'static str, &'static str)],
        Result<&'a str, (&'a str, &'a str)>,
    );
    let cases: &[Case] = &[
        (
            "header",
            &header,
            "/a",
            &[("x-api-key", "gk_live_1")],
            Ok("gk_live_1"),
        ),
        (
            "header, case-insensitive name, trimmed",
            &header,
            "/a",
            &[("X-API-KEY", "  gk_live_1 ")],
            Ok("gk_live_1"),
        ),
        ("query", &query, "/a?x=1&api_key=gk_q", &[], Ok("gk_q")),
        (
            "missing",
            &header,
            "/a",
            &[],
            Err(("no API key", header_challenge)),
        ),
        (
            "blank",
            &header,
            "/a",
            &[("x-api-key", "   ")],
            Err(("no API key", header_challenge)),
        ),
        (
            "in the query, policy reads the header",
            &header,
            "/a?x-api-key=k",
            &[],
            Err(("no API key", header_challenge)),
        ),
        (
            "missing query",
            &query,
            "/a?key=gk_q",
            &[],
            Err(("no API key", query_challenge)),
        ),
        (
            "space inside",
            &header,
            "/a",
            &[("x-api-key", "gk live")],
            Err(("malformed API key", header_challenge)),
        ),
        (
            "sent twice",
            &header,
            "/a",
            &[("x-api-key", "a"), ("x-api-key", "b")],
            Err(("malformed API key", header_challenge)),
        ),
        (
            "non-ASCII",
            &header,
            "/a",
            &[("x-api-key", "clé")],
            Err(("malformed API key", header_challenge)),
        ),
        (
            "too long",
            &header,
            "/a",
            &[("x-api-key", long)],
            Err(("malformed API key", header_challenge)),
        ),
        (
            "longest",
            &header,
            "/a",
            &[("x-api-key", &long[1..])],
            Ok(&long[1..]),
        ),
    ];
    for (name, p, path, headers, want) in cases {
        let mut effects = Effects::default();
        let got = match check(p, &request_to("GET", path, headers), &mut effects) {
            Verdict::Lookup(Lookup::ApiKey(lookup)) => Ok(lookup.hash),
            Verdict::Reject(r) => {
                assert_eq!(r.error, GatewayError::Unauthenticated, "case: {name}");
                assert_eq!(r.headers.len(), 1, "case: {name}");
                assert_eq!(r.headers[0].0, "www-authenticate", "case: {name}");
                Err((r.reason, r.headers[0].1.clone()))
            }
            other => panic!("case {name}: {other:?}"),
        };
        let want = want
            .map(key_hash)
            .map_err(|(r, c)| (r.to_owned(), c.to_owned()));
        assert_eq!(got, want, "case: {name}");
        assert_eq!(effects, Effects::default(), "case: {name}");
    }
}

fn record(id: &str) -> KeyRecord {
    KeyRecord {
        id: id.into(),
        consumer: "acme".into(),
        created_at: 1,
        expires_at: None,
    }
}

#[test]
fn key_cache_remembers_answers_until_their_ttl() {
    let mut cache = KeyCache::default();
    assert!(cache.is_empty());
    assert_eq!(cache.get("h1", 0.0), None);
    cache.insert("h1".into(), Some(record("k_1")), 1_000.0, 60_000.0);
    cache.insert("h2".into(), None, 1_000.0, 5_000.0);
    assert_eq!(cache.get("h1", 1_000.0), Some(Some(record("k_1"))));
    assert_eq!(cache.get("h1", 60_999.0), Some(Some(record("k_1"))));
    assert_eq!(cache.get("h1", 61_000.0), None);
    assert_eq!(
        cache.get("h2", 5_999.0),
        Some(None),
        "a negative answer is cached too"
    );
    assert_eq!(cache.get("h2", 6_000.0), None);
    // Inserting again refreshes the entry.
    cache.insert("h2".into(), Some(record("k_2")), 7_000.0, 1_000.0);
    assert_eq!(cache.get("h2", 7_500.0), Some(Some(record("k_2"))));
    assert_eq!(cache.len(), 2);
}

#[test]
fn key_cache_stays_bounded() {
    // Full of live entries: the cache starts over.
    let mut cache = KeyCache::default();
    for i in 0..CACHE_CAPACITY {
        cache.insert(format!("h{i}"), None, 0.0, 60_000.0);
    }
    assert_eq!(cache.len(), CACHE_CAPACITY);
    cache.insert("h0".into(), None, 1.0, 60_000.0);
    assert_eq!(
        cache.len(),
        CACHE_CAPACITY,
        "re-inserting a cached key evicts nothing"
    );
    cache.insert("new".into(), None, 1.0, 60_000.0);
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.get("new", 2.0), Some(None));
    // Full with some expired: only those go.
    let mut cache = KeyCache::default();
    for i in 0..CACHE_CAPACITY {
        let ttl = if i % 2 == 0 { 10.0 } else { 60_000.0 };
        cache.insert(format!("h{i}"), None, 0.0, ttl);
    }
    cache.insert("new".into(), None, 100.0, 60_000.0);
    assert_eq!(cache.len(), CACHE_CAPACITY / 2 + 1);
    assert_eq!(cache.get("h1", 100.0), Some(None));
}
