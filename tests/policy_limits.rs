//! Request limits: `body_limit` (validation, declared lengths, the streamed limit) and
//! `rate_limit` (validation, the gate it hands to the edge, `Window::hit`, header formats).

mod policy_support;

use gateway::context::{Effects, Gate, HeaderOp};
use gateway::policy::rate_limit::{Hit, Window};
use gateway::policy::{Policy, Verdict};
use gateway::problem::{Answer, GatewayError};
use policy_support::{check, policy, problems, request};

#[test]
fn body_limit_validation_and_declared_lengths() {
    let bounds = "is out of bounds (1..=104857600)";
    for bad in [0u64, 104_857_601] {
        let json = format!(r#"{{"body_limit": {{"max_bytes": {bad}}}}}"#);
        assert_eq!(problems(&json), [format!("max_bytes = {bad} {bounds}")]);
    }
    policy(r#"{"body_limit": {"max_bytes": 104857600}}"#);
    let Policy::BodyLimit(limit) = policy(r#"{"body_limit": {"max_bytes": 100}}"#) else {
        unreachable!()
    };
    let cases: &[(Option<&str>, Result<(), &str>)] = &[
        (None, Ok(())),
        (Some("0"), Ok(())),
        (Some("100"), Ok(())),
        (Some(" 99 "), Ok(())),
        (
            Some("101"),
            Err("Content-Length 101 is above the limit of 100 bytes"),
        ),
        (Some("abc"), Err("Content-Length is not a number")),
        (Some("-1"), Err("Content-Length is not a number")),
        (Some("10, 10"), Err("Content-Length is not a number")),
    ];
    for (declared, want) in cases {
        assert_eq!(
            limit.decide(*declared),
            want.map_err(str::to_owned),
            "{declared:?}"
        );
    }
}

#[test]
fn body_limit_check() {
    let small = policy(r#"{"body_limit": {"max_bytes": 100}}"#);
    let large = policy(r#"{"body_limit": {"max_bytes": 5000}}"#);
    let mut effects = Effects::default();
    let v = check(
        &small,
        &request("POST", &[("content-length", "101")]),
        &mut effects,
    );
    let Verdict::Reject(r) = v else {
        panic!("{v:?}")
    };
    assert_eq!(r.error, GatewayError::PayloadTooLarge);
    assert_eq!(effects, Effects::default());
    // A declared length within the limit needs no counting.
    check(
        &small,
        &request("POST", &[("content-length", "100")]),
        &mut effects,
    );
    assert_eq!(effects.max_body, None);
    // An undeclared length is counted against the smallest limit, named by its policy.
    check(&large, &request("POST", &[]), &mut effects);
    assert_eq!(effects.max_body, Some((5000, "p".to_owned())));
    check(&small, &request("POST", &[]), &mut effects);
    assert_eq!(effects.max_body, Some((100, "p".to_owned())));
    check(&large, &request("POST", &[]), &mut effects);
    assert_eq!(effects.max_body, Some((100, "p".to_owned())));
}

#[test]
fn rate_limit_validation() {
    let base = r#""limit": 10, "period_s": 60, "store": "binding", "binding": "RL""#;
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{"key": "ip", "limit": 0, "period_s": 60, "store": "binding", "binding": "RL"}"#,
            &["limit must be at least 1"],
        ),
        (
            r#"{"key": "ip", "limit": 1, "period_s": 30, "store": "binding", "binding": "RL"}"#,
            &["period_s = 30 is not supported by the Rate Limiting binding (10 or 60)"],
        ),
        (
            r#"{"key": "ip", "limit": 1, "period_s": 0, "store": "durable_object", "binding": "RL"}"#,
            &["period_s = 0 is out of bounds (1..=86400)"],
        ),
        (
            r#"{"key": "ip", "limit": 1, "period_s": 86401, "store": "durable_object", "binding": "RL"}"#,
            &["period_s = 86401 is out of bounds (1..=86400)"],
        ),
        (
            r#"{"key": "ip", "limit": 1, "period_s": 10, "store": "binding", "binding": ""}"#,
            &["binding must name a binding in wrangler.toml"],
        ),
        (
            &format!(r#"{{"key": "header", {base}}}"#),
            &["key = \"header\" needs `header`"],
        ),
        (
            &format!(r#"{{"key": "ip", "header": "x-a", {base}}}"#),
            &["`header` is only for key = \"header\""],
        ),
        (
            &format!(r#"{{"key": "header", "header": "X-Tenant", {base}}}"#),
            &["header: `X-Tenant` is not a lower-case header name"],
        ),
        (
            r#"{"key": "route", "limit": 0, "period_s": 61, "store": "binding", "binding": "", "header": "x"}"#,
            &[
                "limit must be at least 1",
                "period_s = 61 is not supported by the Rate Limiting binding (10 or 60)",
                "binding must name a binding in wrangler.toml",
                "`header` is only for key = \"header\"",
            ],
        ),
    ];
    for (json, want) in cases {
        assert_eq!(
            problems(&format!(r#"{{"rate_limit": {json}}}"#)),
            *want,
            "{json}"
        );
    }
    policy(
        r#"{"rate_limit": {"key": "route", "limit": 1, "period_s": 86400, "store": "durable_object", "binding": "RL"}}"#,
    );
}

fn limiter(key: &str, extra: &str, store: &str, period: u64) -> Policy {
    policy(&format!(
        r#"{{"rate_limit": {{"key": "{key}", {extra} "limit": 10, "period_s": {period}, "store": "{store}", "binding": "RL"}}}}"#
    ))
}

#[test]
fn rate_limits_hand_a_gate_to_the_edge() {
    let headers: &[(&str, &str)] = &[("cf-connecting-ip", "2001:DB8::9"), ("x-tenant", "Acme")];
    // (case, policy, consumer, key, store, log only)
    type Case<'a> = (&'a str, Policy, Option<&'a str>, &'a str, &'a str, bool);
    let cases: &[Case] = &[
        (
            "consumer",
            limiter("consumer", "", "binding", 60),
            Some("Alice"),
            "p|consumer|Alice",
            "binding",
            false,
        ),
        (
            "no consumer: one shared budget",
            limiter("consumer", "", "binding", 60),
            None,
            "p|consumer|-",
            "binding",
            false,
        ),
        (
            "ip",
            limiter("ip", "", "durable_object", 60),
            None,
            "p|ip|2001:db8::9",
            "object",
            false,
        ),
        (
            "header",
            limiter("header", r#""header": "x-tenant","#, "binding", 60),
            None,
            "p|header|Acme",
            "binding",
            false,
        ),
        (
            "route",
            limiter("route", r#""action": "log","#, "binding", 60),
            None,
            "p|route|r",
            "binding",
            true,
        ),
    ];
    for (name, p, consumer, key, store, log_only) in cases {
        let mut effects = Effects {
            consumer: consumer.map(str::to_owned),
            ..Effects::default()
        };
        let v = check(p, &request("GET", headers), &mut effects);
        assert!(matches!(v, Verdict::Continue), "case {name}: {v:?}");
        let policy_header = "\"p\";q=10;w=60";
        assert_eq!(
            effects.response_ops,
            [HeaderOp::Append(
                "ratelimit-policy".into(),
                policy_header.into()
            )],
            "case: {name}"
        );
        let reject = Answer::problem(GatewayError::RateLimited, "req-1").with("retry-after", "60");
        assert_eq!(reject.status, 429);
        let want = Gate {
            policy: "p".into(),
            store,
            binding: "RL".into(),
            key: key.to_string(),
            limit: 10,
            period_s: 60,
            log_only: *log_only,
            reject,
        };
        assert_eq!(effects.gates, [want], "case: {name}");
    }
}

#[test]
fn window_counts_fixed_windows() {
    // (now_ms, allowed, remaining, reset_s) for limit 2 per 10 s.
    let steps: &[(u64, bool, u64, u64)] = &[
        (1_000, true, 1, 9),
        (2_000, true, 0, 8),
        (3_000, false, 0, 7),
        (9_999, false, 0, 1),
        (10_000, true, 1, 10),
        (19_999, true, 0, 1),
        (19_999, false, 0, 1),
        (20_000, true, 1, 10),
        (95_500, true, 1, 5),
    ];
    let mut w = Window::default();
    for &(now, allowed, remaining, reset_s) in steps {
        let hit = w.hit(now, 2, 10);
        assert_eq!(
            hit,
            Hit {
                allowed,
                remaining,
                reset_s
            },
            "at {now}"
        );
    }
    assert_eq!(
        w,
        Window {
            start_ms: 90_000,
            count: 1
        }
    );
    // A clock that went back starts a new window rather than underflowing.
    let mut w = Window {
        start_ms: 50_000,
        count: 5,
    };
    assert_eq!(
        w.hit(40_000, 5, 10),
        Hit {
            allowed: true,
            remaining: 4,
            reset_s: 10
        }
    );
    // A zero period counts per second.
    let mut w = Window::default();
    assert_eq!(
        w.hit(1_500, 1, 0),
        Hit {
            allowed: true,
            remaining: 0,
            reset_s: 1
        }
    );
}

#[test]
fn rate_limit_header_formats() {
    let Policy::RateLimit(rl) = limiter("ip", "", "binding", 10) else {
        unreachable!()
    };
    assert_eq!(rl.policy_header("per-ip"), "\"per-ip\";q=10;w=10");
    let hit = Hit {
        allowed: true,
        remaining: 7,
        reset_s: 42,
    };
    assert_eq!(hit.header("per-ip"), "\"per-ip\";r=7;t=42");
}
