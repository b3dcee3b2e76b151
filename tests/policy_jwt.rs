//! Token policies' pure parts: `jwt` validation, `inspect` (times and leeway, issuer,
//! audience, algorithms, malformed tokens, claims to headers), where tokens are read from,
//! `access` and its fixed settings, and when the JWKS cache is refreshed (`keys_action`).

mod policy_support;

use gateway::context::{Effects, HeaderOp};
use gateway::policy::jose::Alg;
use gateway::policy::jwt::{keys_action, Jwt, KeysAction, TokenSource};
use gateway::policy::{Lookup, Policy, Verdict};
use gateway::problem::GatewayError;
use policy_support::{check, jws, policy, problems, request, rs256, NOW_MS, NOW_S};

const JWT: &str = r#"{"jwt": {"jwks_url": "https://idp.example.com/jwks.json",
    "issuer": "https://idp.example.com", "audiences": ["api"],
    "claims": {"email": "x-email", "org": "x-org", "roles": "x-roles"}}}"#;

fn jwt(json: &str) -> Jwt {
    match policy(json) {
        Policy::Jwt(j) | Policy::Access(j) => j,
        other => panic!("not a token policy: {other:?}"),
    }
}

#[test]
fn jwt_validation() {
    let j = jwt(JWT);
    assert_eq!(j.algorithms, [Alg::RS256, Alg::ES256]);
    assert_eq!((j.leeway_ms, &j.source), (60_000.0, &TokenSource::Bearer));
    assert_eq!(
        (j.consumer_claim.as_str(), j.consumer_header.as_str()),
        ("sub", "x-gateway-consumer")
    );
    assert_eq!(j.challenge, Some("Bearer realm=\"edge-gateway\""));
    let local = r#"{"jwt": {"jwks_url": "http://localhost:9103/jwks", "issuer": "i", "header": "authorization"}}"#;
    assert_eq!(jwt(local).source, TokenSource::Bearer);
    let never = "is never accepted (no shared secrets, no unsigned tokens); use RS256, RS384, RS512, ES256 or ES384";
    let cases: &[(&str, &[&str])] = &[
        (r#""jwks_url": "http://idp.example.com/k", "issuer": "i""#, &["jwks_url `http://idp.example.com/k` must be https:// (http:// only for 127.0.0.1 or localhost)"]),
        (r#""jwks_url": "http://localhost.evil.io/k", "issuer": "i""#, &["jwks_url `http://localhost.evil.io/k` must be https:// (http:// only for 127.0.0.1 or localhost)"]),
        (r#""jwks_url": "https:///k", "issuer": """#, &["jwks_url `https:///k` has no host", "issuer must not be empty"]),
        (
            r#""jwks_url": "https://i/k", "issuer": "i", "algorithms": ["HS256", "none", "PS256", "RS384", "RS384"]"#,
            &[
                "algorithms: `HS256` NEVER",
                "algorithms: `none` NEVER",
                "algorithms: `PS256` is not one of RS256, RS384, RS512, ES256, ES384",
                "algorithms: `RS384` is listed twice",
            ],
        ),
        (r#""jwks_url": "https://i/k", "issuer": "i", "leeway_s": 301"#, &["leeway_s = 301 is above 300"]),
        (r#""jwks_url": "https://i/k", "issuer": "i", "header": "Authorization""#, &["header: `Authorization` is not a lower-case header name"]),
        (r#""jwks_url": "https://i/k", "issuer": "i", "consumer_header": "cf-connecting-ip""#, &["consumer_header: `cf-connecting-ip` is managed by the gateway"]),
        (
            r#""jwks_url": "https://i/k", "issuer": "i", "claims": {"": "x-a", "email": "x-gateway-consumer", "name": "X-Name"}"#,
            &[
                "claims: a claim name is empty",
                "claims.email: `x-gateway-consumer` is already the consumer header",
                "claims.name: `X-Name` is not a lower-case header name",
            ],
        ),
    ];
    for (json, want) in cases {
        let want: Vec<String> = want.iter().map(|w| w.replace("NEVER", never)).collect();
        assert_eq!(
            problems(&format!(r#"{{"jwt": {{{json}}}}}"#)),
            want,
            "{json}"
        );
    }
}

#[test]
fn access_validation() {
    let a = jwt(
        r#"{"access": {"team_domain": "https://team.cloudflareaccess.com/", "audiences": ["aud1"]}}"#,
    );
    assert_eq!(a.issuer, "https://team.cloudflareaccess.com");
    assert_eq!(
        a.jwks_url,
        "https://team.cloudflareaccess.com/cdn-cgi/access/certs"
    );
    assert_eq!(
        (a.algorithms.as_slice(), a.leeway_ms),
        (&[Alg::RS256][..], 60_000.0)
    );
    assert_eq!(
        a.source,
        TokenSource::Header("cf-access-jwt-assertion".into())
    );
    assert_eq!((a.consumer_claim.as_str(), a.challenge), ("email", None));
    let cases: &[(&str, &[&str])] = &[
        (r#""team_domain": "http://team.io", "audiences": ["a"]"#, &["team_domain `http://team.io` must be https:// (http:// only for 127.0.0.1 or localhost)"]),
        (r#""team_domain": "https://team.io/app", "audiences": ["a"]"#, &["team_domain `https://team.io/app` must not have a path"]),
        (r#""team_domain": "https://t.io", "audiences": []"#, &["audiences must list the application's AUD tags"]),
        (r#""team_domain": "https://t.io", "audiences": ["a", ""]"#, &["audiences must list the application's AUD tags"]),
        (r#""team_domain": "https://t.io", "audiences": ["a"], "claims": {"email": "x-gateway-consumer"}"#, &["claims.email: `x-gateway-consumer` is already the consumer header"]),
    ];
    for (json, want) in cases {
        assert_eq!(
            problems(&format!(r#"{{"access": {{{json}}}}}"#)),
            *want,
            "{json}"
        );
    }
}

fn claims(extra: &str) -> String {
    let exp = NOW_S + 300;
    format!(r#"{{"iss":"https://idp.example.com","aud":"api","exp":{exp},"sub":"alice"{extra}}}"#)
}

#[test]
fn jwt_inspect_checks_everything_but_the_signature() {
    let j = jwt(JWT);
    let (now, iss) = (NOW_S, r#""iss":"https://idp.example.com""#);
    let cases: Vec<(&str, String, Result<(), &str>)> = vec![
        ("valid", rs256(&claims("")), Ok(())),
        ("ES256", jws(r#"{"alg":"ES256"}"#, &claims("")), Ok(())),
        ("expired", rs256(&format!(r#"{{{iss},"aud":"api","exp":{}}}"#, now - 61)), Err("token expired")),
        ("expired within leeway", rs256(&format!(r#"{{{iss},"aud":"api","exp":{}}}"#, now - 60)), Ok(())),
        ("no exp", rs256(&format!(r#"{{{iss},"aud":"api"}}"#)), Err("token has no `exp`")),
        ("nbf in the future", rs256(&claims(&format!(r#","nbf":{}"#, now + 61))), Err("token is not valid yet (`nbf`)")),
        ("nbf within leeway", rs256(&claims(&format!(r#","nbf":{}"#, now + 60))), Ok(())),
        ("wrong iss", rs256(&format!(r#"{{"iss":"https://evil.io","aud":"api","exp":{}}}"#, now + 9)), Err(r#"issuer Some("https://evil.io") is not https://idp.example.com"#)),
        ("no iss", rs256(&format!(r#"{{"aud":"api","exp":{}}}"#, now + 9)), Err("issuer None is not https://idp.example.com")),
        ("wrong aud", rs256(&format!(r#"{{{iss},"aud":"web","exp":{}}}"#, now + 9)), Err(r#"audience ["web"] is not accepted"#)),
        ("aud list", rs256(&format!(r#"{{{iss},"aud":["web","api"],"exp":{}}}"#, now + 9)), Ok(())),
        ("no aud", rs256(&format!(r#"{{{iss},"exp":{}}}"#, now + 9)), Err("audience [] is not accepted")),
        ("alg none", jws(r#"{"alg":"none"}"#, &claims("")), Err("algorithm `none` is not accepted")),
        ("HS256", jws(r#"{"alg":"HS256"}"#, &claims("")), Err("algorithm `HS256` is not accepted")),
        ("alg not in the list", jws(r#"{"alg":"RS384"}"#, &claims("")), Err("algorithm `RS384` is not accepted")),
        ("alg lower case", jws(r#"{"alg":"rs256"}"#, &claims("")), Err("algorithm `rs256` is not accepted")),
        ("malformed", "abc.def".into(), Err("token is not three dot-separated parts")),
        ("exp not a number", rs256(r#"{"exp":"soon"}"#), Err("token payload is not a JSON object of claims: invalid type: string \"soon\", expected f64 at line 1 column 13")),
        ("payload a list", rs256("[1]"), Err("token payload is not a JSON object of claims: invalid type: sequence, expected a JSON object of claims at line 1 column 0")),
        ("trailing data", rs256(&format!("{} x", claims(""))), Err("token payload is not a JSON object of claims: trailing characters at line 1 column 78")),
    ];
    for (name, token, want) in cases {
        let got = j.inspect(&token, NOW_MS).map(|_| ());
        assert_eq!(got, want.map_err(str::to_owned), "case: {name}");
    }
    let any_aud = jwt(
        r#"{"jwt": {"jwks_url": "https://i/k", "issuer": "i", "leeway_s": 0, "algorithms": ["RS384"]}}"#,
    );
    let token = jws(
        r#"{"alg":"RS384"}"#,
        &format!(r#"{{"iss":"i","exp":{NOW_S}}}"#),
    );
    assert!(any_aud.inspect(&token, NOW_MS).is_ok(), "no audiences: any");
    assert_eq!(
        any_aud.inspect(&token, NOW_MS + 1.0).unwrap_err(),
        "token expired"
    );
}

#[test]
fn jwt_claims_become_header_operations() {
    let j = jwt(JWT);
    let set = |h: &str, v: &str| HeaderOp::Set(h.into(), v.into());
    let remove = |h: &str| HeaderOp::Remove(h.into());
    let cases: &[(&str, &str, Option<&str>, Vec<HeaderOp>)] = &[
        (
            "present, missing and non-scalar",
            r#","email":"a@x.io","roles":["admin"],"org":{"id":1}"#,
            Some("alice"),
            vec![
                set("x-gateway-consumer", "alice"),
                set("x-email", "a@x.io"),
                remove("x-org"),
                remove("x-roles"),
            ],
        ),
        (
            "scalars as text",
            r#","email":null,"org":42,"roles":true"#,
            Some("alice"),
            vec![
                set("x-gateway-consumer", "alice"),
                remove("x-email"),
                set("x-org", "42"),
                set("x-roles", "true"),
            ],
        ),
        (
            "control characters, non-ASCII text and fractions never reach a header",
            r#","email":"a@x.io\r\nx-admin: 1","org":1.5,"roles":"李""#,
            Some("alice"),
            vec![
                set("x-gateway-consumer", "alice"),
                remove("x-email"),
                remove("x-org"),
                remove("x-roles"),
            ],
        ),
    ];
    for (name, extra, consumer, ops) in cases {
        let lookup = j.inspect(&rs256(&claims(extra)), NOW_MS).unwrap();
        assert_eq!(lookup.consumer.as_deref(), *consumer, "case: {name}");
        assert_eq!(&lookup.ops, ops, "case: {name}");
        assert_eq!(
            (lookup.alg, lookup.kid.as_deref()),
            (Alg::RS256, Some("k1"))
        );
        assert_eq!(lookup.jwks_url, "https://idp.example.com/jwks.json");
        assert_eq!(lookup.signature, b"not-a-real-signature");
    }
    let no_sub = format!(
        r#"{{"iss":"https://idp.example.com","aud":"api","exp":{}}}"#,
        NOW_S + 9
    );
    let lookup = j.inspect(&rs256(&no_sub), NOW_MS).unwrap();
    assert_eq!(lookup.consumer, None);
    assert_eq!(lookup.ops[0], remove("x-gateway-consumer"));
    // Registered claims can be forwarded too, and the consumer can be any claim.
    let by_email = jwt(
        r#"{"jwt": {"jwks_url": "https://i/k", "issuer": "https://idp.example.com",
        "consumer_claim": "email", "claims": {"aud": "x-aud", "exp": "x-exp"}}}"#,
    );
    let lookup = by_email
        .inspect(&rs256(&claims(r#","email":"b@x.io""#)), NOW_MS)
        .unwrap();
    assert_eq!(lookup.consumer.as_deref(), Some("b@x.io"));
    let exp = (NOW_S + 300).to_string();
    assert_eq!(
        lookup.ops,
        [
            set("x-gateway-consumer", "b@x.io"),
            set("x-aud", "api"),
            set("x-exp", &exp)
        ]
    );
}

#[test]
fn tokens_are_read_from_their_header() {
    let j = policy(JWT);
    let a = policy(r#"{"access": {"team_domain": "https://t.io", "audiences": ["a"]}}"#);
    let token: &'static str = rs256(&claims("")).leak();
    let bearer: &'static str = format!("Bearer {token}").leak();
    let lower: &'static str = format!("  bearer   {token} ").leak();
    let basic: &'static str = format!("Basic {token}").leak();
    let bearer_401 = |reason| Err((reason, Some("Bearer realm=\"edge-gateway\"")));
    let wrong_iss = r#"issuer Some("https://idp.example.com") is not https://t.io"#;
    type Case<'a> = (
        &'a str,
        &'a Policy,
        &'a [(&'static str, &'static str)],
        Result<(), (&'a str, Option<&'a str>)>,
    );
    let cases: &[Case] = &[
        ("bearer", &j, &[("authorization", bearer)], Ok(())),
        (
            "scheme case and spaces",
            &j,
            &[("authorization", lower)],
            Ok(()),
        ),
        (
            "basic",
            &j,
            &[("authorization", basic)],
            bearer_401("no token"),
        ),
        (
            "bare token",
            &j,
            &[("authorization", token)],
            bearer_401("no token"),
        ),
        ("none", &j, &[], bearer_401("no token")),
        (
            "access reads its header",
            &a,
            &[("cf-access-jwt-assertion", token)],
            Err((wrong_iss, None)),
        ),
        (
            "access, none: no challenge",
            &a,
            &[("authorization", bearer)],
            Err(("no token", None)),
        ),
    ];
    for (name, p, headers, want) in cases {
        let got = match check(p, &request("GET", headers), &mut Effects::default()) {
            Verdict::Lookup(Lookup::Jwt(_)) => Ok(()),
            Verdict::Reject(r) => {
                assert_eq!(r.error, GatewayError::Unauthenticated, "case: {name}");
                let challenge = r.headers.iter().find(|(n, _)| n == "www-authenticate");
                Err((r.reason, challenge.map(|(_, v)| v.clone())))
            }
            other => panic!("case {name}: {other:?}"),
        };
        let want = want.map_err(|(r, c)| (r.to_owned(), c.map(str::to_owned)));
        assert_eq!(got, want, "case: {name}");
    }
}

#[test]
fn jwks_are_refreshed_but_never_hammered() {
    use KeysAction::{FetchNow, Refresh, Use};
    // (has_key, loaded_at, attempted_at, now) with a 600 s refresh and a 30 s minimum.
    type Case = (bool, Option<f64>, Option<f64>, f64, KeysAction);
    let cases: &[Case] = &[
        (true, Some(0.0), Some(0.0), 599_999.0, Use),
        (true, Some(0.0), Some(0.0), 600_000.0, Refresh),
        (true, Some(0.0), Some(590_000.0), 600_000.0, Use),
        (true, Some(0.0), Some(570_000.0), 600_000.0, Refresh),
        (true, None, None, 0.0, Refresh),
        (false, None, None, 0.0, FetchNow),
        (false, Some(0.0), Some(0.0), 29_999.0, Use),
        (false, Some(0.0), Some(0.0), 30_000.0, FetchNow),
        (false, None, Some(10_000.0), 20_000.0, Use),
    ];
    for &(has_key, loaded, attempted, now, want) in cases {
        let got = keys_action(has_key, loaded, attempted, now, 600_000.0, 30_000.0);
        assert_eq!(got, want, "{has_key} {loaded:?} {attempted:?} {now}");
    }
}
