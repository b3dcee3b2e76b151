//! The API version a service reports: `MAJOR.MINOR.PATCH` (semantic versioning).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A semantic version without pre-release or build parts, as a service reports its API
/// (`/healthz` `version`, the [`API_VERSION`](crate::headers::API_VERSION) header, its
/// OpenAPI document's `info.version`). Serialised as the text `"1.4.0"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// Incremented for a breaking change.
    pub major: u64,
    /// Incremented for a compatible addition.
    pub minor: u64,
    /// Incremented for a fix that changes no contract.
    pub patch: u64,
}

/// Why a text is not a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionError(pub String);

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a version: write MAJOR.MINOR.PATCH, such as 1.4.0",
            self.0
        )
    }
}

impl std::error::Error for VersionError {}

impl ApiVersion {
    /// `major.minor.patch`.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses `MAJOR.MINOR.PATCH` (decimal numbers without leading zeros).
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let error = || VersionError(text.to_owned());
        let mut parts = text.split('.').map(|part| {
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            let leading_zero = part.len() > 1 && part.starts_with('0');
            if digits && !leading_zero {
                part.parse::<u64>().map_err(|_| error())
            } else {
                Err(error())
            }
        });
        let (Some(major), Some(minor), Some(patch), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(error());
        };
        Ok(Self::new(major?, minor?, patch?))
    }

    /// Whether a change from `self` to `next` may break clients: only when the major
    /// version goes up (semantic versioning; 0.x is not special here).
    pub fn allows_breaking_change_to(self, next: ApiVersion) -> bool {
        next.major > self.major
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for ApiVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ApiVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_three_numbers_only() {
        for (text, want) in [
            ("1.4.0", Ok(ApiVersion::new(1, 4, 0))),
            ("0.0.1", Ok(ApiVersion::new(0, 0, 1))),
            ("10.20.30", Ok(ApiVersion::new(10, 20, 30))),
            ("1.4", Err(())),
            ("1.4.0.1", Err(())),
            ("01.4.0", Err(())),
            ("1.4.0-beta", Err(())),
            ("v1.4.0", Err(())),
            ("", Err(())),
            ("1..0", Err(())),
        ] {
            assert_eq!(ApiVersion::parse(text).map_err(|_| ()), want, "{text}");
        }
        assert_eq!(ApiVersion::new(2, 0, 1).to_string(), "2.0.1");
    }

    #[test]
    fn only_a_major_bump_allows_breaking_changes() {
        let v = |s: &str| ApiVersion::parse(s).unwrap();
        for (old, new, allowed) in [
            ("1.0.0", "2.0.0", true),
            ("1.9.9", "2.0.0", true),
            ("1.0.0", "1.1.0", false),
            ("1.0.0", "1.0.0", false),
            ("2.0.0", "1.0.0", false),
            ("0.1.0", "0.2.0", false),
        ] {
            assert_eq!(
                v(old).allows_breaking_change_to(v(new)),
                allowed,
                "{old} → {new}"
            );
        }
    }

    #[test]
    fn serialises_as_text() {
        let v = ApiVersion::new(1, 2, 3);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#""1.2.3""#);
        assert_eq!(serde_json::from_str::<ApiVersion>(r#""1.2.3""#).unwrap(), v);
        let err = serde_json::from_str::<ApiVersion>(r#""1.2""#).unwrap_err();
        assert!(err.to_string().contains("write MAJOR.MINOR.PATCH"), "{err}");
    }
}
