//! The health report a service's `/healthz` answers and the gateway's probes read.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::ApiVersion;

/// How a service (or one of its checks) is doing.
///
/// Written as `healthy`, `degraded` or `unhealthy`. Read tolerantly, in any case: also `ok`,
/// `pass` and `up` (healthy), `warn` (degraded), `fail` and `down` (unhealthy), as other
/// health endpoints (the IETF health check draft among them) say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HealthStatus {
    /// Working as intended.
    Healthy,
    /// Working, but impaired (slow, a dependency failing over, …).
    Degraded,
    /// Not working; send it no traffic.
    Unhealthy,
}

impl HealthStatus {
    /// The written word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// Reads a status word tolerantly (see the type's documentation); `None` for any other.
    pub fn parse(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().as_str() {
            "healthy" | "ok" | "pass" | "up" => Some(Self::Healthy),
            "degraded" | "warn" => Some(Self::Degraded),
            "unhealthy" | "fail" | "down" => Some(Self::Unhealthy),
            _ => None,
        }
    }

    /// The HTTP status a `/healthz` answers with: 503 when unhealthy, else 200 (a degraded
    /// service still serves).
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unhealthy => 503,
            Self::Healthy | Self::Degraded => 200,
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HealthStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = String::deserialize(deserializer)?;
        Self::parse(&word).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown health status `{word}`: expected healthy, degraded or unhealthy"
            ))
        })
    }
}

/// One named check inside a report (a database, a downstream service, a queue, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HealthCheck))]
pub struct Check {
    /// How this check went.
    pub status: HealthStatus,
    /// What was seen, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The body of a service's `/healthz`.
///
/// ```json
/// {"status": "degraded", "service": "orders", "version": "1.1.0",
///  "checks": {"store": {"status": "degraded", "detail": "read-only"}}, "detail": "…"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthReport {
    /// The overall status; the gateway's probes classify a 2xx answer saying `degraded` as
    /// degraded.
    pub status: HealthStatus,
    /// The service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The API version the service serves, `MAJOR.MINOR.PATCH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "1.0.0"))]
    pub version: Option<ApiVersion>,
    /// Named checks, each with its own status.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
    /// Why the status is what it is, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The one field every health body that says anything has.
#[derive(Deserialize)]
struct StatusOnly {
    status: String,
}

impl HealthReport {
    /// A report with `status` and nothing else.
    pub fn new(status: HealthStatus) -> Self {
        Self {
            status,
            service: None,
            version: None,
            checks: BTreeMap::new(),
            detail: None,
        }
    }

    /// The report as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a health report always serialises")
    }

    /// Parses a report.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The status a health body reports, read as tolerantly as a probe must: a
    /// [`HealthReport`]; else any JSON object with a `status` word (other formats, such as
    /// the IETF draft's, whose `checks` differ); else the body as a bare word (`ok`,
    /// `degraded`). `None` when it says nothing recognisable.
    pub fn reported_status(body: &str) -> Option<HealthStatus> {
        if let Ok(report) = Self::from_json(body) {
            return Some(report.status);
        }
        match serde_json::from_str::<StatusOnly>(body) {
            Ok(only) => HealthStatus::parse(&only.status),
            Err(_) => HealthStatus::parse(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_words_tolerantly() {
        use HealthStatus::*;
        for (word, want) in [
            ("healthy", Some(Healthy)),
            ("OK", Some(Healthy)),
            ("pass", Some(Healthy)),
            (" up\n", Some(Healthy)),
            ("Degraded", Some(Degraded)),
            ("warn", Some(Degraded)),
            ("unhealthy", Some(Unhealthy)),
            ("fail", Some(Unhealthy)),
            ("down", Some(Unhealthy)),
            ("sideways", None),
            ("", None),
        ] {
            assert_eq!(HealthStatus::parse(word), want, "{word:?}");
        }
    }

    #[test]
    fn what_a_body_reports() {
        use HealthStatus::*;
        for (body, want) in [
            (r#"{"status": "degraded"}"#, Some(Degraded)),
            (r#"{"status": "WARN", "checks": {}}"#, Some(Degraded)),
            (
                r#"{"status": "pass", "checks": {"db:latency": [{"status": "pass"}]}}"#,
                Some(Healthy),
            ),
            (
                r#"{"status": "healthy", "version": "not-semver"}"#,
                Some(Healthy),
            ),
            (r#"{"status": "ok", "service": "users"}"#, Some(Healthy)),
            (r#"{"state": "degraded"}"#, None),
            (r#"{"status": 3}"#, None),
            ("degraded\n", Some(Degraded)),
            ("ok", Some(Healthy)),
            ("", None),
        ] {
            assert_eq!(HealthReport::reported_status(body), want, "{body}");
        }
    }

    #[test]
    fn writes_only_what_is_set() {
        let mut report = HealthReport::new(HealthStatus::Degraded);
        assert_eq!(report.to_json(), r#"{"status":"degraded"}"#);
        report.service = Some("orders".into());
        report.version = Some(ApiVersion::new(1, 1, 0));
        report.checks.insert(
            "store".into(),
            Check {
                status: HealthStatus::Degraded,
                detail: Some("read-only".into()),
            },
        );
        let text = report.to_json();
        assert_eq!(
            text,
            r#"{"status":"degraded","service":"orders","version":"1.1.0","checks":{"store":{"status":"degraded","detail":"read-only"}}}"#
        );
        assert_eq!(HealthReport::from_json(&text).unwrap(), report);
        assert_eq!(HealthStatus::Unhealthy.http_status(), 503);
        assert_eq!(HealthStatus::Degraded.http_status(), 200);
    }
}
