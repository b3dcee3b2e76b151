//! Conditional routes: a route's `when` — header, cookie and query tests a request must all
//! pass for the route to serve it — as written ([`WhenSpec`]), validated ([`When`]), evaluated
//! against a [`RequestContext`], and [`disjoint`], which tells whether two routes on one path
//! can never both match (otherwise they are ambiguous).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::context::RequestContext;

/// `when = { header = { … }, cookie = { … }, query = { … } }` as written: every test listed
/// must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenSpec {
    /// Request header (lower-case name) → test.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, MatchSpec>,
    /// Cookie name → test.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cookie: BTreeMap<String, MatchSpec>,
    /// Query parameter name → test of its percent-decoded value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, MatchSpec>,
}

/// A test of one value: a string (exact), `{ prefix = "…" }` or `{ present = true }`.
///
/// Deserialised by hand rather than with `#[serde(untagged)]`, which would buffer every value
/// through serde's generic content type and add kilobytes to the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MatchSpec {
    /// The value equals this text.
    Exact(String),
    /// The value starts with this text.
    Prefix {
        /// The text.
        prefix: String,
    },
    /// The value is there (any value, even empty); only `true` is accepted.
    Present {
        /// Must be `true`.
        present: bool,
    },
}

impl<'de> Deserialize<'de> for MatchSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = MatchSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a value, { prefix = "…" } or { present = true }"#)
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<MatchSpec, E> {
                Ok(MatchSpec::Exact(value.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MatchSpec, A::Error> {
                const FIELDS: &[&str] = &["prefix", "present"];
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let spec = match key.as_str() {
                        "prefix" => MatchSpec::Prefix {
                            prefix: map.next_value()?,
                        },
                        "present" => MatchSpec::Present {
                            present: map.next_value()?,
                        },
                        other => return Err(serde::de::Error::unknown_field(other, FIELDS)),
                    };
                    if found.replace(spec).is_some() {
                        return Err(serde::de::Error::custom(
                            "give one of `prefix` or `present`, not both",
                        ));
                    }
                }
                found.ok_or_else(|| serde::de::Error::custom("needs `prefix` or `present`"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Where a tested value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
    /// A query parameter (its value percent-decoded, `+` as a space).
    Query,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Cookie => "cookie",
            Self::Query => "query",
        }
    }
}

/// A validated value test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Equal to this text.
    Exact(Box<str>),
    /// Starts with this (non-empty) text.
    Prefix(Box<str>),
    /// There, with any value.
    Present,
}

impl Match {
    fn holds(&self, value: Option<&str>) -> bool {
        match (self, value) {
            (_, None) => false,
            (Self::Exact(want), Some(v)) => v == &**want,
            (Self::Prefix(prefix), Some(v)) => v.starts_with(&**prefix),
            (Self::Present, Some(_)) => true,
        }
    }

    /// Whether one value can pass both tests.
    fn compatible(&self, other: &Match) -> bool {
        match (self, other) {
            (Self::Present, _) | (_, Self::Present) => true,
            (Self::Exact(a), Self::Exact(b)) => a == b,
            (Self::Exact(e), Self::Prefix(p)) | (Self::Prefix(p), Self::Exact(e)) => {
                e.starts_with(&**p)
            }
            (Self::Prefix(a), Self::Prefix(b)) => a.starts_with(&**b) || b.starts_with(&**a),
        }
    }
}

/// One test: where the value comes from, its name, and what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Test {
    source: Source,
    name: Box<str>,
    value: Match,
}

/// A validated `when`: at least one test, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    tests: Box<[Test]>,
}

impl WhenSpec {
    /// The validated conditions, or every problem (each naming its field).
    pub fn validate(&self) -> Result<When, Vec<String>> {
        let mut problems = Vec::new();
        let mut tests = Vec::new();
        for (source, map) in [
            (Source::Header, &self.header),
            (Source::Cookie, &self.cookie),
            (Source::Query, &self.query),
        ] {
            for (name, spec) in map {
                let field = format!("when.{} `{name}`", source.name());
                if let Some(why) = bad_name(source, name) {
                    problems.push(format!("{field}: {why}"));
                }
                let value = match spec {
                    MatchSpec::Exact(text) => Match::Exact(text.as_str().into()),
                    MatchSpec::Prefix { prefix } if prefix.is_empty() => {
                        problems.push(format!(
                            "{field}: prefix must not be empty (to require the {} at all, write {{ present = true }})",
                            source.name()
                        ));
                        continue;
                    }
                    MatchSpec::Prefix { prefix } => Match::Prefix(prefix.as_str().into()),
                    MatchSpec::Present { present: true } => Match::Present,
                    MatchSpec::Present { present: false } => {
                        problems.push(format!(
                            "{field}: present = false is not supported (a route without this condition already serves requests without the {})",
                            source.name()
                        ));
                        continue;
                    }
                };
                tests.push(Test {
                    source,
                    name: name.as_str().into(),
                    value,
                });
            }
        }
        if self.header.is_empty() && self.cookie.is_empty() && self.query.is_empty() {
            problems.push(
                "`when` lists no condition (leave it out for a route without conditions)".into(),
            );
        }
        if problems.is_empty() {
            Ok(When {
                tests: tests.into(),
            })
        } else {
            Err(problems)
        }
    }
}

/// Why `name` cannot be tested in `source`, if it cannot.
fn bad_name(source: Source, name: &str) -> Option<&'static str> {
    let token = !name.is_empty() && name.bytes().all(is_token_byte);
    match source {
        Source::Header if !token || name.bytes().any(|b| b.is_ascii_uppercase()) => {
            Some("the name must be a lower-case header name")
        }
        Source::Cookie if !token => Some("the name must be a cookie name (a token)"),
        Source::Query
            if name.is_empty()
                || name
                    .bytes()
                    .any(|b| !b.is_ascii_graphic() || b"&=#+%".contains(&b)) =>
        {
            Some("the name must be printable ASCII without `&`, `=`, `#`, `+` or `%`")
        }
        _ => None,
    }
}

/// Whether `b` may appear in an HTTP token (a header or cookie name).
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl When {
    /// Whether every test holds for `request`.
    pub fn holds(&self, request: &RequestContext) -> bool {
        self.tests.iter().all(|t| match t.source {
            Source::Header => t.value.holds(request.header(&t.name).as_deref()),
            Source::Cookie => t.value.holds(request.cookie(&t.name).as_deref()),
            Source::Query => t
                .value
                .holds(request.query_param(&t.name).map(decode_query).as_deref()),
        })
    }

    /// The tests, as (source, name, test), in source then name order.
    pub fn tests(&self) -> impl Iterator<Item = (Source, &str, &Match)> {
        self.tests.iter().map(|t| (t.source, &*t.name, &t.value))
    }
}

/// Whether no request can meet both `a` and `b`: some value both test cannot pass both tests
/// (two different exact values; an exact value and a prefix it does not start with; two
/// prefixes neither of which starts with the other). `false` means they may overlap.
pub fn disjoint(a: &When, b: &When) -> bool {
    a.tests.iter().any(|x| {
        b.tests
            .iter()
            .any(|y| x.source == y.source && x.name == y.name && !x.value.compatible(&y.value))
    })
}

/// A query value percent-decoded, `+` as a space; a `%` not followed by two hex digits stays
/// as it is, and bytes that are not UTF-8 become U+FFFD.
pub fn decode_query(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for MatchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(v) => write!(f, "= {v:?}"),
            Self::Prefix { prefix } => write!(f, "starts with {prefix:?}"),
            Self::Present { present: true } => f.write_str("present"),
            Self::Present { present: false } => f.write_str("absent"),
        }
    }
}

impl fmt::Display for WhenSpec {
    /// `header x-beta = "1", cookie beta present`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = [
            ("header", &self.header),
            ("cookie", &self.cookie),
            ("query", &self.query),
        ];
        let mut first = true;
        for (source, map) in all {
            for (name, test) in map {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                write!(f, "{source} {name} {test}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml_like: &[(Source, &str, MatchSpec)]) -> WhenSpec {
        let mut spec = WhenSpec::default();
        for (source, name, test) in toml_like {
            let map = match source {
                Source::Header => &mut spec.header,
                Source::Cookie => &mut spec.cookie,
                Source::Query => &mut spec.query,
            };
            map.insert((*name).into(), test.clone());
        }
        spec
    }

    fn exact(v: &str) -> MatchSpec {
        MatchSpec::Exact(v.into())
    }

    fn prefix(v: &str) -> MatchSpec {
        MatchSpec::Prefix { prefix: v.into() }
    }

    const PRESENT: MatchSpec = MatchSpec::Present { present: true };

    fn request(query: &str, headers: Vec<(&'static str, &'static str)>) -> RequestContext {
        RequestContext::new(
            format!("https://gw.test/api/orders{query}"),
            "GET".into(),
            "r".into(),
            0.0,
            Box::new(headers),
        )
        .expect("absolute URL")
    }

    #[test]
    fn parses_the_three_shapes_and_refuses_others() {
        let parsed: WhenSpec = serde_json::from_str(
            r#"{"header":{"x-beta":"1","x-client":{"prefix":"ios/"}},"cookie":{"beta":{"present":true}}}"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            spec(&[
                (Source::Header, "x-beta", exact("1")),
                (Source::Header, "x-client", prefix("ios/")),
                (Source::Cookie, "beta", PRESENT),
            ])
        );
        // Serialises back to the same shapes.
        assert_eq!(
            serde_json::from_str::<WhenSpec>(&serde_json::to_string(&parsed).unwrap()).unwrap(),
            parsed
        );
        for (bad, why) in [
            (
                r#"{"header":{"a":{"suffix":"x"}}}"#,
                "unknown field `suffix`",
            ),
            (r#"{"header":{"a":{}}}"#, "needs `prefix` or `present`"),
            (
                r#"{"header":{"a":{"prefix":"x","present":true}}}"#,
                "not both",
            ),
            (r#"{"header":{"a":1}}"#, "a value, { prefix"),
            (r#"{"path":{"a":"1"}}"#, "unknown field `path`"),
        ] {
            let e = serde_json::from_str::<WhenSpec>(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn validation_names_each_problem() {
        let cases: &[(WhenSpec, &[&str])] = &[
            (
                spec(&[(Source::Header, "x-beta", exact("1"))]),
                &[],
            ),
            (
                WhenSpec::default(),
                &["`when` lists no condition (leave it out for a route without conditions)"],
            ),
            (
                spec(&[(Source::Header, "X-Beta", exact("1"))]),
                &["when.header `X-Beta`: the name must be a lower-case header name"],
            ),
            (
                spec(&[(Source::Cookie, "a b", PRESENT)]),
                &["when.cookie `a b`: the name must be a cookie name (a token)"],
            ),
            (
                spec(&[(Source::Query, "a&b", exact("1"))]),
                &["when.query `a&b`: the name must be printable ASCII without `&`, `=`, `#`, `+` or `%`"],
            ),
            (
                spec(&[(Source::Header, "x-client", prefix(""))]),
                &["when.header `x-client`: prefix must not be empty (to require the header at all, write { present = true })"],
            ),
            (
                spec(&[(Source::Cookie, "beta", MatchSpec::Present { present: false })]),
                &["when.cookie `beta`: present = false is not supported (a route without this condition already serves requests without the cookie)"],
            ),
        ];
        for (spec, want) in cases {
            let got = spec.validate().err().unwrap_or_default();
            assert_eq!(got, *want, "{spec:?}");
        }
    }

    #[test]
    fn evaluates_headers_cookies_and_decoded_queries() {
        let when = spec(&[
            (Source::Header, "x-beta", exact("1")),
            (Source::Header, "x-client", prefix("ios/")),
            (Source::Cookie, "beta", PRESENT),
            (Source::Query, "v", exact("2 b/é")),
        ])
        .validate()
        .unwrap();
        let all: Vec<(&'static str, &'static str)> = vec![
            ("X-Beta", "1"),
            ("x-client", "ios/17.2"),
            ("cookie", "a=1; beta=; c=3"),
        ];
        let without = |name: &str| -> Vec<(&'static str, &'static str)> {
            all.iter()
                .copied()
                .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
                .collect()
        };
        let query = "?x=1&v=2+b%2F%C3%A9";
        let cases: Vec<(&str, RequestContext, bool)> = vec![
            ("all hold", request(query, all.clone()), true),
            ("header missing", request(query, without("x-beta")), false),
            (
                "header differs",
                request(query, [without("x-beta"), vec![("x-beta", "10")]].concat()),
                false,
            ),
            (
                "prefix differs",
                request(
                    query,
                    [without("x-client"), vec![("x-client", "android/1")]].concat(),
                ),
                false,
            ),
            ("cookie missing", request(query, without("cookie")), false),
            ("query missing", request("?x=1", all.clone()), false),
            ("query raw", request("?v=2+b/é", all.clone()), true),
            ("query differs", request("?v=2", all.clone()), false),
        ];
        for (what, request, want) in cases {
            assert_eq!(when.holds(&request), want, "{what}");
        }
        let present = spec(&[(Source::Query, "debug", PRESENT)])
            .validate()
            .unwrap();
        assert!(present.holds(&request("?debug", vec![])));
        assert!(!present.holds(&request("?debugger=1", vec![])));
    }

    #[test]
    fn disjoint_only_when_one_key_cannot_pass_both() {
        use Source::*;
        let w = |tests: &[(Source, &str, MatchSpec)]| spec(tests).validate().unwrap();
        type Tests<'a> = &'a [(Source, &'a str, MatchSpec)];
        let cases: &[(Tests, Tests, bool)] = &[
            (
                &[(Header, "x", exact("1"))],
                &[(Header, "x", exact("2"))],
                true,
            ),
            (
                &[(Header, "x", exact("1"))],
                &[(Header, "x", exact("1"))],
                false,
            ),
            (
                &[(Header, "x", exact("ios/1"))],
                &[(Header, "x", prefix("ios/"))],
                false,
            ),
            (
                &[(Header, "x", exact("web"))],
                &[(Header, "x", prefix("ios/"))],
                true,
            ),
            (
                &[(Header, "x", prefix("ios/"))],
                &[(Header, "x", prefix("ios/17"))],
                false,
            ),
            (
                &[(Header, "x", prefix("ios/"))],
                &[(Header, "x", prefix("android/"))],
                true,
            ),
            (
                &[(Header, "x", PRESENT)],
                &[(Header, "x", exact("1"))],
                false,
            ),
            // Different keys, or the same name from another source, may both hold.
            (
                &[(Header, "x", exact("1"))],
                &[(Header, "y", exact("2"))],
                false,
            ),
            (
                &[(Header, "x", exact("1"))],
                &[(Cookie, "x", exact("2"))],
                false,
            ),
            // One differing key among several is enough.
            (
                &[(Header, "x", exact("1")), (Query, "v", exact("2"))],
                &[(Query, "v", exact("3")), (Cookie, "c", PRESENT)],
                true,
            ),
        ];
        for (a, b, want) in cases {
            let (a, b) = (w(a), w(b));
            assert_eq!(disjoint(&a, &b), *want, "{a:?} / {b:?}");
            assert_eq!(disjoint(&b, &a), *want, "symmetric: {a:?} / {b:?}");
        }
    }

    #[test]
    fn query_values_are_decoded() {
        for (raw, want) in [
            ("a+b", "a b"),
            ("%41%2f%2F", "A//"),
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("%C3%A9", "é"),
            ("%FF", "\u{fffd}"),
        ] {
            assert_eq!(decode_query(raw), want, "{raw}");
        }
    }

    #[test]
    fn displays_for_diffs() {
        let s = spec(&[
            (Source::Header, "x-beta", exact("1")),
            (Source::Cookie, "beta", PRESENT),
            (Source::Query, "v", prefix("2")),
        ]);
        assert_eq!(
            s.to_string(),
            r#"header x-beta = "1", cookie beta present, query v starts with "2""#
        );
    }
}
