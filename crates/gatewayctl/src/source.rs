//! Reading `routes.toml`: parse, compile for an environment, validate with the worker's code.

use gateway::table::source::RouteFile;
use gateway::table::{RouteDocument, RouteTable};

use crate::args::Args;
use crate::version;

/// Reads and parses the route file named by `args`.
pub fn read(args: &Args) -> Result<RouteFile, String> {
    let path = args.file.display();
    let text = std::fs::read_to_string(&args.file).map_err(|e| format!("{path}: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// Compiles for one environment, validates, and stamps a version id and checksum.
pub fn compile(args: &Args) -> Result<RouteDocument, String> {
    let file = read(args)?;
    let env = args.env.as_deref().expect("--env is checked by the parser");
    let mut doc = compile_env(&file, env).map_err(|problems| report(args, &problems))?;
    doc.checksum = version::checksum(&doc);
    doc.version = version::new_id(&doc.checksum);
    Ok(doc)
}

/// `check`: validates every environment (or the one asked for) and lists every problem.
pub fn check(args: &Args) -> Result<(), String> {
    let file = read(args)?;
    let envs = match &args.env {
        Some(env) => vec![env.clone()],
        None => file.environments(),
    };
    if envs.is_empty() {
        return Err(report(
            args,
            &["no upstream names an environment".to_owned()],
        ));
    }
    let mut problems = Vec::new();
    for env in &envs {
        if let Err(found) = compile_env(&file, env) {
            problems.extend(found.into_iter().map(|p| format!("[{env}] {p}")));
        }
    }
    if !problems.is_empty() {
        return Err(report(args, &problems));
    }
    println!(
        "{}: ok — {} routes, {} upstreams, environments: {}",
        args.file.display(),
        file.routes.len(),
        file.upstreams.len(),
        envs.join(", ")
    );
    Ok(())
}

/// The document for `env`, checked by the worker's validation (with a placeholder version).
fn compile_env(file: &RouteFile, env: &str) -> Result<RouteDocument, Vec<String>> {
    let doc = file
        .compile(env)
        .map_err(|missing| missing.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let probe = RouteDocument {
        version: "check".into(),
        ..doc.clone()
    };
    RouteTable::try_from(probe)
        .map(|_| doc)
        .map_err(|errors| errors.0.iter().map(ToString::to_string).collect())
}

fn report(args: &Args, problems: &[String]) -> String {
    let mut out = format!("{}: {} problem(s)", args.file.display(), problems.len());
    for p in problems {
        out.push_str("\n  ");
        out.push_str(p);
    }
    out
}
