//! Traffic splits: a route's `split` sends a sticky share of its requests to other upstreams
//! — as written ([`SplitSpec`]), validated into bucket ranges ([`Split`]), and the decision
//! ([`Split::choose`]) of which upstream serves a request.
//!
//! Each key (consumer, client IP, a header or a cookie) hashes into one of
//! [`BUCKETS`](super::sticky::BUCKETS) buckets with salt [`SALT`], the same on every route, so
//! one user is on the same side of every route of a migration. The sides take ranges from the
//! top of the bucket range down, in name order; the route's own upstream keeps the bottom.
//! Raising the share of a route's only side therefore only moves keys into it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::sticky::{basis_points, bucket, random_bucket, Sticky, BUCKETS};
use super::when::is_token_byte;
use crate::context::RequestContext;

/// The salt of split buckets (a canary uses another, so the two choices are independent).
pub const SALT: &str = "split";

/// A share in percent (0 < p ≤ 100, at most two decimals once validated), as written.
/// Compared by its bits, so a document that holds one still has `Eq`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(transparent)]
pub struct Percent(pub f64);

impl PartialEq for Percent {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Percent {}

impl Serialize for Percent {
    /// Whole percentages as integers (`10`, not `10.0`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        if p.fract() == 0.0 && (0.0..=1e15).contains(&p) {
            s.serialize_u64(p as u64)
        } else {
            s.serialize_f64(p)
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `split = { to = { orders-v2 = 10 }, sticky = "consumer", override_header = "x-gateway-split" }`
/// as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// Upstream → percent of the route's requests it gets; the route's own upstream gets the
    /// rest.
    pub to: BTreeMap<String, Percent>,
    /// What keeps a user on one side: `consumer`, `ip`, `header:NAME` or `cookie:NAME`;
    /// default `ip`. A request without that value is keyed by its client IP, then at random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<String>,
    /// A request header naming the upstream to use (the route's own or a side), overriding
    /// the split; any other value is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_header: Option<String>,
}

/// One upstream of a split and its bucket range `from..from + share`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Side {
    name: Box<str>,
    /// Index of the upstream in the table.
    upstream: usize,
    /// The lowest bucket it gets.
    from: u32,
    /// How many buckets (basis points).
    share: u32,
}

/// A validated split: the route's own upstream at the bottom of the bucket range, the sides
/// above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    primary: Side,
    /// From the top of the range down, in name order.
    sides: Box<[Side]>,
    sticky: Sticky,
    override_header: Option<Box<str>>,
}

impl SplitSpec {
    /// The validated split of a route whose upstream is `primary`, or every problem (each
    /// naming its field). `upstream` finds an upstream's index in the table; `authenticates`
    /// says whether the route runs an authentication policy (`sticky = "consumer"` needs one).
    /// An unknown `primary` is reported on the route, not here.
    pub fn validate(
        &self,
        primary: &str,
        upstream: impl Fn(&str) -> Option<usize>,
        authenticates: bool,
    ) -> Result<Split, Vec<String>> {
        let mut problems = Vec::new();
        if self.to.is_empty() {
            problems.push("split.to lists no upstream".to_owned());
        }
        let mut sides = Vec::with_capacity(self.to.len());
        let mut top = BUCKETS;
        for (name, &percent) in &self.to {
            let field = format!("split.to.{name}");
            if name == primary {
                problems.push(format!(
                    "{field}: `{name}` is the route's own upstream, which gets the share the others leave"
                ));
                continue;
            }
            let index = upstream(name);
            if index.is_none() {
                problems.push(format!("{field}: unknown upstream `{name}`"));
            }
            let share = match basis_points(percent.0) {
                Ok(0) => {
                    problems.push(format!("{field} = 0: a share must be above 0"));
                    continue;
                }
                Ok(bp) => bp,
                Err(why) => {
                    problems.push(format!("{field}: {why}"));
                    continue;
                }
            };
            let from = top.saturating_sub(share);
            top = from;
            sides.push(Side {
                name: name.as_str().into(),
                upstream: index.unwrap_or(usize::MAX),
                from,
                share,
            });
        }
        let total: u32 = sides.iter().map(|s| s.share).sum();
        if total > BUCKETS {
            problems.push(format!(
                "split.to: the shares add up to {}%, more than 100%",
                percent_text(total)
            ));
        }
        let sticky = match self.sticky.as_deref().map(Sticky::parse) {
            None => Sticky::Ip,
            Some(Ok(sticky)) => sticky,
            Some(Err(why)) => {
                problems.push(format!("split.sticky: {why}"));
                Sticky::Ip
            }
        };
        if sticky == Sticky::Consumer && !authenticates {
            problems.push(
                "split.sticky = \"consumer\" needs an authentication policy on the route (api_key, jwt or access)"
                    .to_owned(),
            );
        }
        if let Some(header) = &self.override_header {
            let ok = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| is_token_byte(b) && !b.is_ascii_uppercase());
            if !ok {
                problems.push(format!(
                    "split.override_header `{header}` must be a lower-case header name"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Split {
            primary: Side {
                name: primary.into(),
                upstream: upstream(primary).unwrap_or(usize::MAX),
                from: 0,
                share: BUCKETS - total,
            },
            sides: sides.into(),
            sticky,
            override_header: self.override_header.as_deref().map(Into::into),
        })
    }
}

/// Basis points as a percentage without trailing zeros (`1050` → `10.5`).
fn percent_text(bp: u32) -> String {
    let text = format!("{}.{:02}", bp / 100, bp % 100);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Split {
    /// The index (in the table) of the upstream for a request in `bucket`; `override_value`
    /// is the override header's value, used when it names one of the split's upstreams.
    pub fn choose(&self, bucket: u32, override_value: Option<&str>) -> usize {
        if let Some(wanted) = override_value.map(str::trim) {
            if let Some(side) = self.all().find(|s| &*s.name == wanted) {
                return side.upstream;
            }
        }
        self.sides
            .iter()
            .find(|s| bucket >= s.from)
            .map_or(self.primary.upstream, |s| s.upstream)
    }

    /// [`choose`](Self::choose) for a request: its bucket from the sticky key's value (else
    /// the client IP, else `random` in `[0, 1)`), its override header's value. `consumer` is
    /// who authentication established, if anyone.
    pub fn choose_for(
        &self,
        request: &RequestContext,
        consumer: Option<&str>,
        random: f64,
    ) -> usize {
        let key = self
            .sticky
            .value(request, consumer)
            .or_else(|| request.client_ip.clone());
        let bucket = key.map_or_else(|| random_bucket(random), |k| bucket(SALT, &k));
        let wanted = self
            .override_header
            .as_deref()
            .and_then(|h| request.header(h));
        self.choose(bucket, wanted.as_deref())
    }

    /// What keeps a user on one side.
    pub fn sticky(&self) -> &Sticky {
        &self.sticky
    }

    /// The override header's name, if the split has one.
    pub fn override_header(&self) -> Option<&str> {
        self.override_header.as_deref()
    }

    /// Every upstream of the split — the route's own first, then the sides in name order —
    /// as (index in the table, share in basis points).
    pub fn shares(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.all().map(|s| (s.upstream, s.share))
    }

    fn all(&self) -> impl Iterator<Item = &Side> {
        std::iter::once(&self.primary).chain(self.sides.iter())
    }
}

impl fmt::Display for SplitSpec {
    /// `orders-v2 10%, sticky consumer, override x-gateway-split`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to: Vec<String> = self.to.iter().map(|(n, p)| format!("{n} {p}%")).collect();
        f.write_str(&to.join(", "))?;
        write!(f, ", sticky {}", self.sticky.as_deref().unwrap_or("ip"))?;
        if let Some(header) = &self.override_header {
            write!(f, ", override {header}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Upstreams in name order, as the table holds them.
    const UPSTREAMS: [&str; 4] = ["a", "orders", "orders-v2", "z"];

    fn index(name: &str) -> Option<usize> {
        UPSTREAMS.iter().position(|u| *u == name)
    }

    fn spec(to: &[(&str, f64)], sticky: Option<&str>, header: Option<&str>) -> SplitSpec {
        SplitSpec {
            to: to
                .iter()
                .map(|(n, p)| (n.to_string(), Percent(*p)))
                .collect(),
            sticky: sticky.map(Into::into),
            override_header: header.map(Into::into),
        }
    }

    fn split(to: &[(&str, f64)]) -> Split {
        spec(to, Some("header:x-user-id"), Some("x-gateway-split"))
            .validate("orders", index, false)
            .unwrap()
    }

    fn request(headers: Vec<(&'static str, &'static str)>) -> RequestContext {
        RequestContext::new(
            "https://gw.test/api/orders/1".into(),
            "GET".into(),
            "r".into(),
            0.0,
            Box::new(headers),
        )
        .unwrap()
    }

    const PRIMARY: usize = 1;
    const V2: usize = 2;

    #[test]
    fn validation_names_each_problem() {
        let cases: Vec<(SplitSpec, bool, Vec<&str>)> = vec![
            (spec(&[("orders-v2", 10.0)], None, None), false, vec![]),
            (spec(&[("orders-v2", 100.0)], Some("consumer"), None), true, vec![]),
            (spec(&[], None, None), false, vec!["split.to lists no upstream"]),
            (
                spec(&[("orders", 10.0)], None, None),
                false,
                vec!["split.to.orders: `orders` is the route's own upstream, which gets the share the others leave"],
            ),
            (
                spec(&[("nope", 10.0)], None, None),
                false,
                vec!["split.to.nope: unknown upstream `nope`"],
            ),
            (
                spec(&[("orders-v2", 0.0)], None, None),
                false,
                vec!["split.to.orders-v2 = 0: a share must be above 0"],
            ),
            (
                spec(&[("orders-v2", 0.125)], None, None),
                false,
                vec!["split.to.orders-v2: 0.125 is not a percentage from 0 to 100 with at most two decimals"],
            ),
            (
                spec(&[("orders-v2", 60.0), ("z", 50.5)], None, None),
                false,
                vec!["split.to: the shares add up to 110.5%, more than 100%"],
            ),
            (
                spec(&[("orders-v2", 10.0)], Some("user"), None),
                false,
                vec!["split.sticky: `user` is not a sticky key (consumer, ip, header:NAME or cookie:NAME)"],
            ),
            (
                spec(&[("orders-v2", 10.0)], Some("consumer"), None),
                false,
                vec!["split.sticky = \"consumer\" needs an authentication policy on the route (api_key, jwt or access)"],
            ),
            (
                spec(&[("orders-v2", 10.0)], None, Some("X-Split")),
                false,
                vec!["split.override_header `X-Split` must be a lower-case header name"],
            ),
        ];
        for (spec, authenticates, want) in cases {
            let got = spec
                .validate("orders", index, authenticates)
                .err()
                .unwrap_or_default();
            assert_eq!(got, want, "{spec:?}");
        }
    }

    #[test]
    fn sides_take_the_top_in_name_order() {
        let s = split(&[("z", 10.0), ("a", 5.0)]);
        assert_eq!(
            s.shares().collect::<Vec<_>>(),
            [(1, 8_500), (0, 500), (3, 1_000)]
        );
        for (bucket, want) in [
            (0, PRIMARY),
            (8_499, PRIMARY),
            (8_500, 3),
            (9_499, 3),
            (9_500, 0),
            (9_999, 0),
        ] {
            assert_eq!(s.choose(bucket, None), want, "bucket {bucket}");
        }
        // 100%: every bucket goes to the side.
        let all = split(&[("orders-v2", 100.0)]);
        assert!((0..BUCKETS).all(|b| all.choose(b, None) == V2));
    }

    #[test]
    fn ten_percent_of_keys_within_one_point() {
        let s = split(&[("orders-v2", 10.0)]);
        let to_v2 = (0..10_000)
            .filter(|i| s.choose(bucket(SALT, &format!("user-{i}")), None) == V2)
            .count();
        assert!((900..=1_100).contains(&to_v2), "{to_v2} of 10000");
    }

    #[test]
    fn raising_a_share_moves_no_key_back_to_the_primary() {
        let (ten, twenty) = (split(&[("orders-v2", 10.0)]), split(&[("orders-v2", 20.0)]));
        let mut moved_in = 0;
        for i in 0..10_000 {
            let b = bucket(SALT, &format!("user-{i}"));
            match (ten.choose(b, None), twenty.choose(b, None)) {
                (V2, after) => assert_eq!(after, V2, "user-{i} left the side"),
                (PRIMARY, V2) => moved_in += 1,
                _ => {}
            }
        }
        assert!((800..=1_200).contains(&moved_in), "{moved_in}");
    }

    #[test]
    fn the_override_header_picks_any_upstream_of_the_split() {
        let s = split(&[("orders-v2", 10.0)]);
        let low = 0; // the primary's bucket
        for (value, want) in [
            (Some("orders-v2"), V2),
            (Some(" orders-v2 "), V2),
            (Some("orders"), PRIMARY),
            (Some("z"), PRIMARY), // an upstream, but not of this split: ignored
            (Some("ORDERS-V2"), PRIMARY),
            (None, PRIMARY),
        ] {
            assert_eq!(s.choose(low, value), want, "{value:?}");
        }
        assert_eq!(s.choose(9_999, Some("orders")), PRIMARY);
        let forced = request(vec![("x-user-id", "u"), ("x-gateway-split", "orders-v2")]);
        assert_eq!(s.choose_for(&forced, None, 0.0), V2);
    }

    #[test]
    fn a_missing_key_falls_back_to_the_ip_then_random() {
        let s = split(&[("orders-v2", 50.0)]);
        // Users whose header lands on each side, and an IP for each side.
        let side_of = |key: &str| s.choose(bucket(SALT, key), None);
        let key_on = |want: usize| {
            (0..)
                .map(|i| format!("k{i}"))
                .find(|k| side_of(k) == want)
                .unwrap()
        };
        let (user_v2, ip_v2, ip_primary) = (key_on(V2), key_on(V2), key_on(PRIMARY));
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let (user_v2, ip_v2, ip_primary) = (leak(user_v2), leak(ip_v2), leak(ip_primary));
        type Headers = Vec<(&'static str, &'static str)>;
        let cases: Vec<(&str, Headers, f64, usize)> = vec![
            (
                "the key decides",
                vec![("x-user-id", user_v2), ("cf-connecting-ip", ip_primary)],
                0.0,
                V2,
            ),
            ("no key: the ip", vec![("cf-connecting-ip", ip_v2)], 0.0, V2),
            (
                "no key: the ip",
                vec![("cf-connecting-ip", ip_primary)],
                0.99,
                PRIMARY,
            ),
            ("neither: random low", vec![], 0.1, PRIMARY),
            ("neither: random high", vec![], 0.9, V2),
        ];
        for (what, headers, random, want) in cases {
            assert_eq!(
                s.choose_for(&request(headers), None, random),
                want,
                "{what}"
            );
        }
        // Sticky on the consumer: the consumer decides, without one the ip.
        let by_consumer = spec(&[("orders-v2", 50.0)], Some("consumer"), None)
            .validate("orders", index, true)
            .unwrap();
        let r = request(vec![("cf-connecting-ip", ip_primary)]);
        assert_eq!(by_consumer.choose_for(&r, Some(user_v2), 0.9), V2);
        assert_eq!(by_consumer.choose_for(&r, None, 0.9), PRIMARY);
    }

    #[test]
    fn percentages_serialise_compactly_and_display() {
        let s = spec(&[("orders-v2", 10.0), ("z", 2.5)], None, Some("x-split"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"to":{"orders-v2":10,"z":2.5},"override_header":"x-split"}"#
        );
        assert_eq!(serde_json::from_str::<SplitSpec>(&json).unwrap(), s);
        assert_eq!(
            s.to_string(),
            "orders-v2 10%, z 2.5%, sticky ip, override x-split"
        );
    }
}
