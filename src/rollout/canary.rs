//! The canary judge: from the candidate's and the stable version's traffic since the current
//! step started, decide to wait, abort, advance to the next share, or promote — with a reason
//! that carries the figures. The edge runs it on its schedule and records the transition.

use serde::{Deserialize, Serialize};

use super::release::Candidate;
use crate::stats::Totals;

/// When a candidate is judged, and how much worse than stable it may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Judge {
    /// Candidate requests needed (since the step started) before any verdict but waiting.
    pub min_requests: u64,
    /// Abort when the candidate's 5xx rate exceeds stable's by more than this many
    /// percentage points.
    pub max_error_rate_increase: f64,
    /// Abort when the candidate's p95 latency exceeds stable's times this…
    pub max_p95_ratio: f64,
    /// …and also by more than this many milliseconds.
    pub min_p95_increase_ms: f64,
}

impl Default for Judge {
    fn default() -> Self {
        Self {
            min_requests: 100,
            max_error_rate_increase: 1.0,
            max_p95_ratio: 1.5,
            min_p95_increase_ms: 50.0,
        }
    }
}

impl Judge {
    /// Why these settings cannot judge anything, if so.
    pub fn check(&self) -> Result<(), String> {
        let finite = |v: f64| v.is_finite();
        if !finite(self.max_error_rate_increase) || self.max_error_rate_increase < 0.0 {
            return Err(format!(
                "max_error_rate_increase must be 0 or more percentage points, not {}",
                self.max_error_rate_increase
            ));
        }
        if !finite(self.max_p95_ratio) || self.max_p95_ratio < 1.0 {
            return Err(format!(
                "max_p95_ratio must be at least 1, not {}",
                self.max_p95_ratio
            ));
        }
        if !finite(self.min_p95_increase_ms) || self.min_p95_increase_ms < 0.0 {
            return Err(format!(
                "min_p95_increase_ms must be 0 or more, not {}",
                self.min_p95_increase_ms
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "after {} requests, abort when the 5xx rate is over {} above stable's, or p95 is \
             over ×{} and +{} ms stable's",
            self.min_requests,
            points(self.max_error_rate_increase),
            self.max_p95_ratio,
            self.min_p95_increase_ms
        )
    }
}

/// What the judge measures of one side's traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Requests.
    pub requests: u64,
    /// Of which answered 5xx.
    pub errors: u64,
    /// 95th percentile latency in ms, if there were requests.
    pub p95_ms: Option<f64>,
}

impl Sample {
    /// Requests, 5xx answers and p95 of a side's [`Totals`].
    pub fn of(totals: &Totals) -> Self {
        Self {
            requests: totals.requests,
            errors: totals.classes[4],
            p95_ms: totals.quantile(0.95),
        }
    }

    /// The 5xx rate in percent (0 without requests).
    pub fn error_percent(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 * 100.0 / self.requests as f64
        }
    }
}

/// The judge's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Keep the current share (too few requests, interval not over, no steps, last step).
    Wait(String),
    /// Drop the candidate: it is worse than stable beyond the limits.
    Abort(String),
    /// Move the candidate to the next share.
    Advance {
        /// The new share, in percent.
        percent: f64,
        /// Why (recorded with the `step` activation).
        reason: String,
    },
    /// Make the candidate stable (the next step was 100%).
    Promote(String),
}

impl Verdict {
    /// The reason, whatever the verdict.
    pub fn reason(&self) -> &str {
        match self {
            Self::Wait(r) | Self::Abort(r) | Self::Promote(r) => r,
            Self::Advance { reason, .. } => reason,
        }
    }
}

/// Judges `candidate` on its traffic (`cand`) against stable's (`stable`), both counted since
/// `candidate.step_started_ms` (for the whole table version: every route and upstream), at
/// `now_ms`. See [`judge_samples`].
pub fn judge(candidate: &Candidate, stable: &Totals, cand: &Totals, now_ms: u64) -> Verdict {
    judge_samples(candidate, &Sample::of(stable), &Sample::of(cand), now_ms)
}

/// The judge on what it measures. Abort needs `min_requests` candidate requests and is
/// checked first; advancing or promoting also needs the step's interval to be over and steps
/// to exist.
pub fn judge_samples(
    candidate: &Candidate,
    stable: &Sample,
    cand: &Sample,
    now_ms: u64,
) -> Verdict {
    let j = &candidate.judge;
    let at = percent(candidate.percent);
    if cand.requests < j.min_requests {
        return Verdict::Wait(format!(
            "{} of {} candidate requests needed at {at}",
            cand.requests, j.min_requests
        ));
    }
    let (c_err, s_err) = (cand.error_percent(), stable.error_percent());
    if c_err - s_err > j.max_error_rate_increase {
        return Verdict::Abort(format!(
            "candidate error rate {c_err:.1}% vs stable {s_err:.1}% over {} requests (margin {})",
            cand.requests,
            points(j.max_error_rate_increase)
        ));
    }
    if let (Some(c), Some(s)) = (cand.p95_ms, stable.p95_ms) {
        if c > s * j.max_p95_ratio && c - s > j.min_p95_increase_ms {
            return Verdict::Abort(format!(
                "candidate p95 latency {c:.0} ms vs stable {s:.0} ms over {} requests (limit \
                 ×{} and +{} ms)",
                cand.requests, j.max_p95_ratio, j.min_p95_increase_ms
            ));
        }
    }
    let ms = |p: Option<f64>| p.map_or_else(|| "n/a".to_owned(), |p| format!("{p:.0} ms"));
    let healthy = format!(
        "healthy at {at}: error rate {c_err:.1}% vs stable {s_err:.1}%, p95 {} vs {} over {} \
         requests",
        ms(cand.p95_ms),
        ms(stable.p95_ms),
        cand.requests
    );
    if candidate.steps.is_empty() {
        return Verdict::Wait(format!("{healthy}; no steps: promote or abort by hand"));
    }
    let elapsed = now_ms.saturating_sub(candidate.step_started_ms);
    if elapsed < candidate.interval_ms {
        return Verdict::Wait(format!(
            "{healthy}; next step in {}",
            duration(candidate.interval_ms - elapsed)
        ));
    }
    let held = duration(elapsed);
    match candidate.next_step() {
        None => Verdict::Wait(format!(
            "{healthy}; {at} is the last step: promote or abort by hand"
        )),
        Some(next) if next >= 100.0 => {
            Verdict::Promote(format!("{healthy} for {held}; next step is 100%"))
        }
        Some(next) => Verdict::Advance {
            percent: next,
            reason: format!("{healthy} for {held}; {at} → {}", percent(next)),
        },
    }
}

/// `10%`, `0.25%`.
pub fn percent(p: f64) -> String {
    format!("{p}%")
}

/// `1.0 point`, `2.5 points`.
fn points(p: f64) -> String {
    format!("{p:.1} point{}", if p == 1.0 { "" } else { "s" })
}

/// A duration for people: `45s`, `10m`, `4m10s`, `2h`, `1h30m`, `3d`.
pub fn duration(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    let parts = [
        (s / 86_400, "d"),
        (s / 3600 % 24, "h"),
        (s / 60 % 60, "m"),
        (s % 60, "s"),
    ];
    // The largest unit, and the next one when it is not zero.
    let Some(first) = parts.iter().position(|(n, _)| *n > 0) else {
        return "0s".into();
    };
    parts[first..]
        .iter()
        .take(2)
        .enumerate()
        .filter(|(i, (n, _))| *i == 0 || *n > 0)
        .map(|(_, (n, unit))| format!("{n}{unit}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::sticky::Sticky;

    const MIN: u64 = 60_000;

    fn candidate(percent: f64, steps: &[f64]) -> Candidate {
        Candidate {
            version: "V2".into(),
            percent,
            sticky: Sticky::Ip,
            steps: steps.to_vec(),
            interval_ms: 10 * MIN,
            step_started_ms: 1_000 * MIN,
            started_ms: 990 * MIN,
            judge: Judge::default(),
        }
    }

    fn sample(requests: u64, errors: u64, p95: f64) -> Sample {
        Sample {
            requests,
            errors,
            p95_ms: (requests > 0).then_some(p95),
        }
    }

    fn wait(r: &str) -> Verdict {
        Verdict::Wait(r.into())
    }

    #[test]
    fn judges_every_case() {
        let steps = [5.0, 25.0, 50.0, 100.0];
        let stable = sample(5_000, 10, 120.0); // 0.2 %
        let start = 1_000 * MIN;
        let healthy = "healthy at 10%: error rate 0.8% vs stable 0.2%, p95 150 ms vs 120 ms over 120 requests";
        let cases = [
            // Too few candidate requests: wait, whatever they show.
            ("few", candidate(10.0, &steps), sample(99, 99, 9e3), start + 60 * MIN,
             wait("99 of 100 candidate requests needed at 10%")),
            // Errors: 48 % against 0.2 %, margin 1 point.
            ("errors", candidate(10.0, &steps), sample(120, 58, 120.0), start,
             Verdict::Abort("candidate error rate 48.3% vs stable 0.2% over 120 requests (margin 1.0 point)".into())),
            // 1.2 points more is over a 1-point margin, 0.6 is not.
            ("just over", candidate(10.0, &steps), sample(1_000, 14, 120.0), start + 10 * MIN,
             Verdict::Abort("candidate error rate 1.4% vs stable 0.2% over 1000 requests (margin 1.0 point)".into())),
            // Latency: both the ratio and the absolute increase must be exceeded.
            ("slow", candidate(10.0, &steps), sample(120, 0, 900.0), start,
             Verdict::Abort("candidate p95 latency 900 ms vs stable 120 ms over 120 requests (limit ×1.5 and +50 ms)".into())),
            ("ratio only", candidate(10.0, &[]), sample(120, 0, 169.0), start,
             wait("healthy at 10%: error rate 0.0% vs stable 0.2%, p95 169 ms vs 120 ms over 120 requests; no steps: promote or abort by hand")),
            // Healthy, interval not over.
            ("early", candidate(10.0, &steps), sample(120, 1, 150.0), start + 4 * MIN + 50_000,
             wait(&format!("{healthy}; next step in 5m10s"))),
            // Healthy and the interval is over: the next step above 10 % is 25 %.
            ("advance", candidate(10.0, &steps), sample(120, 1, 150.0), start + 10 * MIN,
             Verdict::Advance { percent: 25.0, reason: format!("{healthy} for 10m; 10% → 25%") }),
            // The next step is 100: promote.
            ("promote", candidate(50.0, &steps), sample(120, 1, 150.0), start + 12 * MIN,
             Verdict::Promote("healthy at 50%: error rate 0.8% vs stable 0.2%, p95 150 ms vs 120 ms over 120 requests for 12m; next step is 100%".into())),
            // Steps that stop short of 100 wait at the last one.
            ("last", candidate(50.0, &[5.0, 50.0]), sample(120, 1, 150.0), start + 12 * MIN,
             wait("healthy at 50%: error rate 0.8% vs stable 0.2%, p95 150 ms vs 120 ms over 120 requests; 50% is the last step: promote or abort by hand")),
            // Without steps: never advance, however long.
            ("no steps", candidate(10.0, &[]), sample(120, 1, 150.0), start + 600 * MIN,
             wait(&format!("{healthy}; no steps: promote or abort by hand"))),
        ];
        for (name, c, cand, now, want) in cases {
            assert_eq!(judge_samples(&c, &stable, &cand, now), want, "{name}");
        }
    }

    #[test]
    fn judges_totals_by_5xx_and_histogram_p95() {
        let mut stable = Totals::default();
        let mut cand = Totals::default();
        for i in 0..200 {
            stable.record(if i < 2 { 503 } else { 200 }, 20, i < 2);
            // 4xx are the client's: not errors. Slow answers push p95 into 1000–2500 ms.
            cand.record(
                if i < 50 { 404 } else { 200 },
                if i < 20 { 2_000 } else { 20 },
                false,
            );
        }
        assert_eq!(Sample::of(&stable), sample(200, 2, 24.25));
        let c = candidate(10.0, &[]);
        assert_eq!(
            judge(&c, &stable, &cand, 0),
            Verdict::Abort(
                "candidate p95 latency 1750 ms vs stable 24 ms over 200 requests (limit ×1.5 \
                 and +50 ms)"
                    .into()
            )
        );
        assert_eq!(
            judge(&c, &stable, &Totals::default(), 0),
            wait("0 of 100 candidate requests needed at 10%")
        );
    }

    #[test]
    fn a_stable_side_without_traffic_counts_as_error_free() {
        let c = candidate(10.0, &[]);
        let none = sample(0, 0, 0.0);
        assert_eq!(
            judge_samples(&c, &none, &sample(200, 3, 900.0), 0),
            Verdict::Abort(
                "candidate error rate 1.5% vs stable 0.0% over 200 requests (margin 1.0 point)"
                    .into()
            )
        );
        // No stable p95 to compare with: latency alone cannot abort.
        assert!(matches!(
            judge_samples(&c, &none, &sample(200, 0, 9_000.0), 0),
            Verdict::Wait(_)
        ));
    }

    #[test]
    fn settings_are_checked_and_described() {
        assert_eq!(Judge::default().check(), Ok(()));
        let bad = |f: fn(&mut Judge)| {
            let mut j = Judge::default();
            f(&mut j);
            j.check().unwrap_err()
        };
        assert_eq!(
            bad(|j| j.max_error_rate_increase = -1.0),
            "max_error_rate_increase must be 0 or more percentage points, not -1"
        );
        assert_eq!(
            bad(|j| j.max_p95_ratio = f64::NAN),
            "max_p95_ratio must be at least 1, not NaN"
        );
        assert_eq!(
            bad(|j| j.min_p95_increase_ms = -5.0),
            "min_p95_increase_ms must be 0 or more, not -5"
        );
        assert_eq!(
            Judge::default().to_string(),
            "after 100 requests, abort when the 5xx rate is over 1.0 point above stable's, or \
             p95 is over ×1.5 and +50 ms stable's"
        );
    }

    #[test]
    fn durations_read_like_people_write_them() {
        for (ms, want) in [
            (0, "0s"),
            (1, "1s"),
            (45_000, "45s"),
            (600_000, "10m"),
            (250_000, "4m10s"),
            (7_200_000, "2h"),
            (5_400_000, "1h30m"),
            (3 * 86_400_000 + 1_000, "3d"),
        ] {
            assert_eq!(duration(ms), want, "{ms}");
        }
    }
}
