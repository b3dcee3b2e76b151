//! `history` and `status`: what D1 recorded, whether KV agrees, and what runs beside the
//! stable version (a canary, a shadow).

use gateway::rollout::canary::{duration, percent};
use gateway::rollout::release::{Candidate, Effective};

use crate::args::Args;
use crate::{canary, utc};

/// `history`: versions and activations, newest first, the active one marked.
pub fn history(args: &Args) -> Result<(), String> {
    let store = args.store();
    let active = store.active()?;
    let versions = store.versions(args.limit)?;
    let activations = store.activations(args.limit)?;
    println!("versions ({}, newest first; * = active in KV)", store.env);
    for v in &versions {
        let mark = if active.as_deref() == Some(v.version.as_str()) {
            '*'
        } else {
            ' '
        };
        let note = if v.note.is_empty() {
            String::new()
        } else {
            format!("  \"{}\"", v.note)
        };
        println!(
            "{mark} {}  {:>3} routes  {}  {}  {}{note}",
            v.version,
            v.route_count,
            &v.checksum[..12.min(v.checksum.len())],
            v.created_at,
            v.author
        );
    }
    println!("activations (newest first)");
    for a in &activations {
        println!(
            "  #{:<4} {}  {:<8}  {} → {}  by {}",
            a.id,
            a.activated_at,
            a.action,
            a.previous.as_deref().unwrap_or("none"),
            a.version,
            a.author
        );
        if !a.reason.is_empty() {
            println!("         {}", a.reason);
        }
    }
    Ok(())
}

/// `status`: the active version per KV and per D1, then the canary and the shadow if any;
/// non-zero exit when KV and D1 disagree.
pub fn status(args: &Args) -> Result<(), String> {
    let store = args.store();
    let release = store.release()?;
    let kv = release.as_ref().map(|e| e.release.stable.clone());
    let d1 = store.stable_activation()?.map(|a| a.version);
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
    println!("environment: {}", store.env);
    println!("active in KV: {}", show(&kv));
    println!("active in D1: {}", show(&d1));
    if let Some(effective) = &release {
        print!("{}", beside(effective, utc::now_ms()));
    }
    if kv != d1 {
        return Err(format!(
            "warning: KV and D1 disagree — the gateway serves {}; re-run the last publish or \
             `gatewayctl rollback --to {}` to reconcile",
            show(&kv),
            show(&kv)
        ));
    }
    println!("in agreement");
    Ok(())
}

/// The lines `status` adds for a canary, a shadow, or a release pointer the gateway ignores.
fn beside(effective: &Effective, now_ms: u64) -> String {
    let mut out = String::new();
    if let Some(why) = &effective.ignored {
        out += &format!("release pointer: {why}\n");
    }
    let release = &effective.release;
    if let Some(c) = &release.candidate {
        out += &format!("canary: {} on {}\n", c.version, canary::describe(c));
        out += &format!("  {}\n", progress(c, now_ms));
    }
    if let Some(shadow) = &release.shadow {
        out += &format!("shadow: {shadow} (`gatewayctl shadow report` shows the differences)\n");
    }
    out
}

/// When the canary started, its current step, and when the next one may come.
fn progress(c: &Candidate, now_ms: u64) -> String {
    let at = |ms: u64| utc::format(ms / 1000);
    let mut text = format!(
        "started {} ({} ago); at {} since {}",
        at(c.started_ms),
        duration(now_ms.saturating_sub(c.started_ms)),
        percent(c.percent),
        at(c.step_started_ms)
    );
    match c.next_step() {
        _ if c.steps.is_empty() => text += "; promote or abort by hand",
        None => text += "; the last step: promote or abort by hand",
        Some(next) => {
            let due = c.step_started_ms.saturating_add(c.interval_ms);
            let then = if next >= 100.0 {
                "promotion".to_owned()
            } else {
                percent(next)
            };
            text += &format!("; {then} if healthy, not before {}", at(due));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::rollout::release::Release;

    #[test]
    fn shows_what_runs_beside_the_stable_version() {
        let text = r#"{"format":1,"stable":"V1","candidate":{"version":"V2","percent":10,
            "steps":[25,100],"interval_ms":600000,"step_started_ms":1795317300000,
            "started_ms":1795317000000},"shadow":"V3"}"#;
        let effective = Release::effective(Some("V1"), Some(text)).unwrap();
        assert_eq!(
            beside(&effective, 1_795_317_600_000),
            "canary: V2 on 10% of requests (sticky ip); steps 25%, 100% every 10m; after 100 \
             requests, abort when the 5xx rate is over 1.0 point above stable's, or p95 is over \
             ×1.5 and +50 ms stable's\n  started 2026-11-22T03:10:00Z (10m ago); at 10% since \
             2026-11-22T03:15:00Z; 25% if healthy, not before 2026-11-22T03:25:00Z\n\
             shadow: V3 (`gatewayctl shadow report` shows the differences)\n"
        );
        let stale = Release::effective(Some("V0"), Some(text)).unwrap();
        assert_eq!(
            beside(&stale, 0),
            "release pointer: routes/release ignored: it names V1 as stable but routes/active \
             is V0 (stale: routes/active was changed without it)\n"
        );
        let plain = Release::effective(Some("V1"), Some(r#"{"format":1,"stable":"V1"}"#));
        assert_eq!(beside(&plain.unwrap(), 0), "");
    }
}
