//! `publish` and `rollback`: switch the active version with the pointer written last, and
//! record what was done in D1. Every check runs before the first write, so a refused publish
//! or rollback leaves KV and D1 exactly as they were.

use std::time::Instant;

use gateway::history::VersionRecord;
use gateway::table::{RouteDocument, RouteTable};

use crate::args::Args;
use crate::source::Source;
use crate::version;

fn step(started: &Instant, message: &str) {
    eprintln!("  [{:>6.3}s] {message}", started.elapsed().as_secs_f64());
}

/// `publish`: validate, compile, upload the version, switch the pointer, record it.
pub fn publish(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let env = args.env();
    let doc = Source::read(&args.file)?
        .with_bindings(args)?
        .compile(env)?;
    let store = args.store();
    eprintln!(
        "publishing {} to {} KV and D1 ({env})",
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

    let previous = store.active().map_err(nothing_changed)?;
    step(
        &started,
        &format!("active version: {}", previous.as_deref().unwrap_or("none")),
    );
    if let Some(active) = &previous {
        let same = store
            .version(active)
            .map_err(nothing_changed)?
            .is_some_and(|r| r.checksum == doc.checksum);
        if same && !args.force {
            eprintln!("unchanged: {active} has the same content; nothing was published (--force publishes anyway)");
            println!("{active}");
            return Ok(());
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
    store
        .set_active(&doc.version)
        .map_err(|e| format!("{e}\nthe active version is unchanged; publish again"))?;
    step(
        &started,
        &format!("{} → {}", gateway::table::ACTIVE_KEY, doc.version),
    );
    store
        .record_publish(&record, previous.as_deref())
        .map_err(|e| {
            format!(
                "{e}\n{} is active, but D1 missed its record: run `gatewayctl status`",
                doc.version
            )
        })?;
    step(&started, "recorded the version and its activation in D1");
    eprintln!(
        "published {} in {:.1} s",
        doc.version,
        started.elapsed().as_secs_f64()
    );
    println!("{}", doc.version);
    Ok(())
}

/// `rollback`: point the gateway at an earlier version (default: the one before the active).
pub fn rollback(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let store = args.store();
    eprintln!("rolling back {} ({})", store.env, store.wrangler.describe());
    let current = store.active().map_err(nothing_changed)?;
    let target = match &args.to {
        Some(version) => version.clone(),
        None => store
            .activations(1)
            .map_err(nothing_changed)?
            .into_iter()
            .next()
            .and_then(|a| a.previous)
            .ok_or_else(|| {
                nothing_changed(
                    "there is no previous version to roll back to; name one with --to".into(),
                )
            })?,
    };
    if current.as_deref() == Some(target.as_str()) {
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

    store
        .set_active(&target)
        .map_err(|e| format!("{e}\nthe active version is unchanged"))?;
    step(
        &started,
        &format!("{} → {target}", gateway::table::ACTIVE_KEY),
    );
    store
        .record_rollback(
            &target,
            current.as_deref(),
            &args.author(),
            &version::now_rfc3339(),
        )
        .map_err(|e| {
            format!(
                "{e}\n{target} is active, but D1 missed the activation: run `gatewayctl status`"
            )
        })?;
    eprintln!(
        "rolled back from {} to {target} in {:.1} s",
        current.as_deref().unwrap_or("none"),
        started.elapsed().as_secs_f64()
    );
    println!("{target}");
    Ok(())
}

/// The worker would accept `doc` as version `version` of `env`.
fn check_document(doc: &RouteDocument, version: &str, env: &str) -> Result<(), String> {
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

fn nothing_changed(error: String) -> String {
    format!("{error}\nnothing was changed")
}
