//! The `ip_rules` policy: CIDR blocks (v4, v6, IPv4-mapped), host bits and prefix errors,
//! validation, and allow/deny precedence including an unknown client address.

mod policy_support;

use std::net::IpAddr;

use gateway::context::Effects;
use gateway::policy::ip_rules::Cidr;
use gateway::policy::{Policy, Verdict};
use gateway::problem::GatewayError;
use policy_support::{check, policy, problems, request};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn cidr_blocks_parse_or_say_why_not() {
    let ok: &[(&str, &str, u8)] = &[
        ("203.0.113.0/24", "203.0.113.0", 24),
        ("10.0.0.1", "10.0.0.1", 32),
        ("0.0.0.0/0", "0.0.0.0", 0),
        ("10.0.0.0/08", "10.0.0.0", 8),
        ("2001:db8::/32", "2001:db8::", 32),
        ("::1", "::1", 128),
        ("::/0", "::", 0),
    ];
    for (text, network, prefix) in ok {
        let want = Cidr {
            network: ip(network),
            prefix: *prefix,
        };
        assert_eq!(Cidr::parse(text), Ok(want), "{text}");
    }
    let bad: &[(&str, &str)] = &[
        (
            "10.0.0.1/24",
            "`10.0.0.1/24` has host bits set: write `10.0.0.0/24`",
        ),
        (
            "2001:db8::1/32",
            "`2001:db8::1/32` has host bits set: write `2001:db8::/32`",
        ),
        ("10.0.0.0/33", "`10.0.0.0/33`: prefix length must be 0..=32"),
        ("::/129", "`::/129`: prefix length must be 0..=128"),
        ("10.0.0.0/+8", "`10.0.0.0/+8`: prefix length must be 0..=32"),
        ("10.0.0.0/", "`10.0.0.0/`: prefix length must be 0..=32"),
        ("10.0.0.0/-1", "`10.0.0.0/-1`: prefix length must be 0..=32"),
        (
            "example.com",
            "`example.com` is not an IP address or CIDR block",
        ),
        ("10.0.0/8", "`10.0.0/8` is not an IP address or CIDR block"),
        ("", "`` is not an IP address or CIDR block"),
    ];
    for (text, want) in bad {
        assert_eq!(Cidr::parse(text), Err(want.to_string()), "{text}");
    }
}

#[test]
fn cidr_containment() {
    let cases: &[(&str, &str, bool)] = &[
        ("10.0.0.0/8", "10.1.2.3", true),
        ("10.0.0.0/8", "11.0.0.0", false),
        ("10.0.0.0/8", "::ffff:10.1.2.3", true),
        ("10.0.0.0/8", "::a01:203", false),
        ("203.0.113.7", "203.0.113.7", true),
        ("203.0.113.7", "203.0.113.8", false),
        ("0.0.0.0/0", "198.51.100.1", true),
        ("0.0.0.0/0", "::1", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true),
        ("2001:db8::/32", "2001:db9::", false),
        ("2001:db8::/32", "32.1.13.184", false),
        ("::/0", "2606:4700::1", true),
        ("::/0", "10.0.0.1", false),
    ];
    for (block, addr, want) in cases {
        assert_eq!(
            Cidr::parse(block).unwrap().contains(ip(addr)),
            *want,
            "{block} ∋ {addr}"
        );
    }
}

#[test]
fn ip_rules_validation() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &["needs `allow` or `deny` blocks"]),
        (
            r#"{"allow": [], "deny": []}"#,
            &["needs `allow` or `deny` blocks"],
        ),
        (
            r#"{"allow": ["10.0.0.1/24", "10.0.0.0/8"], "deny": ["nope", "::/200"]}"#,
            &[
                "allow: `10.0.0.1/24` has host bits set: write `10.0.0.0/24`",
                "deny: `nope` is not an IP address or CIDR block",
                "deny: `::/200`: prefix length must be 0..=128",
            ],
        ),
    ];
    for (json, want) in cases {
        assert_eq!(
            problems(&format!(r#"{{"ip_rules": {json}}}"#)),
            *want,
            "{json}"
        );
    }
}

#[test]
fn ip_rules_decide() {
    let allow = policy(r#"{"ip_rules": {"allow": ["10.0.0.0/8", "2001:db8::/32"]}}"#);
    let deny = policy(r#"{"ip_rules": {"deny": ["192.0.2.0/24"]}}"#);
    let both = policy(r#"{"ip_rules": {"allow": ["10.0.0.0/8"], "deny": ["10.0.0.0/24"]}}"#);
    type Case<'a> = (
        &'a str,
        &'a Policy,
        Option<&'static str>,
        Result<(), &'a str>,
    );
    let cases: &[Case] = &[
        ("allowed v4", &allow, Some("10.9.8.7"), Ok(())),
        ("allowed v6", &allow, Some("2001:db8::42"), Ok(())),
        ("allowed, mapped", &allow, Some("::ffff:10.0.0.1"), Ok(())),
        ("padded", &allow, Some(" 10.0.0.1 "), Ok(())),
        (
            "not allowed",
            &allow,
            Some("8.8.8.8"),
            Err("client 8.8.8.8 is in no allowed block"),
        ),
        (
            "unknown client",
            &allow,
            None,
            Err("client address unknown; an allow list refuses it"),
        ),
        (
            "garbage address",
            &allow,
            Some("not-an-ip"),
            Err("client address unknown; an allow list refuses it"),
        ),
        (
            "denied",
            &deny,
            Some("192.0.2.1"),
            Err("client 192.0.2.1 is in denied block 192.0.2.0/24"),
        ),
        (
            "denied, mapped",
            &deny,
            Some("::ffff:192.0.2.1"),
            Err("client ::ffff:192.0.2.1 is in denied block 192.0.2.0/24"),
        ),
        ("not denied", &deny, Some("198.51.100.1"), Ok(())),
        ("deny list, unknown client", &deny, None, Ok(())),
        (
            "deny beats allow",
            &both,
            Some("10.0.0.5"),
            Err("client 10.0.0.5 is in denied block 10.0.0.0/24"),
        ),
        ("allowed outside deny", &both, Some("10.0.1.5"), Ok(())),
        (
            "neither",
            &both,
            Some("11.0.0.1"),
            Err("client 11.0.0.1 is in no allowed block"),
        ),
    ];
    for (name, p, client, want) in cases {
        let Policy::IpRules(rules) = p else {
            unreachable!()
        };
        assert_eq!(
            rules.decide(*client),
            want.map_err(str::to_owned),
            "case: {name}"
        );
        let headers: Vec<(&'static str, &'static str)> = client
            .map(|c| ("cf-connecting-ip", c))
            .into_iter()
            .collect();
        let mut effects = Effects::default();
        match (check(p, &request("GET", &headers), &mut effects), want) {
            (Verdict::Continue, Ok(())) => {}
            (Verdict::Reject(r), Err(reason)) => {
                assert_eq!(
                    (r.error, r.reason.as_str()),
                    (GatewayError::Forbidden, *reason)
                );
            }
            (v, _) => panic!("case {name}: {v:?}"),
        }
        assert_eq!(effects, Effects::default(), "case: {name}");
    }
}
