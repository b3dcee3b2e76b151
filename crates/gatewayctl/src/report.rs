//! `history` and `status`: what D1 recorded, and whether KV agrees.

use crate::args::Args;

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
    }
    Ok(())
}

/// `status`: the active version per KV and per D1; non-zero exit when they disagree.
pub fn status(args: &Args) -> Result<(), String> {
    let store = args.store();
    let kv = store.active()?;
    let d1 = store.activations(1)?.into_iter().next().map(|a| a.version);
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
    println!("environment: {}", store.env);
    println!("active in KV: {}", show(&kv));
    println!("active in D1: {}", show(&d1));
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
