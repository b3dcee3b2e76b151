//! The `cors` policy on requests: preflights answered or refused (origin, method, header),
//! and the headers actual requests get (`Vary: Origin`, the echoed origin or `*`,
//! credentials, exposed headers).

mod policy_support;

use gateway::context::{Effects, HeaderOp};
use gateway::policy::cors::Cors;
use gateway::policy::{Policy, Verdict};
use gateway::problem::GatewayError;
use policy_support::{check, policy, request, Headers};

fn cors(json: &str) -> Cors {
    match policy(&format!(r#"{{"cors": {json}}}"#)) {
        Policy::Cors(c) => c,
        other => panic!("not cors: {other:?}"),
    }
}

fn set(name: &str, value: &str) -> HeaderOp {
    HeaderOp::Set(name.into(), value.into())
}

fn vary() -> HeaderOp {
    HeaderOp::Append("vary".into(), "Origin".into())
}

const SITE: &str = r#"{"allow_origins": ["https://app.example.com", "https://*.example.org"],
    "allow_methods": ["GET", "POST"], "allow_headers": ["authorization", "content-type"],
    "expose_headers": ["x-request-id", "ratelimit"], "max_age_s": 600}"#;

const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn preflights_are_answered_or_refused() {
    let site = Policy::Cors(cors(SITE));
    let creds = Policy::Cors(cors(
        r#"{"allow_origins": ["https://app.example.com"], "allow_credentials": true}"#,
    ));
    let any = Policy::Cors(cors(r#"{"allow_origins": ["*"], "allow_headers": ["*"]}"#));
    type Case<'a> = (
        &'a str,
        &'a Policy,
        &'a [(&'static str, &'static str)],
        Result<Vec<(String, String)>, &'a str>,
    );
    let cases: &[Case] = &[
        (
            "allowed, headers normalised",
            &site,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "Content-Type, Authorization",
                ),
            ],
            Ok(pairs(&[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-methods", "GET, POST"),
                (
                    "access-control-allow-headers",
                    "content-type, authorization",
                ),
                ("access-control-max-age", "600"),
                ("vary", PREFLIGHT_VARY),
            ])),
        ),
        (
            "subdomain, no headers asked",
            &site,
            &[
                ("origin", "https://a.example.org"),
                ("access-control-request-method", "GET"),
            ],
            Ok(pairs(&[
                ("access-control-allow-origin", "https://a.example.org"),
                ("access-control-allow-methods", "GET, POST"),
                ("access-control-max-age", "600"),
                ("vary", PREFLIGHT_VARY),
            ])),
        ),
        (
            "look-alike origin",
            &site,
            &[
                ("origin", "https://evil-example.org"),
                ("access-control-request-method", "GET"),
            ],
            Err("origin https://evil-example.org is not allowed"),
        ),
        (
            "suffix attack",
            &site,
            &[
                ("origin", "https://app.example.com.evil.io"),
                ("access-control-request-method", "GET"),
            ],
            Err("origin https://app.example.com.evil.io is not allowed"),
        ),
        (
            "method",
            &site,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "DELETE"),
            ],
            Err("method DELETE is not allowed cross-origin"),
        ),
        (
            "header",
            &site,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "content-type,X-Secret"),
            ],
            Err("header x-secret is not allowed cross-origin"),
        ),
        (
            "credentials, route's methods",
            &creds,
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "PATCH"),
            ],
            Ok(pairs(&[
                ("access-control-allow-origin", "https://app.example.com"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "PATCH"),
                ("vary", PREFLIGHT_VARY),
            ])),
        ),
        (
            "any origin, any header",
            &any,
            &[
                ("origin", "https://x.io"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "x-one, x-two"),
            ],
            Ok(pairs(&[
                ("access-control-allow-origin", "https://x.io"),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-headers", "x-one, x-two"),
                ("vary", PREFLIGHT_VARY),
            ])),
        ),
    ];
    for (name, p, headers, want) in cases {
        let mut effects = Effects::default();
        let got = match check(p, &request("OPTIONS", headers), &mut effects) {
            Verdict::Preflight(h) => Ok(h),
            Verdict::Reject(r) => {
                assert_eq!(r.error, GatewayError::CorsRejected, "case: {name}");
                assert!(r.headers.is_empty(), "case: {name}");
                Err(r.reason)
            }
            other => panic!("case {name}: {other:?}"),
        };
        assert_eq!(got, want.clone().map_err(str::to_owned), "case: {name}");
    }
}

#[test]
fn actual_requests_get_response_headers() {
    let site = Policy::Cors(cors(SITE));
    let creds = Policy::Cors(cors(
        r#"{"allow_origins": ["https://app.example.com"], "allow_credentials": true}"#,
    ));
    let any = Policy::Cors(cors(r#"{"allow_origins": ["*"]}"#));
    let echo = |o: &str| set("access-control-allow-origin", o);
    let expose = set("access-control-expose-headers", "x-request-id, ratelimit");
    let cases: &[(&str, &Policy, &str, Headers, Vec<HeaderOp>)] = &[
        (
            "allowed",
            &site,
            "GET",
            &[("origin", "https://app.example.com")],
            vec![vary(), echo("https://app.example.com"), expose.clone()],
        ),
        (
            "subdomain",
            &site,
            "POST",
            &[("origin", "https://b.example.org")],
            vec![vary(), echo("https://b.example.org"), expose.clone()],
        ),
        (
            "refused origin only varies",
            &site,
            "GET",
            &[("origin", "https://evil.io")],
            vec![vary()],
        ),
        (
            "upper case origin is refused",
            &site,
            "GET",
            &[("origin", "HTTPS://APP.EXAMPLE.COM")],
            vec![vary()],
        ),
        // A response to a request without `Origin` is cached too: it must vary.
        ("no origin still varies", &site, "GET", &[], vec![vary()]),
        (
            "OPTIONS without request-method is not a preflight",
            &site,
            "OPTIONS",
            &[("origin", "https://app.example.com")],
            vec![vary(), echo("https://app.example.com"), expose.clone()],
        ),
        (
            "credentials",
            &creds,
            "GET",
            &[("origin", "https://app.example.com")],
            vec![
                vary(),
                echo("https://app.example.com"),
                set("access-control-allow-credentials", "true"),
            ],
        ),
        // With `*` the answer does not depend on the origin: `*` itself, and no `Vary`.
        (
            "any",
            &any,
            "GET",
            &[("origin", "https://x.io")],
            vec![echo("*")],
        ),
        ("any without origin", &any, "GET", &[], vec![echo("*")]),
    ];
    for (name, p, method, headers, want) in cases {
        let mut effects = Effects::default();
        let verdict = check(p, &request(method, headers), &mut effects);
        assert!(
            matches!(verdict, Verdict::Continue),
            "case {name}: {verdict:?}"
        );
        assert_eq!(&effects.response_ops, want, "case: {name}");
        assert!(effects.request_ops.is_empty(), "case: {name}");
    }
}
