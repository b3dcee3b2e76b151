//! The policy engine (`policy::run`) driven with a synchronous `Resolver`: preflights and
//! rejections stop the chain, lookups are answered and resolved (API keys found, missing,
//! expired, unavailable; JWT signatures valid, bad, of unknown keys, unavailable), rate limits
//! hand over a gate keyed by the consumer, and header templates see that consumer.

mod common;
mod policy_support;

use std::cell::RefCell;

use gateway::context::{Effects, HeaderOp};
use gateway::policy::api_key::{key_hash, KeyRecord};
use gateway::policy::jwt::KeyCheck;
use gateway::policy::{run, Exchange, Found, Lookup, Resolver, Stop};
use gateway::problem::{Answer, GatewayError};
use gateway::table::{self, RouteTable};
use policy_support::{block_on, request_to, rs256, NOW_S};

const TABLE: &str = r#"
[policies.web]
type = "cors"
allow_origins = ["https://app.example.com"]

[policies.no-test-nets]
type = "ip_rules"
deny = ["192.0.2.0/24"]

[policies.key]
type = "api_key"

[policies.jwt]
type = "jwt"
jwks_url = "https://idp.example.com/jwks.json"
issuer = "https://idp.example.com"
claims = { email = "x-email" }

[policies.per-consumer]
type = "rate_limit"
key = "consumer"
limit = 5
period_s = 10
store = "durable_object"
binding = "LIMITER"

[policies.who]
type = "headers"
request = { set = { "x-who" = "{consumer} on {route_id}" } }

[[routes]]
id = "keyed"
path = "/keyed"
upstream = "users"
policies = ["who", "per-consumer", "key", "no-test-nets", "web"]

[[routes]]
id = "token"
path = "/token"
upstream = "users"
policies = ["who", "jwt"]
"#;

/// The edge, answering from fixed data and remembering what it was asked.
struct Edge {
    keys: Vec<(String, KeyRecord)>,
    signature: KeyCheck,
    down: bool,
    asked: RefCell<Vec<String>>,
}

impl Edge {
    fn new() -> Self {
        let record = |id: &str, consumer: &str, expires_at| KeyRecord {
            id: id.into(),
            consumer: consumer.into(),
            created_at: NOW_S - 100,
            expires_at,
        };
        Edge {
            keys: vec![
                (key_hash("gk_good"), record("k_good", "acme", None)),
                (
                    key_hash("gk_later"),
                    record("k_later", "later", Some(NOW_S + 1)),
                ),
                (key_hash("gk_old"), record("k_old", "old", Some(NOW_S))),
            ],
            signature: KeyCheck::Valid,
            down: false,
            asked: RefCell::default(),
        }
    }
}

impl Resolver for Edge {
    async fn resolve(&self, policy: &str, lookup: &Lookup) -> Found {
        let what = match lookup {
            Lookup::ApiKey(k) => k.kv_key(),
            Lookup::Jwt(j) => format!("{} {:?}", j.jwks_url, j.kid),
        };
        self.asked.borrow_mut().push(format!("{policy}: {what}"));
        if self.down {
            return Found::Unavailable("timed out".into());
        }
        match lookup {
            Lookup::ApiKey(k) => Found::ApiKey(
                self.keys
                    .iter()
                    .find(|(h, _)| *h == k.hash)
                    .map(|(_, r)| r.clone()),
            ),
            Lookup::Jwt(_) => Found::Jwt(self.signature.clone()),
        }
    }
}

/// How a run ended, owned.
#[derive(Debug, PartialEq)]
enum End {
    Forward,
    Preflight(Vec<(String, String)>),
    Reject(String, GatewayError, String, Vec<(String, String)>),
}

fn go(
    table: &RouteTable,
    edge: &Edge,
    path: &str,
    headers: &[(&'static str, &'static str)],
) -> (End, Effects) {
    let method = if headers
        .iter()
        .any(|(n, _)| *n == "access-control-request-method")
    {
        "OPTIONS"
    } else {
        "GET"
    };
    let request = request_to(method, path, headers);
    let table::Lookup::Found(m) = table.lookup("gw.dev", method, path) else {
        panic!("{path} is routed")
    };
    let mut effects = Effects::default();
    let mut x = Exchange {
        request: &request,
        route_id: &m.route.id,
        params: &m.params,
        effects: &mut effects,
        policy: "",
    };
    let end = match block_on(run(table.policies(), &m.route.policies, &mut x, edge)) {
        Ok(()) => End::Forward,
        Err(Stop::Preflight(h)) => End::Preflight(h),
        Err(Stop::Reject {
            policy,
            rejection: r,
        }) => End::Reject(policy.into(), r.error, r.reason, r.headers),
    };
    (end, effects)
}

fn set(n: &str, v: &str) -> HeaderOp {
    HeaderOp::Set(n.into(), v.into())
}

const KEY_401: &str = "ApiKey realm=\"edge-gateway\", header=\"x-api-key\"";

fn reject(policy: &str, error: GatewayError, reason: &str, challenge: Option<&str>) -> End {
    let headers = challenge.map(|c| ("www-authenticate".to_owned(), c.to_owned()));
    End::Reject(
        policy.into(),
        error,
        reason.into(),
        headers.into_iter().collect(),
    )
}

#[test]
fn a_preflight_stops_the_chain() {
    let (table, edge) = (common::table(TABLE), Edge::new());
    let headers = [
        ("origin", "https://app.example.com"),
        ("access-control-request-method", "POST"),
    ];
    let (end, effects) = go(&table, &edge, "/keyed", &headers);
    let End::Preflight(h) = end else {
        panic!("{end:?}")
    };
    assert_eq!(
        h[0],
        (
            "access-control-allow-origin".into(),
            "https://app.example.com".into()
        )
    );
    assert!(edge.asked.borrow().is_empty(), "no key was asked for");
    assert_eq!(effects, Effects::default(), "nothing ran after CORS");
    let refused = [
        ("origin", "https://evil.io"),
        ("access-control-request-method", "POST"),
    ];
    let (end, _) = go(&table, &edge, "/keyed", &refused);
    assert_eq!(
        end,
        reject(
            "web",
            GatewayError::CorsRejected,
            "origin https://evil.io is not allowed",
            None
        )
    );
}

#[test]
fn a_rejection_names_its_policy_and_ends_the_run() {
    let (table, edge) = (common::table(TABLE), Edge::new());
    let headers = [("cf-connecting-ip", "192.0.2.7"), ("x-api-key", "gk_good")];
    let (end, effects) = go(&table, &edge, "/keyed", &headers);
    let reason = "client 192.0.2.7 is in denied block 192.0.2.0/24";
    assert_eq!(
        end,
        reject("no-test-nets", GatewayError::Forbidden, reason, None)
    );
    assert!(edge.asked.borrow().is_empty());
    assert_eq!((effects.consumer, effects.gates.len()), (None, 0));
    assert_eq!(
        effects.response_ops,
        [HeaderOp::Append("vary".into(), "Origin".into())]
    );
}

#[test]
fn api_keys_are_looked_up() {
    let (table, edge) = (common::table(TABLE), Edge::new());
    let cases: &[(&str, End)] = &[
        ("gk_good", End::Forward),
        ("gk_later", End::Forward),
        (
            "gk_old",
            reject(
                "key",
                GatewayError::Unauthenticated,
                "API key k_old has expired",
                Some(KEY_401),
            ),
        ),
        (
            "gk_nope",
            reject(
                "key",
                GatewayError::Unauthenticated,
                "unknown or revoked API key",
                Some(KEY_401),
            ),
        ),
    ];
    for (key, want) in cases {
        let headers: &[(&str, &str)] = &[("x-api-key", key)];
        let (end, effects) = go(&table, &edge, "/keyed", headers);
        assert_eq!(&end, want, "{key}");
        let asked = edge.asked.borrow_mut().pop();
        assert_eq!(asked, Some(format!("key: apikeys/{}", key_hash(key))));
        if *want == End::Forward {
            let consumer = effects.consumer.clone().unwrap();
            let who = format!("{consumer} on keyed");
            let want = [
                set("x-gateway-consumer", &consumer),
                HeaderOp::Remove("x-api-key".into()),
                set("x-who", &who),
            ];
            assert_eq!(effects.request_ops, want, "{key}");
        } else {
            assert_eq!(
                (&effects.consumer, effects.request_ops.len()),
                (&None, 0),
                "{key}"
            );
        }
    }
    let down = Edge {
        down: true,
        ..Edge::new()
    };
    let (end, _) = go(&table, &down, "/keyed", &[("x-api-key", "gk_good")]);
    assert_eq!(
        end,
        reject(
            "key",
            GatewayError::AuthUnavailable,
            "API keys unavailable: timed out",
            None
        )
    );
}

#[test]
fn jwt_signature_checks_decide() {
    let table = common::table(TABLE);
    let claims = format!(
        r#"{{"iss":"https://idp.example.com","exp":{},"sub":"alice","email":"a@x.io"}}"#,
        NOW_S + 60
    );
    let bearer: &'static str = format!("Bearer {}", rs256(&claims)).leak();
    let challenge = Some("Bearer realm=\"edge-gateway\"");
    let unknown = "no RS256 key with kid k1 in https://idp.example.com/jwks.json";
    let cases: Vec<(Edge, End)> = vec![
        (Edge::new(), End::Forward),
        (
            Edge {
                signature: KeyCheck::BadSignature,
                ..Edge::new()
            },
            reject(
                "jwt",
                GatewayError::Unauthenticated,
                "signature does not verify",
                challenge,
            ),
        ),
        (
            Edge {
                signature: KeyCheck::UnknownKey,
                ..Edge::new()
            },
            reject("jwt", GatewayError::Unauthenticated, unknown, challenge),
        ),
        (
            Edge {
                signature: KeyCheck::Unavailable("jwks 502".into()),
                ..Edge::new()
            },
            reject(
                "jwt",
                GatewayError::AuthUnavailable,
                "signing keys unavailable: jwks 502",
                None,
            ),
        ),
        (
            Edge {
                down: true,
                ..Edge::new()
            },
            reject(
                "jwt",
                GatewayError::AuthUnavailable,
                "signing keys unavailable: timed out",
                None,
            ),
        ),
    ];
    for (edge, want) in cases {
        let (end, effects) = go(&table, &edge, "/token", &[("authorization", bearer)]);
        assert_eq!(end, want, "{:?}", edge.signature);
        let asked = edge.asked.borrow().clone();
        assert_eq!(
            asked,
            ["jwt: https://idp.example.com/jwks.json Some(\"k1\")"]
        );
        if want == End::Forward {
            assert_eq!(effects.consumer.as_deref(), Some("alice"));
            let want = [
                set("x-gateway-consumer", "alice"),
                set("x-email", "a@x.io"),
                set("x-who", "alice on token"),
            ];
            assert_eq!(effects.request_ops, want);
        } else {
            assert_eq!(effects, Effects::default(), "{:?}", edge.signature);
        }
    }
    // A token whose text fails is refused before the edge is asked.
    let edge = Edge::new();
    let (end, _) = go(&table, &edge, "/token", &[("authorization", "Bearer a.b")]);
    assert_eq!(
        end,
        reject(
            "jwt",
            GatewayError::Unauthenticated,
            "token is not three dot-separated parts",
            challenge
        )
    );
    assert!(edge.asked.borrow().is_empty());
}

#[test]
fn rate_limits_count_the_consumer_that_authentication_found() {
    let (table, edge) = (common::table(TABLE), Edge::new());
    let headers = [
        ("x-api-key", "gk_good"),
        ("origin", "https://app.example.com"),
        ("cf-connecting-ip", "198.51.100.1"),
    ];
    let (end, effects) = go(&table, &edge, "/keyed", &headers);
    assert_eq!(end, End::Forward);
    let [gate] = effects.gates.as_slice() else {
        panic!("{:?}", effects.gates)
    };
    assert_eq!(
        (gate.policy.as_str(), gate.store, gate.binding.as_str()),
        ("per-consumer", "object", "LIMITER")
    );
    assert_eq!(
        (gate.key.as_str(), gate.limit, gate.period_s, gate.log_only),
        ("per-consumer|consumer|acme", 5, 10, false)
    );
    let policy_header = "\"per-consumer\";q=5;w=10";
    let answer = Answer::problem(GatewayError::RateLimited, "req-1").with("retry-after", "10");
    assert_eq!(gate.reject, answer);
    assert_eq!(
        effects.response_ops,
        [
            HeaderOp::Append("vary".into(), "Origin".into()),
            set("access-control-allow-origin", "https://app.example.com"),
            HeaderOp::Append("ratelimit-policy".into(), policy_header.into()),
        ]
    );
    assert_eq!(
        effects.request_ops.last(),
        Some(&set("x-who", "acme on keyed"))
    );
}
