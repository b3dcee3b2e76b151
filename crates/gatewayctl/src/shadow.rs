//! Shadow evaluation from the command line: `publish --shadow` names a version the gateway
//! also looks each request up in (it never serves), `shadow report` prints what it would have
//! done differently (D1 `shadow_diffs`), `shadow end` stops it.

use std::time::Instant;

use gateway::history::{Action, NewActivation, ShadowDiff, VersionRecord};
use gateway::rollout::canary::duration;
use gateway::rollout::release::{Release, RELEASE_KEY};

use crate::args::Args;
use crate::publish::{describe, nothing_changed, step, with_note};
use crate::{utc, version};

/// `publish --shadow`, after the version is uploaded: name it the shadow in `routes/release`
/// (one write; what serves does not change), record it.
pub fn start(
    args: &Args,
    current: &Release,
    record: &VersionRecord,
    started: &Instant,
) -> Result<(), String> {
    let store = args.store();
    let next = Release {
        shadow: Some(record.version.clone()),
        ..current.clone()
    };
    store
        .set_release(&next)
        .map_err(|e| nothing_changed(format!("{e}\nno shadow was started")))?;
    step(started, &format!("{RELEASE_KEY} → {}", describe(&next)));
    let mut reason = format!("evaluating {} beside {}", record.version, current.stable);
    if let Some(old) = &current.shadow {
        reason += &format!(" (replaces the shadow {old})");
    }
    store
        .record(
            Some(record),
            &[NewActivation {
                environment: &store.env,
                version: &record.version,
                previous: current.shadow.as_deref(),
                action: Action::Shadow,
                author: &record.author,
                activated_at: &record.created_at,
                reason: &with_note(&reason, &args.note),
            }],
        )
        .map_err(|e| {
            format!(
                "{e}\nthe shadow {} runs, but D1 missed its record: run `gatewayctl status`",
                record.version
            )
        })?;
    eprintln!(
        "shadow {} evaluated beside {} (see `gatewayctl shadow report`) in {:.1} s",
        record.version,
        current.stable,
        started.elapsed().as_secs_f64()
    );
    println!("{}", record.version);
    Ok(())
}

/// `shadow end`: stop evaluating the shadow.
pub fn end(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let store = args.store();
    let current = store
        .release()
        .map_err(nothing_changed)?
        .ok_or_else(|| nothing_changed("nothing is published yet".into()))?;
    if let Some(why) = &current.ignored {
        eprintln!("note: {why}");
    }
    let current = current.release;
    let Some(shadow) = current.shadow.clone() else {
        return Err(nothing_changed("no shadow is running".into()));
    };
    let next = Release {
        shadow: None,
        ..current.clone()
    };
    store
        .set_release(&next)
        .map_err(|e| nothing_changed(format!("{e}\nthe shadow still runs")))?;
    step(&started, &format!("{RELEASE_KEY} → {}", describe(&next)));
    store
        .record(
            None,
            &[NewActivation {
                environment: &store.env,
                version: &current.stable,
                previous: Some(&shadow),
                action: Action::ShadowEnd,
                author: &args.author(),
                activated_at: &version::now_rfc3339(),
                reason: &with_note("ended by hand", &args.note),
            }],
        )
        .map_err(|e| {
            format!("{e}\nthe shadow ended, but D1 missed the record: run `gatewayctl status`")
        })?;
    eprintln!("the shadow {shadow} ended");
    println!("{}", current.stable);
    Ok(())
}

/// `shadow report`: the differences the shadow (running, else the latest one) showed.
pub fn report(args: &Args) -> Result<(), String> {
    let store = args.store();
    let running = store.release()?.and_then(|e| e.release.shadow);
    let shadow = match running {
        Some(v) => v,
        None => store
            .last_activation(Action::Shadow)?
            .map(|a| a.version)
            .ok_or_else(|| format!("no shadow has run in {}", store.env))?,
    };
    let now_ms = utc::now_ms();
    let since_ms = now_ms.saturating_sub(args.since_ms);
    let rows = store.shadow_diffs(&shadow, since_ms as i64)?;
    print!(
        "{}",
        render(&shadow, &utc::format(since_ms / 1000), args.since_ms, &rows)
    );
    Ok(())
}

/// The report's text: a heading, then per kind of difference its rows, most frequent first.
fn render(shadow: &str, since: &str, since_ms: u64, rows: &[ShadowDiff]) -> String {
    let total: i64 = rows.iter().map(|r| r.requests).sum();
    let mut out = format!(
        "shadow {shadow}: {total} requests served differently since {since} (last {})\n",
        duration(since_ms)
    );
    if rows.is_empty() {
        out += "no differences\n";
        return out;
    }
    let mut kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let of_kind: Vec<&ShadowDiff> = rows.iter().filter(|r| r.kind == kind).collect();
        let n: i64 = of_kind.iter().map(|r| r.requests).sum();
        out += &format!("{kind} ({n} requests)\n");
        for r in of_kind {
            out += &format!(
                "  {:<7} {:>7}  {} → {}  [{} → {}]  e.g. {}\n",
                r.method,
                r.requests,
                r.active_target,
                r.shadow_target,
                r.route,
                r.shadow_route,
                r.sample_path
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(kind: &str, method: &str, requests: i64, targets: (&str, &str)) -> ShadowDiff {
        ShadowDiff {
            kind: kind.into(),
            method: method.into(),
            route: "orders-get".into(),
            shadow_route: "orders-beta".into(),
            active_target: targets.0.into(),
            shadow_target: targets.1.into(),
            requests,
            sample_path: "/api/orders/7".into(),
        }
    }

    #[test]
    fn renders_per_kind() {
        let rows = [
            diff(
                "upstream",
                "GET",
                120,
                ("orders /orders/7", "orders-v2 /orders/7"),
            ),
            diff(
                "path",
                "GET",
                30,
                ("orders /orders/7", "orders /v2/orders/7"),
            ),
            diff(
                "upstream",
                "DELETE",
                2,
                ("orders /orders/7", "orders-v2 /orders/7"),
            ),
        ];
        assert_eq!(
            render("V3", "2026-11-22T02:15:00Z", 3_600_000, &rows),
            "shadow V3: 152 requests served differently since 2026-11-22T02:15:00Z (last 1h)\n\
             path (30 requests)\n\
             \x20 GET          30  orders /orders/7 → orders /v2/orders/7  [orders-get → orders-beta]  e.g. /api/orders/7\n\
             upstream (122 requests)\n\
             \x20 GET         120  orders /orders/7 → orders-v2 /orders/7  [orders-get → orders-beta]  e.g. /api/orders/7\n\
             \x20 DELETE        2  orders /orders/7 → orders-v2 /orders/7  [orders-get → orders-beta]  e.g. /api/orders/7\n"
        );
        assert_eq!(
            render("V3", "2026-11-22T02:15:00Z", 600_000, &[]),
            "shadow V3: 0 requests served differently since 2026-11-22T02:15:00Z (last 10m)\nno differences\n"
        );
    }
}
