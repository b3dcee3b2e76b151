//! What serves, as the admin API shows it: `GET /__gateway/release`, and the answer of the
//! write endpoints (the release afterwards and the activations recorded).

use serde::Serialize;

use crate::history::NewActivation;
use crate::rollout::canary::Judge;
use crate::rollout::release::{Candidate, Effective, Release};

/// A release: the stable version, the canary and the shadow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseView<'a> {
    /// The version serving every request the candidate does not take (`routes/active`).
    pub stable: &'a str,
    /// The canary, if one runs.
    pub candidate: Option<CandidateView<'a>>,
    /// The version evaluated beside the stable one, if any (it serves nothing).
    pub shadow: Option<&'a str>,
}

/// A running canary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateView<'a> {
    /// The version on trial.
    pub version: &'a str,
    /// Its share of requests, in percent.
    pub percent: f64,
    /// What keeps a user on one side: `ip`, `header:NAME` or `cookie:NAME`.
    pub sticky: String,
    /// Shares the judge advances through (empty: only an automatic abort).
    pub steps: &'a [f64],
    /// The share after the current one, if any.
    pub next_step: Option<f64>,
    /// How long each share stays healthy before the next, ms.
    pub interval_ms: u64,
    /// When the current share started, ms since the epoch.
    pub step_started_ms: u64,
    /// When the canary started, ms since the epoch.
    pub started_ms: u64,
    /// The judge's settings.
    pub judge: Judge,
}

impl<'a> From<&'a Release> for ReleaseView<'a> {
    fn from(release: &'a Release) -> Self {
        Self {
            stable: &release.stable,
            candidate: release.candidate.as_ref().map(CandidateView::from),
            shadow: release.shadow.as_deref(),
        }
    }
}

impl<'a> From<&'a Candidate> for CandidateView<'a> {
    fn from(c: &'a Candidate) -> Self {
        Self {
            version: &c.version,
            percent: c.percent,
            sticky: c.sticky.to_string(),
            steps: &c.steps,
            next_step: c.next_step(),
            interval_ms: c.interval_ms,
            step_started_ms: c.step_started_ms,
            started_ms: c.started_ms,
            judge: c.judge,
        }
    }
}

/// `GET /__gateway/release`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseReport<'a> {
    /// The environment.
    pub environment: &'a str,
    /// The release in force (after the staleness rule); `None` when nothing is published.
    pub release: Option<ReleaseView<'a>>,
    /// Why `routes/release` was present but not used, if it was.
    pub ignored: Option<&'a str>,
}

impl<'a> ReleaseReport<'a> {
    /// The report of `effective` (`None`: `routes/active` is missing).
    pub fn new(environment: &'a str, effective: Option<&'a Effective>) -> Self {
        Self {
            environment,
            release: effective.map(|e| ReleaseView::from(&e.release)),
            ignored: effective.and_then(|e| e.ignored.as_deref()),
        }
    }
}

/// The answer of `POST /__gateway/rollback`, `/promote` and `/abort`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport<'a> {
    /// `rollback`, `promote` or `abort`.
    pub action: &'static str,
    /// The environment.
    pub environment: &'a str,
    /// The stable version afterwards (what `routes/active` names).
    pub active_version: &'a str,
    /// The release afterwards.
    pub release: ReleaseView<'a>,
    /// The activations recorded in D1, in order.
    pub activations: Vec<Recorded<'a>>,
}

/// An activation the write endpoint recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded<'a> {
    /// See [`crate::history::Action`] for what `previous → version` names.
    pub version: &'a str,
    /// The version it moved from.
    pub previous: Option<&'a str>,
    /// What happened.
    pub action: &'static str,
    /// Who (`console`).
    pub author: &'a str,
    /// When, RFC 3339 UTC.
    pub activated_at: &'a str,
    /// Why.
    pub reason: &'a str,
}

impl<'a> From<&NewActivation<'a>> for Recorded<'a> {
    fn from(a: &NewActivation<'a>) -> Self {
        Self {
            version: a.version,
            previous: a.previous,
            action: a.action.as_str(),
            author: a.author,
            activated_at: a.activated_at,
            reason: a.reason,
        }
    }
}
