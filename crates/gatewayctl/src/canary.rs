//! Canary releases from the command line: `publish --canary` and its settings, `promote` and
//! `abort`. The release pointer and the judge are the gateway crate's
//! (`gateway::rollout::{release, canary}`); the worker advances, promotes or aborts on its own
//! once a canary runs, and these verbs do the same by hand.

use std::time::Instant;

use gateway::history::{Action, NewActivation};
use gateway::rollout::canary::{duration, percent, Judge};
use gateway::rollout::release::{Candidate, Release};
use gateway::rollout::sticky::{basis_points, Sticky};
use gateway::rollout::transition;

use crate::args::Args;
use crate::publish::{check_document, nothing_changed, step, switch_stable, with_note};
use crate::{utc, version};

/// The canary options as typed (checked together by [`plan`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CanaryFlags {
    pub percent: Option<String>,
    pub sticky: Option<String>,
    pub steps: Option<String>,
    pub interval: Option<String>,
    pub min_requests: Option<String>,
    pub max_error_increase: Option<String>,
    pub max_p95_ratio: Option<String>,
    pub min_p95_increase: Option<String>,
}

/// A canary to start, as the options describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryPlan {
    /// The first share, in percent.
    pub percent: f64,
    /// What keeps a user on one side.
    pub sticky: Sticky,
    /// Shares to advance through (empty: none).
    pub steps: Vec<f64>,
    /// How long each share stays healthy before the next, in ms.
    pub interval_ms: u64,
    /// The judge's settings.
    pub judge: Judge,
}

/// Default `--interval` when `--steps` is given: ten minutes.
const DEFAULT_INTERVAL_MS: u64 = 600_000;

/// Checks the canary options together; `None` without `--canary`.
pub fn plan(flags: &CanaryFlags) -> Result<Option<CanaryPlan>, String> {
    let Some(text) = &flags.percent else {
        let others = [
            ("--sticky", &flags.sticky),
            ("--steps", &flags.steps),
            ("--interval", &flags.interval),
            ("--min-requests", &flags.min_requests),
            ("--max-error-increase", &flags.max_error_increase),
            ("--max-p95-ratio", &flags.max_p95_ratio),
            ("--min-p95-increase", &flags.min_p95_increase),
        ];
        return match others.iter().find(|(_, v)| v.is_some()) {
            Some((flag, _)) => Err(format!("{flag} needs --canary PERCENT")),
            None => Ok(None),
        };
    };
    let percent = share("--canary", text)?;
    if percent >= 100.0 {
        return Err("--canary 100 is a plain publish: leave --canary out".into());
    }
    let sticky = match flags.sticky.as_deref() {
        None => Sticky::Ip,
        Some(text) => match Sticky::parse(text).map_err(|e| format!("--sticky {e}"))? {
            Sticky::Consumer => {
                return Err(
                    "--sticky consumer is not possible for a canary: the version is \
                            chosen before policies identify a consumer (use ip, header:NAME or \
                            cookie:NAME)"
                        .into(),
                )
            }
            sticky => sticky,
        },
    };
    let steps = match &flags.steps {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| share("--steps", s.trim()))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "--steps {}: the shares must increase",
            flags.steps.as_deref().unwrap_or("")
        ));
    }
    if steps.last().is_some_and(|&last| last <= percent) {
        return Err(format!(
            "--steps {}: no step is above --canary {text}",
            flags.steps.as_deref().unwrap_or("")
        ));
    }
    let interval_ms = match (&flags.interval, steps.is_empty()) {
        (Some(_), true) => return Err("--interval needs --steps".into()),
        (Some(text), false) => parse_duration("--interval", text)?,
        (None, _) => DEFAULT_INTERVAL_MS,
    };
    let mut judge = Judge::default();
    if let Some(text) = &flags.min_requests {
        judge.min_requests = text
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--min-requests takes a number above 0, not `{text}`"))?;
    }
    let number = |flag: &str, text: &str| {
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("{flag} takes a number, not `{text}`"))
    };
    if let Some(text) = &flags.max_error_increase {
        judge.max_error_rate_increase = number("--max-error-increase", text)?;
    }
    if let Some(text) = &flags.max_p95_ratio {
        judge.max_p95_ratio = number("--max-p95-ratio", text)?;
    }
    if let Some(text) = &flags.min_p95_increase {
        judge.min_p95_increase_ms = number("--min-p95-increase", text)?;
    }
    judge.check().map_err(|e| {
        e.replace("max_error_rate_increase", "--max-error-increase")
            .replace("max_p95_ratio", "--max-p95-ratio")
            .replace("min_p95_increase_ms", "--min-p95-increase")
    })?;
    Ok(Some(CanaryPlan {
        percent,
        sticky,
        steps,
        interval_ms,
        judge,
    }))
}

/// A share above 0 and at most 100, two decimals at most.
fn share(flag: &str, text: &str) -> Result<f64, String> {
    let p: f64 = text
        .strip_suffix('%')
        .unwrap_or(text)
        .parse()
        .map_err(|_| format!("{flag} takes a percentage (e.g. 10 or 0.5), not `{text}`"))?;
    match basis_points(p) {
        Ok(0) => Err(format!("{flag} {text}: a share must be above 0")),
        Ok(_) => Ok(p),
        Err(e) => Err(format!("{flag} {e}")),
    }
}

/// A duration such as `30s`, `10m`, `1h`, `1h30m` or `2d`, in ms (above 0).
pub fn parse_duration(flag: &str, text: &str) -> Result<u64, String> {
    let usage = || format!("{flag} takes a duration such as 30s, 10m, 1h30m or 2d, not `{text}`");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit_ms: u64 = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return Err(usage()),
        };
        let n: u64 = digits.parse().map_err(|_| usage())?;
        total = n
            .checked_mul(unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(usage)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(usage());
    }
    Ok(total)
}

impl CanaryPlan {
    /// The candidate this plan starts, at `now_ms`.
    pub fn candidate(&self, version: &str, now_ms: u64) -> Candidate {
        Candidate {
            version: version.to_owned(),
            percent: self.percent,
            sticky: self.sticky.clone(),
            steps: self.steps.clone(),
            interval_ms: self.interval_ms,
            step_started_ms: now_ms,
            started_ms: now_ms,
            judge: self.judge,
        }
    }
}

/// What a running canary does, for `status` and the `canary` activation's reason.
pub fn describe(c: &Candidate) -> String {
    let steps = if c.steps.is_empty() {
        "no automatic steps".to_owned()
    } else {
        let list: Vec<String> = c.steps.iter().map(|&s| percent(s)).collect();
        format!(
            "steps {} every {}",
            list.join(", "),
            duration(c.interval_ms)
        )
    };
    format!(
        "{} of requests (sticky {}); {steps}; {}",
        percent(c.percent),
        c.sticky,
        c.judge
    )
}

/// `publish --canary`, after the version is uploaded: name it the candidate in
/// `routes/release` (`routes/active` keeps the stable version: one write), record it.
pub fn start(
    args: &Args,
    plan: &CanaryPlan,
    current: &Release,
    record: &gateway::history::VersionRecord,
    started: &Instant,
) -> Result<(), String> {
    let store = args.store();
    let candidate = plan.candidate(&record.version, utc::now_ms());
    let reason = with_note(&format!("canary at {}", describe(&candidate)), &args.note);
    let next = Release {
        candidate: Some(candidate),
        ..current.clone()
    };
    store
        .set_release(&next)
        .map_err(|e| nothing_changed(format!("{e}\nno canary was started")))?;
    step(
        started,
        &format!(
            "{} → {} + canary {} at {}",
            gateway::rollout::release::RELEASE_KEY,
            current.stable,
            record.version,
            percent(plan.percent)
        ),
    );
    store
        .record(
            Some(record),
            &[NewActivation {
                environment: &store.env,
                version: &record.version,
                previous: Some(&current.stable),
                action: Action::Canary,
                author: &record.author,
                activated_at: &record.created_at,
                reason: &reason,
            }],
        )
        .map_err(|e| {
            format!(
                "{e}\nthe canary of {} runs, but D1 missed its record: run `gatewayctl status`",
                record.version
            )
        })?;
    eprintln!(
        "canary {} on {} of requests beside {} in {:.1} s",
        record.version,
        percent(plan.percent),
        current.stable,
        started.elapsed().as_secs_f64()
    );
    println!("{}", record.version);
    Ok(())
}

/// `promote`: the candidate becomes stable (`routes/active`, then `routes/release`).
pub fn promote(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let store = args.store();
    eprintln!(
        "promoting the canary of {} ({})",
        store.env,
        store.wrangler.describe()
    );
    let current = running(args)?;
    let candidate = current.candidate.clone().expect("running() checked");
    let doc = store
        .document(&candidate.version)
        .map_err(nothing_changed)?
        .ok_or_else(|| {
            nothing_changed(format!(
                "the candidate {}'s document is missing from KV",
                candidate.version
            ))
        })?;
    check_document(&doc, &candidate.version, &store.env).map_err(nothing_changed)?;
    let plan = transition::promote(&current, &args.note).expect("running() checked");
    let (author, at) = (args.author(), version::now_rfc3339());
    let rows = plan.activations(&store.env, &author, &at);
    switch_stable(&store, &started, &plan.next, None, &rows)?;
    eprintln!(
        "promoted {} (was {}) in {:.1} s",
        candidate.version,
        current.stable,
        started.elapsed().as_secs_f64()
    );
    println!("{}", candidate.version);
    Ok(())
}

/// `abort`: drop the candidate (`routes/release` only; `routes/active` is the stable already).
pub fn abort(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let store = args.store();
    eprintln!(
        "aborting the canary of {} ({})",
        store.env,
        store.wrangler.describe()
    );
    let current = running(args)?;
    let candidate = current.candidate.as_ref().expect("running() checked");
    let plan = transition::abort(&current, &args.note).expect("running() checked");
    store
        .set_release(&plan.next)
        .map_err(|e| nothing_changed(format!("{e}\nthe canary still runs")))?;
    step(
        &started,
        &format!(
            "{} → {} alone",
            gateway::rollout::release::RELEASE_KEY,
            current.stable
        ),
    );
    let (author, at) = (args.author(), version::now_rfc3339());
    store
        .record(None, &plan.activations(&store.env, &author, &at))
        .map_err(|e| {
            format!(
                "{e}\nthe canary was aborted, but D1 missed the record: run `gatewayctl status`"
            )
        })?;
    eprintln!(
        "aborted the canary of {}; {} serves every request",
        candidate.version, current.stable
    );
    println!("{}", current.stable);
    Ok(())
}

/// The release in force, which must have a candidate.
fn running(args: &Args) -> Result<Release, String> {
    let current = args
        .store()
        .release()
        .map_err(nothing_changed)?
        .ok_or_else(|| nothing_changed("nothing is published yet".into()))?;
    if let Some(why) = &current.ignored {
        eprintln!("note: {why}");
    }
    if current.release.candidate.is_none() {
        return Err(nothing_changed(format!(
            "no canary is running ({} serves every request)",
            current.release.stable
        )));
    }
    Ok(current.release)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(pairs: &[(&str, &str)]) -> CanaryFlags {
        let mut f = CanaryFlags::default();
        for (k, v) in pairs {
            let slot = match *k {
                "canary" => &mut f.percent,
                "sticky" => &mut f.sticky,
                "steps" => &mut f.steps,
                "interval" => &mut f.interval,
                "min-requests" => &mut f.min_requests,
                "max-error-increase" => &mut f.max_error_increase,
                "max-p95-ratio" => &mut f.max_p95_ratio,
                "min-p95-increase" => &mut f.min_p95_increase,
                _ => unreachable!("{k}"),
            };
            *slot = Some((*v).to_owned());
        }
        f
    }

    #[test]
    fn plans_a_canary_from_its_options() {
        assert_eq!(plan(&flags(&[])), Ok(None));
        assert_eq!(
            plan(&flags(&[("canary", "10")])),
            Ok(Some(CanaryPlan {
                percent: 10.0,
                sticky: Sticky::Ip,
                steps: vec![],
                interval_ms: DEFAULT_INTERVAL_MS,
                judge: Judge::default(),
            }))
        );
        let full = flags(&[
            ("canary", "0.5%"),
            ("sticky", "cookie:session"),
            ("steps", "5, 25,50,100"),
            ("interval", "1h30m"),
            ("min-requests", "500"),
            ("max-error-increase", "0.5"),
            ("max-p95-ratio", "2"),
            ("min-p95-increase", "100"),
        ]);
        assert_eq!(
            plan(&full),
            Ok(Some(CanaryPlan {
                percent: 0.5,
                sticky: Sticky::Cookie("session".into()),
                steps: vec![5.0, 25.0, 50.0, 100.0],
                interval_ms: 5_400_000,
                judge: Judge {
                    min_requests: 500,
                    max_error_rate_increase: 0.5,
                    max_p95_ratio: 2.0,
                    min_p95_increase_ms: 100.0
                },
            }))
        );
    }

    #[test]
    fn refuses_what_cannot_run() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("steps", "5,100")], "--steps needs --canary PERCENT"),
            (&[("max-p95-ratio", "2")], "--max-p95-ratio needs --canary PERCENT"),
            (&[("canary", "ten")], "--canary takes a percentage (e.g. 10 or 0.5), not `ten`"),
            (&[("canary", "0")], "--canary 0: a share must be above 0"),
            (&[("canary", "0.125")], "--canary 0.125 is not a percentage from 0 to 100 with at most two decimals"),
            (&[("canary", "100")], "--canary 100 is a plain publish: leave --canary out"),
            (&[("canary", "10"), ("sticky", "consumer")], "--sticky consumer is not possible for a canary: the version is chosen before policies identify a consumer (use ip, header:NAME or cookie:NAME)"),
            (&[("canary", "10"), ("sticky", "query:x")], "--sticky `query:x` is not a sticky key (consumer, ip, header:NAME or cookie:NAME)"),
            (&[("canary", "10"), ("steps", "50,25")], "--steps 50,25: the shares must increase"),
            (&[("canary", "10"), ("steps", "5,10")], "--steps 5,10: no step is above --canary 10"),
            (&[("canary", "10"), ("steps", "5,,100")], "--steps takes a percentage (e.g. 10 or 0.5), not ``"),
            (&[("canary", "10"), ("interval", "10m")], "--interval needs --steps"),
            (&[("canary", "10"), ("steps", "100"), ("interval", "10")], "--interval takes a duration such as 30s, 10m, 1h30m or 2d, not `10`"),
            (&[("canary", "10"), ("min-requests", "0")], "--min-requests takes a number above 0, not `0`"),
            (&[("canary", "10"), ("max-error-increase", "-1")], "--max-error-increase must be 0 or more percentage points, not -1"),
            (&[("canary", "10"), ("max-p95-ratio", "0.9")], "--max-p95-ratio must be at least 1, not 0.9"),
            (&[("canary", "10"), ("min-p95-increase", "inf")], "--min-p95-increase takes a number, not `inf`"),
        ];
        for (pairs, want) in cases {
            assert_eq!(plan(&flags(pairs)), Err((*want).to_owned()), "{pairs:?}");
        }
    }

    #[test]
    fn durations() {
        for (text, want) in [
            ("30s", Ok(30_000)),
            ("10m", Ok(600_000)),
            ("1h30m", Ok(5_400_000)),
            ("2d", Ok(172_800_000)),
            ("0m", Err(())),
            ("10", Err(())),
            ("m", Err(())),
            ("1w", Err(())),
            ("", Err(())),
            ("99999999999999999d", Err(())),
        ] {
            assert_eq!(
                parse_duration("--since", text).map_err(drop),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn describes_a_canary() {
        let plan = plan(&flags(&[("canary", "10"), ("steps", "25,50,100")]))
            .unwrap()
            .unwrap();
        assert_eq!(
            describe(&plan.candidate("V2", 0)),
            "10% of requests (sticky ip); steps 25%, 50%, 100% every 10m; after 100 requests, \
             abort when the 5xx rate is over 1.0 point above stable's, or p95 is over ×1.5 and \
             +50 ms stable's"
        );
    }
}
