//! Sticky choices: a stable hash of a key (consumer, client IP, a header or a cookie) into one
//! of [`BUCKETS`] buckets. The same key lands in the same bucket in every isolate and every
//! release, so a user stays on one side of a split or a canary while its weights do not change,
//! and raising a side's share only moves buckets *into* that side.

use std::fmt;

use crate::context::RequestContext;

/// Buckets a key hashes into: shares are set in basis points (1/100 of a percent).
pub const BUCKETS: u32 = 10_000;

/// What a sticky choice is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Sticky {
    /// The consumer an authentication policy identified (splits only: a canary picks the
    /// table before any policy runs).
    Consumer,
    /// The client address (`CF-Connecting-IP`).
    Ip,
    /// A request header (lower-case name).
    Header(String),
    /// A cookie.
    Cookie(String),
}

impl Sticky {
    /// Parses `consumer`, `ip`, `header:NAME` or `cookie:NAME`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let named = |kind: &str, name: &str| {
            let ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b));
            if ok {
                Ok(name.to_ascii_lowercase())
            } else {
                Err(format!("`{text}`: the {kind} name must be a token"))
            }
        };
        match text.split_once(':') {
            None if text == "consumer" => Ok(Self::Consumer),
            None if text == "ip" => Ok(Self::Ip),
            Some(("header", name)) => named("header", name).map(Self::Header),
            Some(("cookie", name)) => named("cookie", name).map(Self::Cookie),
            _ => Err(format!(
                "`{text}` is not a sticky key (consumer, ip, header:NAME or cookie:NAME)"
            )),
        }
    }

    /// The key's value for a request, if it has one. `consumer` is what authentication
    /// established (None before policies ran).
    pub fn value(&self, request: &RequestContext, consumer: Option<&str>) -> Option<String> {
        match self {
            Self::Consumer => consumer.map(str::to_owned),
            Self::Ip => request.client_ip.clone(),
            Self::Header(name) => request.header(name),
            Self::Cookie(name) => request.cookie(name),
        }
    }
}

impl fmt::Display for Sticky {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Consumer => f.write_str("consumer"),
            Self::Ip => f.write_str("ip"),
            Self::Header(name) => write!(f, "header:{name}"),
            Self::Cookie(name) => write!(f, "cookie:{name}"),
        }
    }
}

/// A 64-bit hash of `key`, salted (different choices stay independent): FNV-1a, then the
/// SplitMix64 finaliser so that similar keys spread over every bucket.
pub fn hash(salt: &str, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in salt.as_bytes().iter().chain(&[0xff]).chain(key.as_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The bucket of `key`, in `0..BUCKETS`.
pub fn bucket(salt: &str, key: &str) -> u32 {
    ((u128::from(hash(salt, key)) * u128::from(BUCKETS)) >> 64) as u32
}

/// The bucket for a request without a key value: uniform from `random` in `[0, 1)`.
pub fn random_bucket(random: f64) -> u32 {
    ((random.clamp(0.0, 1.0) * f64::from(BUCKETS)) as u32).min(BUCKETS - 1)
}

/// A percentage (0–100, two decimals at most) in basis points, or why not.
pub fn basis_points(percent: f64) -> Result<u32, String> {
    let bp = (percent * 100.0).round();
    if !(0.0..=100.0).contains(&percent) || (percent * 100.0 - bp).abs() > 1e-6 {
        return Err(format!(
            "{percent} is not a percentage from 0 to 100 with at most two decimals"
        ));
    }
    Ok(bp as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key_kind_and_refuses_others() {
        let cases = [
            ("consumer", Ok(Sticky::Consumer)),
            ("ip", Ok(Sticky::Ip)),
            ("header:X-User-Id", Ok(Sticky::Header("x-user-id".into()))),
            ("cookie:session", Ok(Sticky::Cookie("session".into()))),
        ];
        for (text, want) in cases {
            assert_eq!(Sticky::parse(text), want, "{text}");
            assert_eq!(
                Sticky::parse(text).unwrap().to_string(),
                text.to_ascii_lowercase()
            );
        }
        for bad in ["", "user", "header:", "header:a b", "cookie:é", "query:x"] {
            assert!(Sticky::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_hash_is_stable_across_builds() {
        // Changing these moves every user between sides: never change the hash.
        assert_eq!(hash("", ""), 0x4f2d_b50f_1240_40cd);
        assert_eq!(bucket("split", "user-1"), bucket("split", "user-1"));
        assert_ne!(hash("a", "bc"), hash("ab", "c"));
    }

    #[test]
    fn buckets_are_uniform() {
        let mut counts = [0u32; 10];
        for i in 0..100_000 {
            counts[(bucket("s", &format!("user-{i}")) / 1_000) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..=10_500).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn percentages_become_basis_points() {
        assert_eq!(basis_points(10.0), Ok(1_000));
        assert_eq!(basis_points(0.25), Ok(25));
        assert_eq!(basis_points(100.0), Ok(10_000));
        for bad in [-1.0, 100.5, 0.125, f64::NAN] {
            assert!(basis_points(bad).is_err(), "{bad}");
        }
    }
}
