//! The identity provider's API, through the service value (no socket): key sets, tokens that
//! verify against them, rotation and key-set fault injection.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use backend_kit::testing::call;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use idp::Config;
use p256::ecdsa::signature::Verifier;
use serde_json::{json, Value};
use sha2::Sha256;

const ISSUER: &str = "https://idp.test";
const KEY_SETS: [&str; 2] = ["/.well-known/jwks.json", "/cdn-cgi/access/certs"];

/// A JWK field holding base64url, and the length of what it decodes to.
type Encoded = (&'static str, usize);
/// A JWS header's `alg` and `kid`.
type AlgKid = (&'static str, &'static str);

fn app() -> axum::Router {
    idp::app_with(Config {
        issuer: ISSUER.into(),
    })
}

/// `POST /token` with `body`; the compact JWS.
async fn token(app: &axum::Router, body: Value) -> String {
    let (status, got) = call(app, "POST", "/token", Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body} → {got}");
    got["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// A JWS's header and payload.
fn decode(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    (decode_part(parts[0]), decode_part(parts[1]))
}

fn b64_field(jwk: &Value, name: &str) -> Vec<u8> {
    let text = jwk[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {jwk}"));
    assert!(!text.contains('='), "padding in {name}");
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// Checks `token`'s signature with the key of its `kid` in `jwks`, as a relying party would.
fn verify(token: &str, jwks: &Value) -> Result<(), String> {
    let (header, _) = decode(token);
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| e.to_string())?;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .ok_or_else(|| format!("no key {} in the set", header["kid"]))?;
    if jwk["alg"] != header["alg"] {
        return Err(format!("alg {} for a {} key", header["alg"], jwk["alg"]));
    }
    match header["alg"].as_str() {
        Some("RS256") => {
            let key = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&b64_field(jwk, "n")),
                rsa::BigUint::from_bytes_be(&b64_field(jwk, "e")),
            )
            .map_err(|e| e.to_string())?;
            let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice())
                .map_err(|e| e.to_string())?;
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                .verify(input.as_bytes(), &signature)
                .map_err(|e| e.to_string())
        }
        Some("ES256") => {
            if signature.len() != 64 {
                return Err(format!("ES256 signature of {} bytes", signature.len()));
            }
            let (x, y) = (b64_field(jwk, "x"), b64_field(jwk, "y"));
            let point = p256::EncodedPoint::from_affine_coordinates(
                p256::FieldBytes::from_slice(&x),
                p256::FieldBytes::from_slice(&y),
                false,
            );
            let key =
                p256::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|e| e.to_string())?;
            let signature =
                p256::ecdsa::Signature::from_slice(&signature).map_err(|e| e.to_string())?;
            key.verify(input.as_bytes(), &signature)
                .map_err(|e| e.to_string())
        }
        other => Err(format!("unexpected alg {other:?}")),
    }
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn fetch_stats(app: &axum::Router) -> Value {
    call(app, "GET", "/_test/jwks/stats", None).await.1
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn key_sets_list_both_public_keys() {
    let app = app();
    let (_, first) = call(&app, "GET", KEY_SETS[0], None).await;
    for path in KEY_SETS {
        let (status, jwks) = call(&app, "GET", path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(jwks, first, "{path} serves the same set");
        assert_eq!(kids(&jwks), ["rsa-1", "ec-1"], "{path}");
        let keys = jwks["keys"].as_array().unwrap();
        // (kid, fields that must be exactly so, base64url fields and their decoded lengths)
        let cases: [(&str, Value, &[Encoded]); 2] = [
            (
                "rsa-1",
                json!({"kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB"}),
                &[("n", 256)],
            ),
            (
                "ec-1",
                json!({"kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256"}),
                &[("x", 32), ("y", 32)],
            ),
        ];
        for (kid, fields, lengths) in cases {
            let jwk = keys.iter().find(|k| k["kid"] == kid).unwrap();
            for (name, want) in fields.as_object().unwrap() {
                assert_eq!(&jwk[name], want, "{path} {kid} {name}");
            }
            for (name, len) in lengths {
                assert_eq!(b64_field(jwk, name).len(), *len, "{path} {kid} {name}");
            }
            assert!(
                jwk.get("d").is_none(),
                "{path} {kid} leaks its private part"
            );
        }
    }
}

#[tokio::test]
async fn tokens_carry_the_requested_claims() {
    let app = app();
    let t = now();
    // (request, header alg and kid, claims that must be exactly so, claims that must be absent)
    let cases: Vec<(Value, AlgKid, Value, &[&str])> = vec![
        (
            json!({}),
            ("RS256", "rsa-1"),
            json!({"sub": "dev-user", "aud": "edge-gateway", "iss": ISSUER}),
            &["nbf"],
        ),
        (
            json!({"sub": "alice", "aud": ["a", "b"], "iss": "https://other", "alg": "ES256"}),
            ("ES256", "ec-1"),
            json!({"sub": "alice", "aud": ["a", "b"], "iss": "https://other"}),
            &["nbf"],
        ),
        (
            json!({"exp": t - 60, "ttl_s": 3600}),
            ("RS256", "rsa-1"),
            json!({"exp": t - 60}),
            &[],
        ),
        (
            json!({"nbf": t + 600, "iat": t - 5, "exp": t + 1200}),
            ("RS256", "rsa-1"),
            json!({"nbf": t + 600, "iat": t - 5, "exp": t + 1200}),
            &[],
        ),
        (
            json!({"kid": "no-such-key", "alg": "ES256"}),
            ("ES256", "no-such-key"),
            json!({"sub": "dev-user"}),
            &[],
        ),
        (
            json!({"claims": {"scope": "read write", "roles": ["admin"], "exp": null}}),
            ("RS256", "rsa-1"),
            json!({"scope": "read write", "roles": ["admin"], "sub": "dev-user"}),
            &["exp"],
        ),
    ];
    for (request, (alg, kid), want, absent) in cases {
        let (status, response) = call(&app, "POST", "/token", Some(request.clone())).await;
        assert_eq!(status, StatusCode::OK, "{request}");
        assert_eq!(response["token_type"], "Bearer", "{request}");
        let (header, payload) = decode(response["access_token"].as_str().unwrap());
        assert_eq!(
            header,
            json!({"alg": alg, "typ": "JWT", "kid": kid}),
            "{request}"
        );
        for (name, value) in want.as_object().unwrap() {
            assert_eq!(&payload[name], value, "{request}: {name}");
        }
        for name in absent {
            assert!(payload.get(name).is_none(), "{request}: {name} present");
        }
        let expires_in = response["expires_in"].as_i64().unwrap();
        match payload["exp"].as_i64() {
            Some(exp) => assert!((expires_in - (exp - t).max(0)).abs() <= 2, "{request}"),
            None => assert_eq!(expires_in, 3600, "{request}"),
        }
    }
    // Defaults: issued now, valid for an hour.
    let (_, payload) = decode(&token(&app, json!({})).await);
    let iat = payload["iat"].as_i64().unwrap();
    assert!((iat - t).abs() <= 2, "iat {iat} vs now {t}");
    assert_eq!(payload["exp"].as_i64(), Some(iat + 3600));
}

#[tokio::test]
async fn tokens_verify_against_the_key_set() {
    let app = app();
    for path in KEY_SETS {
        let (_, jwks) = call(&app, "GET", path, None).await;
        for alg in ["RS256", "ES256"] {
            let token = token(&app, json!({"alg": alg, "sub": "alice"})).await;
            assert_eq!(verify(&token, &jwks), Ok(()), "{alg} against {path}");
            // Tampering with the payload breaks the signature.
            let (header, rest) = token.split_once('.').unwrap();
            let (_, signature) = rest.split_once('.').unwrap();
            let forged_payload = URL_SAFE_NO_PAD.encode(json!({"sub": "mallory"}).to_string());
            let forged = format!("{header}.{forged_payload}.{signature}");
            assert!(
                verify(&forged, &jwks).is_err(),
                "{alg}: forged token verified"
            );
        }
    }
}

#[tokio::test]
async fn bad_requests_are_400_json() {
    let app = app();
    let cases: Vec<(&str, &str, Option<Value>)> = vec![
        ("POST", "/token", Some(json!({"alg": "HS256"}))),
        ("POST", "/token", Some(json!({"alg": "none"}))),
        ("POST", "/token", Some(json!({"alg": "rs256"}))),
        ("POST", "/token", Some(json!({"ttl": 60}))),
        ("POST", "/token", Some(json!({"exp": "soon"}))),
        ("GET", "/token?alg=PS256", None),
        ("GET", "/token?ttl_s=long", None),
        ("POST", "/_test/rotate", Some(json!({"keep_old": "yes"}))),
        ("PUT", "/_test/jwks", Some(json!({"mode": "broken"}))),
    ];
    for (method, uri, body) in cases {
        let (status, got) = call(&app, method, uri, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri} {body:?}");
        assert_eq!(got["status"], 400, "{method} {uri} {body:?}: {got}");
        assert!(got["detail"].is_string(), "{method} {uri} {body:?}: {got}");
    }
}

#[tokio::test]
async fn get_token_takes_query_parameters() {
    let app = app();
    // (query, header alg, claims that must be exactly so)
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "",
            "RS256",
            json!({"sub": "dev-user", "aud": "edge-gateway", "iss": ISSUER}),
        ),
        (
            "?sub=bob&aud=orders&alg=ES256",
            "ES256",
            json!({"sub": "bob", "aud": "orders"}),
        ),
        (
            "?aud=a,b&iss=https://x&exp=100&nbf=50&iat=40",
            "RS256",
            json!({"aud": ["a", "b"], "iss": "https://x", "exp": 100, "nbf": 50, "iat": 40}),
        ),
    ];
    let (_, jwks) = call(&app, "GET", KEY_SETS[0], None).await;
    for (query, alg, want) in cases {
        let (status, response) = call(&app, "GET", &format!("/token{query}"), None).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        let token = response["access_token"].as_str().unwrap();
        let (header, payload) = decode(token);
        assert_eq!(header["alg"], alg, "{query}");
        for (name, value) in want.as_object().unwrap() {
            assert_eq!(&payload[name], value, "{query}: {name}");
        }
        assert_eq!(verify(token, &jwks), Ok(()), "{query}");
    }
}

#[tokio::test]
async fn rotation_signs_with_new_keys() {
    let app = app();
    // (rotate body, new kids, published kids afterwards)
    let cases: Vec<(Option<Value>, [&str; 2], Vec<&str>)> = vec![
        (
            None,
            ["rsa-2", "ec-2"],
            vec!["rsa-2", "ec-2", "rsa-1", "ec-1"],
        ),
        (
            Some(json!({"keep_old": true})),
            ["rsa-3", "ec-3"],
            vec!["rsa-3", "ec-3", "rsa-2", "ec-2", "rsa-1", "ec-1"],
        ),
        (
            Some(json!({"keep_old": false})),
            ["rsa-4", "ec-4"],
            vec!["rsa-4", "ec-4"],
        ),
    ];
    let old = token(&app, json!({})).await;
    for (body, new, published) in cases {
        let (status, got) = call(&app, "POST", "/_test/rotate", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body:?}");
        assert_eq!(
            got,
            json!({"kids": new, "published": published}),
            "{body:?}"
        );
        let (_, jwks) = call(&app, "GET", KEY_SETS[1], None).await;
        assert_eq!(kids(&jwks), published, "{body:?}");
        for (alg, kid) in [("RS256", new[0]), ("ES256", new[1])] {
            let token = token(&app, json!({"alg": alg})).await;
            assert_eq!(decode(&token).0["kid"], kid, "{body:?} {alg}");
            assert_eq!(verify(&token, &jwks), Ok(()), "{body:?} {alg}");
        }
        // A token from before every rotation verifies only while rsa-1 is published.
        assert_eq!(
            verify(&old, &jwks).is_ok(),
            published.contains(&"rsa-1"),
            "{body:?}"
        );
    }
}

#[tokio::test]
async fn key_set_faults_and_fetch_counts() {
    let app = app();
    assert_eq!(fetch_stats(&app).await, json!({"fetches": 0}));
    assert_eq!(
        call(&app, "GET", "/_test/jwks", None).await.1,
        json!({"mode": "ok", "slow_ms": 3000})
    );
    // (setting, status of both key-set endpoints, minimum answer time)
    let cases: Vec<(Value, StatusCode, Duration)> = vec![
        (
            json!({"mode": "fail"}),
            StatusCode::INTERNAL_SERVER_ERROR,
            Duration::ZERO,
        ),
        (
            json!({"mode": "slow", "slow_ms": 150}),
            StatusCode::OK,
            Duration::from_millis(150),
        ),
        (json!({"mode": "ok"}), StatusCode::OK, Duration::ZERO),
    ];
    let mut fetches = 0;
    for (setting, want, min) in cases {
        let (status, got) = call(&app, "PUT", "/_test/jwks", Some(setting.clone())).await;
        assert_eq!(status, StatusCode::OK, "{setting}");
        assert_eq!(got["mode"], setting["mode"], "{setting}");
        for path in KEY_SETS {
            let started = Instant::now();
            let (status, body) = call(&app, "GET", path, None).await;
            assert_eq!(status, want, "{setting} {path}");
            assert!(started.elapsed() >= min, "{setting} {path}: too fast");
            assert_eq!(
                body["keys"].is_array(),
                want == StatusCode::OK,
                "{setting} {path}"
            );
            fetches += 1;
        }
        assert_eq!(
            fetch_stats(&app).await,
            json!({"fetches": fetches}),
            "{setting}"
        );
    }
    // The kit's per-path counters see the same fetches; DELETE resets the key-set counter.
    let (_, kit) = call(&app, "GET", "/_test/stats", None).await;
    assert_eq!(kit["paths"][KEY_SETS[0]], 3);
    assert_eq!(kit["paths"][KEY_SETS[1]], 3);
    let (status, _) = call(&app, "DELETE", "/_test/jwks/stats", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(fetch_stats(&app).await, json!({"fetches": 0}));
}

#[tokio::test]
async fn kit_hooks_are_served() {
    let app = app();
    let cases: Vec<(&str, StatusCode, Value)> = vec![
        (
            "/healthz",
            StatusCode::OK,
            json!({"status": "healthy", "service": "idp", "version": idp::API.version}),
        ),
        (
            "/_test/status/418",
            StatusCode::IM_A_TEAPOT,
            json!({"status": 418}),
        ),
    ];
    for (uri, status, want) in cases {
        assert_eq!(call(&app, "GET", uri, None).await, (status, want), "{uri}");
    }
}
