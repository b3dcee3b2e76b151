//! Publishing through `wrangler kv`: the version document first, then the active pointer, so
//! the worker never follows a pointer to a document that is not there yet.

use std::path::PathBuf;
use std::process::Command;

use gateway::table::{version_key, ACTIVE_KEY};

use crate::args::Args;
use crate::source;

/// KV binding the worker reads route tables from.
const BINDING: &str = "ROUTES";

/// `publish`: validate, compile, write the version, switch the pointer.
pub fn publish(args: &Args) -> Result<(), String> {
    let doc = source::compile(args)?;
    let dir = std::env::temp_dir().join(format!("gatewayctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let doc_file = dir.join("document.json");
    std::fs::write(&doc_file, doc.to_json()).map_err(|e| format!("{}: {e}", doc_file.display()))?;

    eprintln!(
        "publishing {} ({} routes) to {} KV…",
        doc.version,
        doc.routes.len(),
        target(args)
    );
    let key = version_key(&doc.version);
    let written = kv_put(args, &key, KvValue::File(doc_file)).and_then(|()| {
        eprintln!("  wrote {key}");
        kv_put(args, ACTIVE_KEY, KvValue::Text(doc.version.clone()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    written?;
    eprintln!("  {ACTIVE_KEY} → {}", doc.version);
    println!("{}", doc.version);
    for route in &doc.routes {
        let methods = if route.methods.is_empty() {
            "*".to_owned()
        } else {
            route.methods.join(",")
        };
        let host = route.host.as_deref().unwrap_or("*");
        eprintln!(
            "  {:<22} {:<18} {host}{} → {}",
            route.id, methods, route.path, route.upstream
        );
    }
    Ok(())
}

fn target(args: &Args) -> &'static str {
    if args.local {
        "local"
    } else {
        "remote"
    }
}

enum KvValue {
    File(PathBuf),
    Text(String),
}

fn kv_put(args: &Args, key: &str, value: KvValue) -> Result<(), String> {
    let mut cmd = wrangler();
    cmd.args(["kv", "key", "put", key]);
    match &value {
        KvValue::File(path) => cmd.arg("--path").arg(path),
        KvValue::Text(text) => cmd.arg(text),
    };
    cmd.args(["--binding", BINDING]);
    if args.local {
        cmd.arg("--local");
    } else {
        cmd.arg("--remote");
    }
    if let Some(dir) = &args.persist_to {
        cmd.arg("--persist-to").arg(dir);
    }
    if let Some(config) = &args.config {
        cmd.arg("--config").arg(config);
    }
    if let Some(env) = args.env.as_deref().filter(|e| *e != "local") {
        cmd.args(["--env", env]);
    }
    let output = cmd.output().map_err(|e| {
        format!("could not run wrangler ({e}); run `npm install` first or set WRANGLER")
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    Err(format!(
        "wrangler kv key put {key} failed ({}):\n{}{}\nnothing after this step was changed",
        output.status,
        stdout.trim(),
        stderr.trim()
    ))
}

/// The wrangler command: `$WRANGLER`, else the project's node_modules copy, run with the
/// project's Node (wrangler needs Node ≥ 22) first on PATH.
fn wrangler() -> Command {
    let bin = std::env::var("WRANGLER").unwrap_or_else(|_| "node_modules/.bin/wrangler".into());
    let mut cmd = Command::new(bin);
    let path = std::env::var("PATH").unwrap_or_default();
    let local_bin = std::env::current_dir()
        .unwrap_or_default()
        .join("node_modules/.bin");
    cmd.env("PATH", format!("{}:{path}", local_bin.display()));
    cmd.env("WRANGLER_SEND_METRICS", "false");
    cmd
}
