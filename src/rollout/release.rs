//! The release pointer: which route table versions serve — the stable one, an optional canary
//! candidate on a sticky share of requests, an optional shadow evaluated beside them — as stored
//! in KV under [`RELEASE_KEY`], its staleness rule, and the per-request version pick.
//!
//! `routes/active` ([`ACTIVE_KEY`]) stays the plain-text stable version, so older workers and
//! older `gatewayctl` keep working. A worker uses `routes/release` only when its `format` is one
//! this build reads and its `stable` equals `routes/active`; otherwise the release document is
//! stale (an older `gatewayctl` rolled back, or a write is half done) and only `routes/active`
//! counts. Writers therefore write `routes/active` first and `routes/release` second: every
//! mix of old and new values a reader can see then serves a version that was meant to serve.

use serde::{Deserialize, Serialize};

use super::canary::Judge;
use super::sticky::{basis_points, bucket, random_bucket, Sticky};
use crate::context::RequestContext;
use crate::table::ACTIVE_KEY;

/// KV key of the release document (JSON).
pub const RELEASE_KEY: &str = "routes/release";
/// The release document format this build reads and writes.
pub const RELEASE_FORMAT: u32 = 1;
/// Salt of the canary's sticky hash (independent of route splits' `"split"`).
pub const CANARY_SALT: &str = "canary";

/// Which versions serve, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// The version serving every request the candidate does not take (= `routes/active`).
    pub stable: String,
    /// A canary: a newer version on a share of requests, if one runs.
    pub candidate: Option<Candidate>,
    /// A version each request is also looked up in, to report differences (never serves).
    pub shadow: Option<String>,
}

/// A canary release in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The version on trial.
    pub version: String,
    /// Its share of requests, in percent (two decimals at most).
    pub percent: f64,
    /// What keeps a user on one side: `ip`, `header:NAME` or `cookie:NAME`.
    pub sticky: Sticky,
    /// Shares to advance through, increasing; reaching 100 promotes. Empty: no automatic
    /// steps (only an automatic abort).
    pub steps: Vec<f64>,
    /// How long each share must stay healthy before the next step, in ms.
    pub interval_ms: u64,
    /// When the current share started, in ms since the epoch (the judge counts from here).
    pub step_started_ms: u64,
    /// When the canary started, in ms since the epoch.
    pub started_ms: u64,
    /// When the candidate is healthy enough to advance, or bad enough to abort.
    pub judge: Judge,
}

/// The side of a canary a request is served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The stable version.
    Stable,
    /// The candidate version.
    Candidate,
}

/// What serves, after the staleness rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// The release to serve by (just `routes/active` when the document was not used).
    pub release: Release,
    /// Why `routes/release` was present but not used, for the log.
    pub ignored: Option<String>,
}

impl Release {
    /// Only `version`, no candidate, no shadow.
    pub fn stable_only(version: impl Into<String>) -> Self {
        Self {
            stable: version.into(),
            candidate: None,
            shadow: None,
        }
    }

    /// Applies the staleness rule to the two KV values: `routes/release` counts only when it
    /// parses, has a known format and names `routes/active` as its stable version. `Err` when
    /// `routes/active` itself is missing or blank.
    pub fn effective(
        active_text: Option<&str>,
        release_text: Option<&str>,
    ) -> Result<Effective, String> {
        let active = active_text
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("{ACTIVE_KEY} is missing or empty"))?;
        let fallback = |why: String| Effective {
            release: Self::stable_only(active),
            ignored: Some(format!("{RELEASE_KEY} ignored: {why}")),
        };
        let Some(text) = release_text.filter(|t| !t.trim().is_empty()) else {
            return Ok(Effective {
                release: Self::stable_only(active),
                ignored: None,
            });
        };
        Ok(match Self::parse(text) {
            Err(why) => fallback(why),
            Ok(release) if release.stable != active => fallback(format!(
                "it names {} as stable but {ACTIVE_KEY} is {active} (stale: {ACTIVE_KEY} was \
                 changed without it)",
                release.stable
            )),
            Ok(release) => Effective {
                release,
                ignored: None,
            },
        })
    }

    /// Parses and validates a release document; every problem is reported at once.
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Head {
            format: Option<serde_json::Value>,
        }
        let head: Head =
            serde_json::from_str(text).map_err(|e| format!("not a release document: {e}"))?;
        match head.format {
            Some(f) if f == serde_json::json!(RELEASE_FORMAT) => {}
            Some(f) => {
                return Err(format!(
                    "format {f} is not one this build reads ({RELEASE_FORMAT})"
                ))
            }
            None => return Err("it has no format".into()),
        }
        let file: ReleaseFile =
            serde_json::from_str(text).map_err(|e| format!("not a release document: {e}"))?;
        file.check()
    }

    /// The document as stored in KV (compact JSON).
    pub fn to_json(&self) -> String {
        let file = ReleaseFile {
            format: RELEASE_FORMAT,
            stable: self.stable.clone(),
            candidate: self.candidate.as_ref().map(|c| CandidateFile {
                version: c.version.clone(),
                percent: c.percent,
                sticky: c.sticky.to_string(),
                steps: c.steps.clone(),
                interval_ms: c.interval_ms,
                step_started_ms: c.step_started_ms,
                started_ms: c.started_ms,
                judge: c.judge,
            }),
            shadow: self.shadow.clone(),
        };
        serde_json::to_string(&file).expect("a release always serialises")
    }

    /// The side of the canary `request` is served by: its sticky key's bucket (salt
    /// [`CANARY_SALT`]; a request without the key falls back to its client address, then to
    /// `random` in `[0, 1)`) below the candidate's share in basis points → candidate.
    pub fn pick(&self, request: &RequestContext, random: f64) -> Side {
        let Some(candidate) = &self.candidate else {
            return Side::Stable;
        };
        let key = candidate
            .sticky
            .value(request, None)
            .or_else(|| request.client_ip.clone());
        let bucket = key.map_or_else(|| random_bucket(random), |k| bucket(CANARY_SALT, &k));
        if bucket < candidate.basis_points() {
            Side::Candidate
        } else {
            Side::Stable
        }
    }

    /// The version serving `side`.
    pub fn version(&self, side: Side) -> &str {
        match (side, &self.candidate) {
            (Side::Candidate, Some(c)) => &c.version,
            _ => &self.stable,
        }
    }

    /// The canary moved to `percent`, its step starting at `now_ms` (unchanged without one).
    pub fn advanced(&self, percent: f64, now_ms: u64) -> Self {
        let mut next = self.clone();
        if let Some(c) = &mut next.candidate {
            c.percent = percent;
            c.step_started_ms = now_ms;
        }
        next
    }

    /// The candidate made stable (the shadow stays unless it is that version); `None` without
    /// a candidate. Write `routes/active` = the new stable first, then this document.
    pub fn promoted(&self) -> Option<Self> {
        let candidate = self.candidate.as_ref()?;
        Some(Self {
            stable: candidate.version.clone(),
            candidate: None,
            shadow: self.shadow.clone().filter(|s| *s != candidate.version),
        })
    }

    /// The canary dropped: the stable version serves everything again.
    pub fn aborted(&self) -> Self {
        Self {
            candidate: None,
            ..self.clone()
        }
    }
}

impl Candidate {
    /// The share in basis points (validated when parsed; out-of-range values clamp).
    pub fn basis_points(&self) -> u32 {
        basis_points(self.percent).unwrap_or(if self.percent > 0.0 { 10_000 } else { 0 })
    }

    /// The step after the current share, if any (steps at or below it are done).
    pub fn next_step(&self) -> Option<f64> {
        self.steps.iter().copied().find(|&s| s > self.percent)
    }
}

/// The release document as stored (format 1).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseFile {
    format: u32,
    stable: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    candidate: Option<CandidateFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shadow: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CandidateFile {
    version: String,
    percent: f64,
    #[serde(default = "default_sticky")]
    sticky: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    steps: Vec<f64>,
    #[serde(default)]
    interval_ms: u64,
    step_started_ms: u64,
    started_ms: u64,
    #[serde(default)]
    judge: Judge,
}

fn default_sticky() -> String {
    "ip".into()
}

/// A version id as the pointers hold it: non-empty, no spaces or control characters.
fn check_version(what: &str, version: &str, problems: &mut Vec<String>) {
    if version.is_empty() || version.chars().any(|c| c.is_whitespace() || c.is_control()) {
        problems.push(format!("{what} `{version}` is not a version id"));
    }
}

impl ReleaseFile {
    fn check(self) -> Result<Release, String> {
        let mut problems = Vec::new();
        check_version("stable", &self.stable, &mut problems);
        if let Some(shadow) = &self.shadow {
            check_version("shadow", shadow, &mut problems);
            if *shadow == self.stable {
                problems.push(format!("shadow {shadow} is the stable version"));
            }
        }
        let candidate = self.candidate.map(|c| c.check(&self.stable, &mut problems));
        if problems.is_empty() {
            Ok(Release {
                stable: self.stable,
                candidate: candidate.flatten(),
                shadow: self.shadow,
            })
        } else {
            Err(problems.join("; "))
        }
    }
}

impl CandidateFile {
    fn check(self, stable: &str, problems: &mut Vec<String>) -> Option<Candidate> {
        let before = problems.len();
        check_version("candidate", &self.version, problems);
        if self.version == stable {
            problems.push(format!("candidate {} is the stable version", self.version));
        }
        if let Err(e) = basis_points(self.percent) {
            problems.push(format!("candidate percent: {e}"));
        }
        let sticky = match Sticky::parse(&self.sticky) {
            Ok(Sticky::Consumer) => {
                problems.push(
                    "candidate sticky `consumer` is not possible: the version is chosen before \
                     policies identify a consumer (use ip, header:NAME or cookie:NAME)"
                        .into(),
                );
                None
            }
            Ok(sticky) => Some(sticky),
            Err(e) => {
                problems.push(format!("candidate sticky: {e}"));
                None
            }
        };
        for (i, &step) in self.steps.iter().enumerate() {
            match basis_points(step) {
                Err(e) => problems.push(format!("candidate step: {e}")),
                Ok(0) => problems.push("candidate steps must be above 0".into()),
                Ok(_) if i > 0 && step <= self.steps[i - 1] => {
                    problems.push("candidate steps must increase".into())
                }
                Ok(_) => {}
            }
        }
        if !self.steps.is_empty() && self.interval_ms == 0 {
            problems.push("candidate steps need an interval_ms above 0".into());
        }
        if let Err(e) = self.judge.check() {
            problems.push(format!("candidate judge: {e}"));
        }
        (problems.len() == before).then(|| Candidate {
            version: self.version,
            percent: self.percent,
            sticky: sticky.expect("checked"),
            steps: self.steps,
            interval_ms: self.interval_ms,
            step_started_ms: self.step_started_ms,
            started_ms: self.started_ms,
            judge: self.judge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = r#"{"format":1,"stable":"V1","candidate":{"version":"V2","percent":10,
        "sticky":"header:x-user-id","steps":[5,25,50,100],"interval_ms":600000,
        "step_started_ms":2000,"started_ms":1000,"judge":{"min_requests":100,
        "max_error_rate_increase":1.0,"max_p95_ratio":1.5,"min_p95_increase_ms":50}},
        "shadow":"V3"}"#;

    fn canary() -> Release {
        Release {
            stable: "V1".into(),
            candidate: Some(Candidate {
                version: "V2".into(),
                percent: 10.0,
                sticky: Sticky::Header("x-user-id".into()),
                steps: vec![5.0, 25.0, 50.0, 100.0],
                interval_ms: 600_000,
                step_started_ms: 2_000,
                started_ms: 1_000,
                judge: Judge::default(),
            }),
            shadow: Some("V3".into()),
        }
    }

    fn request(headers: Vec<(&'static str, &'static str)>) -> RequestContext {
        RequestContext::new(
            "https://api.example.com/orders".into(),
            "GET".into(),
            "r".into(),
            0.0,
            Box::new(headers),
        )
        .unwrap()
    }

    #[test]
    fn parses_and_writes_the_document() {
        assert_eq!(Release::parse(CANARY), Ok(canary()));
        assert_eq!(Release::parse(&canary().to_json()), Ok(canary()));
        assert_eq!(
            Release::stable_only("V1").to_json(),
            r#"{"format":1,"stable":"V1"}"#
        );
        // Defaults: sticky ip, no steps, the default judge.
        let minimal = r#"{"format":1,"stable":"V1","candidate":{"version":"V2","percent":0.25,
            "step_started_ms":5,"started_ms":5}}"#;
        let c = Release::parse(minimal).unwrap().candidate.unwrap();
        assert_eq!(
            (c.sticky.clone(), c.steps.len(), c.judge, c.basis_points()),
            (Sticky::Ip, 0, Judge::default(), 25)
        );
    }

    #[test]
    fn refuses_bad_documents_with_every_problem() {
        let cases = [
            (r#"{"format":2,"stable":"V1"}"#, "format 2 is not one this build reads (1)"),
            (r#"{"format":"1","stable":"V1"}"#, "format \"1\" is not one this build reads (1)"),
            (r#"{"stable":"V1"}"#, "it has no format"),
            ("V1", "not a release document: expected value at line 1 column 1"),
            (r#"{"format":1,"stable":"V1","next":"V2"}"#, "not a release document: unknown field `next`, expected one of `format`, `stable`, `candidate`, `shadow` at line 1 column 32"),
            (r#"{"format":1,"stable":"","shadow":"V1 x"}"#, "stable `` is not a version id; shadow `V1 x` is not a version id"),
            (r#"{"format":1,"stable":"V1","shadow":"V1"}"#, "shadow V1 is the stable version"),
            (
                r#"{"format":1,"stable":"V1","candidate":{"version":"V1","percent":0.125,"sticky":"consumer","steps":[50,25,101],"step_started_ms":0,"started_ms":0,"judge":{"max_p95_ratio":0.5}}}"#,
                "candidate V1 is the stable version; candidate percent: 0.125 is not a percentage from 0 to 100 with at most two decimals; \
                 candidate sticky `consumer` is not possible: the version is chosen before policies identify a consumer (use ip, header:NAME or cookie:NAME); \
                 candidate steps must increase; candidate step: 101 is not a percentage from 0 to 100 with at most two decimals; \
                 candidate steps need an interval_ms above 0; candidate judge: max_p95_ratio must be at least 1, not 0.5",
            ),
            (
                r#"{"format":1,"stable":"V1","candidate":{"version":"V2","percent":5,"sticky":"query:x","step_started_ms":0,"started_ms":0}}"#,
                "candidate sticky: `query:x` is not a sticky key (consumer, ip, header:NAME or cookie:NAME)",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Release::parse(text), Err(want.to_owned()), "{text}");
        }
    }

    #[test]
    fn the_release_counts_only_when_known_and_current() {
        let only = |v: &str, why: Option<&str>| {
            Ok(Effective {
                release: Release::stable_only(v),
                ignored: why.map(|w| format!("routes/release ignored: {w}")),
            })
        };
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<Effective, String>);
        let cases: Vec<Case> = vec![
            (Some("V1"), Some(CANARY), Ok(Effective { release: canary(), ignored: None })),
            (Some(" V1\n"), Some(CANARY), Ok(Effective { release: canary(), ignored: None })),
            // Before any new gatewayctl ran: no release document.
            (Some("V1"), None, only("V1", None)),
            (Some("V1"), Some(""), only("V1", None)),
            // An older gatewayctl rolled back: routes/active moved, the release did not.
            (Some("V0"), Some(CANARY), only("V0", Some("it names V1 as stable but routes/active is V0 (stale: routes/active was changed without it)"))),
            // A newer (unknown) or older (format 0) format.
            (Some("V1"), Some(r#"{"format":2,"stable":"V1","rings":[]}"#), only("V1", Some("format 2 is not one this build reads (1)"))),
            (Some("V1"), Some(r#"{"format":0,"stable":"V1"}"#), only("V1", Some("format 0 is not one this build reads (1)"))),
            (Some("V1"), Some("{"), only("V1", Some("not a release document: EOF while parsing an object at line 1 column 1"))),
            (None, Some(CANARY), Err("routes/active is missing or empty".into())),
            (Some("  "), None, Err("routes/active is missing or empty".into())),
        ];
        for (active, release, want) in cases {
            assert_eq!(
                Release::effective(active, release),
                want,
                "{active:?} {release:?}"
            );
        }
    }

    #[test]
    fn picks_by_sticky_key_then_ip_then_random() {
        // Bucket of "user-1" under the canary salt, to place shares around it.
        let b = bucket(CANARY_SALT, "user-1");
        let at = |percent: f64| {
            let mut r = canary();
            r.candidate.as_mut().unwrap().percent = percent;
            r
        };
        let below = f64::from(b) / 100.0; // share ending exactly at the bucket: stable
        let above = f64::from(b + 1) / 100.0; // share including it: candidate
        let user = request(vec![
            ("x-user-id", "user-1"),
            ("cf-connecting-ip", "1.2.3.4"),
        ]);
        let ip_only = request(vec![("cf-connecting-ip", "user-1")]);
        let nothing = request(vec![]);
        let cases = [
            (at(below), &user, 0.0, Side::Stable),
            (at(above), &user, 0.99, Side::Candidate),
            (at(above), &ip_only, 0.99, Side::Candidate),
            (at(below), &ip_only, 0.0, Side::Stable),
            (at(0.0), &user, 0.0, Side::Stable),
            (at(100.0), &user, 0.99, Side::Candidate),
            (at(10.0), &nothing, 0.0999, Side::Candidate),
            (at(10.0), &nothing, 0.1, Side::Stable),
            (Release::stable_only("V1"), &user, 0.0, Side::Stable),
        ];
        for (release, request, random, want) in cases {
            let pct = release.candidate.as_ref().map(|c| c.percent);
            assert_eq!(release.pick(request, random), want, "{pct:?} {random}");
        }
        assert_eq!(canary().version(Side::Candidate), "V2");
        assert_eq!(canary().version(Side::Stable), "V1");
        assert_eq!(Release::stable_only("V1").version(Side::Candidate), "V1");
    }

    #[test]
    fn a_user_stays_on_the_candidate_as_its_share_grows() {
        let mut release = canary();
        let users: Vec<String> = (0..2_000).map(|i| format!("u{i}")).collect();
        let on_candidate = |r: &Release| -> Vec<bool> {
            users
                .iter()
                .map(|u| {
                    let c = r.candidate.as_ref().unwrap();
                    bucket(CANARY_SALT, u) < c.basis_points()
                })
                .collect()
        };
        let mut before = on_candidate(&release);
        for step in [25.0, 50.0, 99.99] {
            release = release.advanced(step, 0);
            let after = on_candidate(&release);
            assert!(before.iter().zip(&after).all(|(b, a)| !b || *a), "{step}");
            let share = after.iter().filter(|&&a| a).count() as f64 / users.len() as f64;
            assert!((share * 100.0 - step).abs() < 4.0, "{step}: {share}");
            before = after;
        }
    }

    #[test]
    fn transitions() {
        let advanced = canary().advanced(25.0, 9_000);
        let c = advanced.candidate.as_ref().unwrap();
        assert_eq!(
            (c.percent, c.step_started_ms, c.started_ms),
            (25.0, 9_000, 1_000)
        );
        assert_eq!(c.next_step(), Some(50.0));
        assert_eq!(canary().candidate.unwrap().next_step(), Some(25.0));
        assert_eq!(
            canary().promoted(),
            Some(Release {
                stable: "V2".into(),
                candidate: None,
                shadow: Some("V3".into())
            })
        );
        let mut shadowing_candidate = canary();
        shadowing_candidate.shadow = Some("V2".into());
        assert_eq!(shadowing_candidate.promoted().unwrap().shadow, None);
        assert_eq!(Release::stable_only("V1").promoted(), None);
        assert_eq!(
            canary().aborted(),
            Release {
                stable: "V1".into(),
                candidate: None,
                shadow: Some("V3".into())
            }
        );
    }
}
