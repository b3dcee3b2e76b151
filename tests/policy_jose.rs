//! JOSE helpers: base64url decoding, compact JWS parsing (malformed parts, `crit`, length),
//! JWK sets, and `Alg::fits` binding an algorithm to a key type (no algorithm confusion).

mod policy_support;

use gateway::policy::jose::{base64url, parse_jwks, parse_token, Alg, Jwk, MAX_TOKEN_LEN};
use policy_support::{b64url, jws};

#[test]
fn base64url_decodes_unpadded_text_only() {
    let cases: &[(&str, Option<&[u8]>)] = &[
        ("", Some(b"")),
        ("Zg", Some(b"f")),
        ("Zm8", Some(b"fo")),
        ("Zm9v", Some(b"foo")),
        ("Zm9vYg", Some(b"foob")),
        ("-_8", Some(&[0xfb, 0xff])),
        ("AAAA", Some(&[0, 0, 0])),
        ("Zg==", None),
        ("Zm8=", None),
        ("Z", None),
        ("Zm9vY", None),
        ("Zm+v", None),
        ("Zm/v", None),
        ("Zm9 v", None),
        ("Zm9v\n", None),
        ("Zé9v", None),
    ];
    for (text, want) in cases {
        assert_eq!(base64url(text).as_deref(), *want, "{text:?}");
    }
    let all: Vec<u8> = (0..=255).collect();
    for n in 0..all.len() {
        assert_eq!(
            base64url(&b64url(&all[..n])).as_deref(),
            Some(&all[..n]),
            "{n} bytes"
        );
    }
}

#[test]
fn tokens_parse_into_their_parts() {
    let token = jws(r#"{"alg":"ES256","kid":"k9"}"#, r#"{"sub":"a"}"#);
    let t = parse_token(&token).unwrap();
    assert_eq!(t.alg, "ES256");
    assert_eq!(t.kid.as_deref(), Some("k9"));
    assert_eq!(t.payload, r#"{"sub":"a"}"#);
    assert_eq!(t.signature, b"not-a-real-signature");
    assert_eq!(
        Some(t.signing_input.as_str()),
        token.rsplit_once('.').map(|(s, _)| s)
    );
    let unsigned = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(b"{}"));
    let t = parse_token(&unsigned).unwrap();
    assert_eq!(
        (t.alg.as_str(), t.kid, t.signature),
        ("none", None, Vec::new())
    );
    let empty_crit = jws(r#"{"alg":"RS256","crit":[]}"#, "{}");
    assert!(parse_token(&empty_crit).is_ok());
}

#[test]
fn malformed_tokens_say_which_part() {
    let h = b64url(br#"{"alg":"RS256"}"#);
    let p = b64url(b"{}");
    let bad_utf8 = b64url(&[0xff, 0xfe]);
    let long = format!("{h}.{}.x", "A".repeat(MAX_TOKEN_LEN));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "two parts",
            format!("{h}.{p}"),
            "token is not three dot-separated parts",
        ),
        (
            "four parts",
            format!("{h}.{p}.x.y"),
            "token is not three dot-separated parts",
        ),
        (
            "empty",
            String::new(),
            "token is not three dot-separated parts",
        ),
        (
            "header not base64url",
            format!("!!.{p}.x"),
            "token header is not base64url",
        ),
        (
            "padded header",
            format!("{h}=.{p}.x"),
            "token header is not base64url",
        ),
        (
            "header not JSON",
            format!("{}.{p}.x", b64url(b"alg")),
            "token header is not a JOSE header: expected value at line 1 column 1",
        ),
        (
            "header without alg",
            format!("{}.{p}.x", b64url(b"{}")),
            "token header is not a JOSE header: missing field `alg` at line 1 column 2",
        ),
        (
            "empty header",
            format!(".{p}.x"),
            "token header is not a JOSE header: EOF while parsing a value at line 1 column 0",
        ),
        (
            "critical parameters",
            jws(r#"{"alg":"RS256","crit":["exp"]}"#, "{}"),
            "token has critical header parameters this gateway does not know",
        ),
        (
            "payload not base64url",
            format!("{h}.p+q.x"),
            "token payload is not base64url",
        ),
        (
            "payload not UTF-8",
            format!("{h}.{bad_utf8}.x"),
            "token payload is not UTF-8",
        ),
        (
            "signature padded",
            format!("{h}.{p}.abc="),
            "token signature is not base64url",
        ),
        ("too long", long, "token is longer than 16384 bytes"),
    ];
    for (name, token, want) in cases {
        assert_eq!(parse_token(&token), Err(want.to_owned()), "case: {name}");
    }
}

fn jwk(kty: &str, crv: Option<&str>, alg: Option<&str>, key_use: Option<&str>) -> Jwk {
    Jwk {
        kty: kty.into(),
        kid: Some("k1".into()),
        alg: alg.map(Into::into),
        key_use: key_use.map(Into::into),
        n: None,
        e: None,
        crv: crv.map(Into::into),
        x: None,
        y: None,
    }
}

#[test]
fn algorithms_fit_only_their_key_type() {
    let rsa = jwk("RSA", None, None, None);
    let p256 = jwk("EC", Some("P-256"), None, None);
    let p384 = jwk("EC", Some("P-384"), None, None);
    let cases: &[(Alg, Jwk, bool)] = &[
        (Alg::RS256, rsa.clone(), true),
        (Alg::RS384, rsa.clone(), true),
        (Alg::RS512, rsa.clone(), true),
        (Alg::ES256, rsa.clone(), false),
        (Alg::RS256, p256.clone(), false),
        (Alg::ES256, p256.clone(), true),
        (Alg::ES384, p256.clone(), false),
        (Alg::ES384, p384.clone(), true),
        (Alg::ES256, p384.clone(), false),
        (Alg::ES256, jwk("EC", None, None, None), false),
        (Alg::ES256, jwk("RSA", Some("P-256"), None, None), false),
        (Alg::RS256, jwk("oct", None, None, None), false),
        (Alg::RS256, jwk("rsa", None, None, None), false),
        (
            Alg::RS256,
            jwk("RSA", None, Some("RS256"), Some("sig")),
            true,
        ),
        (Alg::RS256, jwk("RSA", None, Some("RS512"), None), false),
        (Alg::RS512, jwk("RSA", None, Some("RS512"), None), true),
        (
            Alg::ES256,
            jwk("EC", Some("P-256"), Some("RS256"), None),
            false,
        ),
        (Alg::RS256, jwk("RSA", None, None, Some("enc")), false),
        (
            Alg::ES256,
            jwk("EC", Some("P-256"), Some("ES256"), Some("enc")),
            false,
        ),
    ];
    for (alg, key, want) in cases {
        assert_eq!(alg.fits(key), *want, "{} with {key:?}", alg.name());
    }
}

#[test]
fn algorithm_names() {
    for alg in Alg::ALL {
        assert_eq!(Alg::parse(alg.name()), Some(alg));
    }
    for name in ["none", "HS256", "rs256", "PS256", "EdDSA", ""] {
        assert_eq!(Alg::parse(name), None, "{name}");
    }
}

#[test]
fn jwk_sets() {
    let text = r#"{"keys": [
        {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": "AQAB", "e": "AQAB", "x5c": ["…"]},
        {"kty": "EC", "kid": "e1", "crv": "P-256", "x": "eA", "y": "eQ"},
        {"kty": "oct", "k": "c2VjcmV0"}
    ], "extra": true}"#;
    let keys = parse_jwks(text).unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0].key_use.as_deref(), Some("sig"));
    assert!(Alg::RS256.fits(&keys[0]));
    assert!(Alg::ES256.fits(&keys[1]));
    assert!(Alg::ALL.iter().all(|a| !a.fits(&keys[2])));
    let err = |t: &str| parse_jwks(t).unwrap_err();
    assert_eq!(
        err("[]"),
        "not a JWK set: invalid length 0, expected struct JwkSet with 1 element at line 1 column 2"
    );
    assert_eq!(
        err("{}"),
        "not a JWK set: missing field `keys` at line 1 column 2"
    );
    assert_eq!(
        err(r#"{"keys": [{"kid": "x"}]}"#),
        "not a JWK set: missing field `kty` at line 1 column 22"
    );
}
