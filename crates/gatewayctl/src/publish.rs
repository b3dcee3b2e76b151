//! `publish` and `rollback`: switch the stable version with the pointers written last, and
//! record what was done in D1. Every check runs before the first write, so a refused publish
//! or rollback leaves KV and D1 exactly as they were. `publish --canary` and `--shadow` share
//! the checks and the upload, then name the version in `routes/release` instead
//! ([`crate::canary`], [`crate::shadow`]).

use std::time::Instant;

use gateway::history::{Action, NewActivation, VersionRecord};
use gateway::rollout::canary::percent;
use gateway::rollout::release::{Release, RELEASE_KEY};
use gateway::rollout::transition;
use gateway::table::{RouteDocument, RouteTable, ACTIVE_KEY};

use crate::args::Args;
use crate::source::Source;
use crate::store::Store;
use crate::{canary, shadow, version};

/// Prints a progress line with the time since `started`.
pub fn step(started: &Instant, message: &str) {
    eprintln!("  [{:>6.3}s] {message}", started.elapsed().as_secs_f64());
}

/// `publish`: validate, compile, upload the version, switch the pointers, record it.
pub fn publish(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let env = args.env();
    let doc = Source::read(&args.file)?
        .with_bindings(args)?
        .compile(env)?;
    let store = args.store();
    let what = match (&args.canary, args.shadow) {
        (Some(_), _) => " as a canary",
        (None, true) => " as a shadow",
        (None, false) => "",
    };
    eprintln!(
        "publishing {}{what} to {} KV and D1 ({env})",
        args.file.display(),
        store.wrangler.describe()
    );
    step(
        &started,
        &format!(
            "validated: {} routes, checksum {}",
            doc.routes.len(),
            &doc.checksum[..12]
        ),
    );

    let current = store.release().map_err(nothing_changed)?;
    if let Some(why) = current.as_ref().and_then(|c| c.ignored.as_deref()) {
        eprintln!("note: {why}");
    }
    let current = current.map(|c| c.release);
    let previous = current.as_ref().map(|r| r.stable.clone());
    step(
        &started,
        &format!("active version: {}", previous.as_deref().unwrap_or("none")),
    );
    let running = current.as_ref().and_then(|r| r.candidate.as_ref());
    if let Some(c) = running.filter(|_| !args.shadow) {
        return Err(nothing_changed(format!(
            "a canary of {} is running on {} of requests: `gatewayctl promote` or \
             `gatewayctl abort` it first",
            c.version,
            percent(c.percent)
        )));
    }
    if (args.canary.is_some() || args.shadow) && current.is_none() {
        return Err(nothing_changed(
            "nothing is published yet: a canary or a shadow runs beside a stable version; \
             publish without --canary or --shadow first"
                .into(),
        ));
    }
    if let Some(active) = &previous {
        let same = store
            .version(active)
            .map_err(nothing_changed)?
            .is_some_and(|r| r.checksum == doc.checksum);
        if same && !args.force && what.is_empty() {
            eprintln!("unchanged: {active} has the same content; nothing was published (--force publishes anyway)");
            println!("{active}");
            return Ok(());
        }
        if same && !args.force {
            return Err(nothing_changed(format!(
                "{active} has the same content: there is nothing to compare (--force publishes \
                 it{what} anyway)"
            )));
        }
    }

    let record = VersionRecord {
        version: doc.version.clone(),
        checksum: doc.checksum.clone(),
        environment: env.to_owned(),
        author: args.author(),
        note: args.note.clone(),
        route_count: doc.routes.len() as i64,
        created_at: version::now_rfc3339(),
    };
    store.put_document(&doc).map_err(nothing_changed)?;
    step(
        &started,
        &format!("uploaded {}", gateway::table::version_key(&doc.version)),
    );
    match (&args.canary, &current) {
        (Some(plan), Some(current)) => {
            return canary::start(args, plan, current, &record, &started)
        }
        (None, Some(current)) if args.shadow => {
            return shadow::start(args, current, &record, &started)
        }
        _ => {}
    }

    let reason = with_note(
        &previous
            .as_deref()
            .map_or_else(|| "first version".to_owned(), |p| format!("replaces {p}")),
        &args.note,
    );
    let ended = current.as_ref().and_then(|r| r.shadow.as_deref());
    let shadow_reason = format!("publishing {} ended the shadow", doc.version);
    let mut rows = Vec::new();
    if let Some(shadow) = ended {
        rows.push(NewActivation {
            environment: env,
            version: &doc.version,
            previous: Some(shadow),
            action: Action::ShadowEnd,
            author: &record.author,
            activated_at: &record.created_at,
            reason: &shadow_reason,
        });
    }
    rows.push(NewActivation {
        environment: env,
        version: &doc.version,
        previous: previous.as_deref(),
        action: Action::Publish,
        author: &record.author,
        activated_at: &record.created_at,
        reason: &reason,
    });
    switch_stable(
        &store,
        &started,
        &Release::stable_only(&doc.version),
        Some(&record),
        &rows,
    )?;
    if let Some(shadow) = ended {
        eprintln!("the shadow {shadow} ended (it was compared with the previous version)");
    }
    eprintln!(
        "published {} in {:.1} s",
        doc.version,
        started.elapsed().as_secs_f64()
    );
    println!("{}", doc.version);
    Ok(())
}

/// `rollback`: make an earlier version stable again (default: the one before the stable);
/// a running canary is aborted and a shadow ended.
pub fn rollback(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let store = args.store();
    eprintln!("rolling back {} ({})", store.env, store.wrangler.describe());
    let current = store.release().map_err(nothing_changed)?;
    if let Some(why) = current.as_ref().and_then(|c| c.ignored.as_deref()) {
        eprintln!("note: {why}");
    }
    let current = current.map(|c| c.release);
    let stable = current.as_ref().map(|r| r.stable.as_str());
    let target = match &args.to {
        Some(version) => version.clone(),
        None => store
            .stable_activation()
            .map_err(nothing_changed)?
            .and_then(|a| a.previous)
            .ok_or_else(|| {
                nothing_changed(
                    "there is no previous version to roll back to; name one with --to".into(),
                )
            })?,
    };
    if stable == Some(target.as_str()) {
        return Err(nothing_changed(format!("{target} is already active")));
    }
    if store.version(&target).map_err(nothing_changed)?.is_none() {
        return Err(nothing_changed(format!(
            "version {target} was never published to {} (see `gatewayctl history`)",
            store.env
        )));
    }
    let doc = store
        .document(&target)
        .map_err(nothing_changed)?
        .ok_or_else(|| {
            nothing_changed(format!(
                "version {target} is recorded in D1 but its document is missing from KV"
            ))
        })?;
    check_document(&doc, &target, &store.env).map_err(nothing_changed)?;
    step(&started, &format!("{target} is present and valid"));

    let (author, at) = (args.author(), version::now_rfc3339());
    let plan = transition::rollback(current.as_ref(), &target, args.to.is_some(), &args.note);
    if let (Some(c), Some(s)) = (current.as_ref().and_then(|r| r.candidate.as_ref()), stable) {
        eprintln!(
            "the canary of {} ends: it was running beside {s}",
            c.version
        );
    }
    if let Some(shadow) = current.as_ref().and_then(|r| r.shadow.as_deref()) {
        eprintln!("the shadow {shadow} ends");
    }
    let rows = plan.activations(&store.env, &author, &at);
    switch_stable(&store, &started, &plan.next, None, &rows)?;
    eprintln!(
        "rolled back from {} to {target} in {:.1} s",
        stable.unwrap_or("none"),
        started.elapsed().as_secs_f64()
    );
    println!("{target}");
    Ok(())
}

/// Makes `next.stable` the stable version: `routes/active` first, `routes/release` second,
/// then records `version` (if new) and `rows` in D1.
///
/// Why this order: a worker uses `routes/release` only when its `stable` equals
/// `routes/active`. Between the two writes (and while KV propagates them, in either order)
/// a reader sees the new `routes/active` beside the old release document, whose `stable` is
/// the old version: the document is stale, so the worker serves the new version alone — the
/// one this command makes stable. A reader still seeing the old `routes/active` beside the new
/// document likewise ignores the document and serves the old version, as before the command.
/// No mix serves a candidate or a shadow that is not meant to run: written the other way
/// round, a `promote` would first take the candidate's traffic back to the old version.
/// If the second write fails, the gateway serves `next.stable` alone until the next publish,
/// rollback or promote rewrites the document.
pub fn switch_stable(
    store: &Store,
    started: &Instant,
    next: &Release,
    version: Option<&VersionRecord>,
    rows: &[NewActivation<'_>],
) -> Result<(), String> {
    let stable = &next.stable;
    store.set_active(stable).map_err(|e| {
        format!(
            "{e}
{ACTIVE_KEY} is unchanged: the gateway serves what it served before"
        )
    })?;
    step(started, &format!("{ACTIVE_KEY} → {stable}"));
    let release = store.set_release(next);
    if release.is_ok() {
        step(started, &format!("{RELEASE_KEY} → {}", describe(next)));
    }
    store.record(version, rows).map_err(|e| {
        format!(
            "{e}
{stable} is active, but D1 missed its record: run `gatewayctl status`"
        )
    })?;
    step(started, "recorded the transition in D1");
    release.map_err(|e| {
        format!(
            "{e}
{stable} is active, but {RELEASE_KEY} could not be written: the gateway \
             ignores the stale document and serves {stable} alone; the next publish, rollback \
             or promote rewrites it"
        )
    })
}

/// `V1`, `V1 + canary V2 at 10%`, `V1 + shadow V3`.
pub fn describe(release: &Release) -> String {
    let mut text = release.stable.clone();
    if let Some(c) = &release.candidate {
        text += &format!(" + canary {} at {}", c.version, percent(c.percent));
    }
    if let Some(s) = &release.shadow {
        text += &format!(" + shadow {s}");
    }
    text
}

/// A transition's reason with the `--note`, if one was given.
pub use gateway::rollout::transition::with_note;

/// The worker would accept `doc` as version `version` of `env`.
pub fn check_document(doc: &RouteDocument, version: &str, env: &str) -> Result<(), String> {
    if doc.version != version || doc.environment != env {
        return Err(format!(
            "the KV document for {version} says it is {} for {}",
            doc.version, doc.environment
        ));
    }
    RouteTable::try_from(doc.clone())
        .map(drop)
        .map_err(|e| format!("version {version} does not validate:\n{e}"))
}

/// `error`, saying that nothing was changed.
pub fn nothing_changed(error: String) -> String {
    format!("{error}\nnothing was changed")
}
