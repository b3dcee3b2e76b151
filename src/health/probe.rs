//! Probe planning and classification: healthy, degraded or unhealthy.

use std::fmt;

use crate::table::{RouteTable, Target};

/// The health of one origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Answered 2xx within the latency threshold.
    Healthy,
    /// Answered 2xx, but slowly or saying it is degraded.
    Degraded,
    /// Timed out, refused, or answered non-2xx.
    Unhealthy,
}

impl Status {
    /// The stored and reported name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "healthy" => Some(Self::Healthy),
            "degraded" => Some(Self::Degraded),
            "unhealthy" => Some(Self::Unhealthy),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a probe went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The origin answered.
    Responded {
        /// HTTP status.
        http_status: u16,
        /// Time to the full answer, in ms.
        latency_ms: u64,
        /// The body said it is degraded.
        body_degraded: bool,
    },
    /// No answer within the probe timeout.
    TimedOut {
        /// The timeout that passed, in ms.
        after_ms: u64,
    },
    /// The probe failed (refused, reset, DNS, TLS).
    Failed {
        /// Time until it failed, in ms.
        latency_ms: u64,
        /// The runtime's error message.
        detail: String,
    },
}

/// A classified probe, as stored in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Classification.
    pub status: Status,
    /// HTTP status, if the origin answered.
    pub http_status: Option<u16>,
    /// Latency in ms.
    pub latency_ms: u64,
    /// Why, in a few words.
    pub detail: String,
}

/// Classifies a probe against the upstream's latency threshold.
pub fn classify(probe: &Probe, degraded_ms: u64) -> Verdict {
    match probe {
        Probe::Responded {
            http_status,
            latency_ms,
            body_degraded,
        } => {
            let (status, detail) = match (http_status, body_degraded) {
                (200..=299, true) => (Status::Degraded, "reports degraded".to_owned()),
                (200..=299, false) if *latency_ms > degraded_ms => (
                    Status::Degraded,
                    format!("slow: {latency_ms} ms > {degraded_ms} ms"),
                ),
                (200..=299, false) => (Status::Healthy, "ok".to_owned()),
                (code, _) => (Status::Unhealthy, format!("HTTP {code}")),
            };
            Verdict {
                status,
                http_status: Some(*http_status),
                latency_ms: *latency_ms,
                detail,
            }
        }
        Probe::TimedOut { after_ms } => Verdict {
            status: Status::Unhealthy,
            http_status: None,
            latency_ms: *after_ms,
            detail: format!("timed out after {after_ms} ms"),
        },
        Probe::Failed { latency_ms, detail } => Verdict {
            status: Status::Unhealthy,
            http_status: None,
            latency_ms: *latency_ms,
            detail: format!("failed: {detail}"),
        },
    }
}

/// Whether a health body says the service is degraded: a [`contracts::HealthReport`] with
/// `"status": "degraded"`, or any JSON `{"status": "degraded"}` (or `"warn"`, as in the IETF
/// health check draft), or the bare word — read by the same code the backends write it with.
pub fn body_reports_degraded(body: &str) -> bool {
    contracts::HealthReport::reported_status(body) == Some(contracts::HealthStatus::Degraded)
}

/// The overall status: unhealthy if every origin is, healthy if every origin is, else degraded.
/// No origins at all is unhealthy.
pub fn overall(statuses: impl IntoIterator<Item = Status>) -> Status {
    let all: Vec<Status> = statuses.into_iter().collect();
    if all.is_empty() || all.iter().all(|s| *s == Status::Unhealthy) {
        Status::Unhealthy
    } else if all.iter().all(|s| *s == Status::Healthy) {
        Status::Healthy
    } else {
        Status::Degraded
    }
}

/// One origin to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// Upstream name.
    pub upstream: String,
    /// Origin base URL, or binding name.
    pub origin: String,
    /// The URL probed.
    pub url: String,
    /// Whether `origin` names a service binding.
    pub binding: bool,
    /// Probe timeout, ms.
    pub timeout_ms: u64,
    /// Degraded threshold, ms.
    pub degraded_ms: u64,
}

/// Every origin of every upstream in the table, once.
pub fn plan(table: &RouteTable) -> Vec<ProbeTarget> {
    let mut targets = Vec::new();
    for u in table.upstreams() {
        let h = &u.health;
        let mut add = |origin: &str, base: &str, binding: bool| {
            targets.push(ProbeTarget {
                upstream: u.name.clone(),
                origin: origin.to_owned(),
                url: format!("{base}{}", h.path),
                binding,
                timeout_ms: h.timeout_ms,
                degraded_ms: h.degraded_ms,
            });
        };
        match &u.target {
            Target::Origins(origins) => origins.iter().for_each(|o| add(&o.url, &o.url, false)),
            Target::Binding(name) => add(name, &format!("https://{}", u.name), true),
        }
    }
    targets
}
