//! The contract verbs at the edge: `check`'s contract part (reading each upstream's contract
//! beside `routes.toml` and locating what [`contract::check`] finds) and `contract-diff`.

use crate::args::Args;
use crate::contract::{self, check::Upstream, Contract};
use crate::source::Source;

/// What the contract part of `check` found, located.
#[derive(Debug, Default)]
pub struct Found {
    /// Problems: line, column, message.
    pub problems: Vec<(usize, usize, String)>,
    /// Information lines, ready to print.
    pub info: Vec<String>,
    /// How many upstreams name a contract.
    pub upstreams: usize,
}

/// Reads the contract of every upstream that names one (relative to the route file) and
/// checks the routes against them.
pub fn check(source: &Source) -> Found {
    let mut found = Found::default();
    let mut loaded = Vec::new();
    for (name, upstream) in &source.file.upstreams {
        let Some(path) = &upstream.contract else {
            continue;
        };
        found.upstreams += 1;
        let subject = gateway::table::Subject::Upstream(name.clone());
        match Contract::read(&source.dir().join(path)) {
            Ok(contract) => loaded.push((name, path, &upstream.health_path, contract)),
            Err(e) => {
                let (line, col) = source.locate(&subject);
                found
                    .problems
                    .push((line, col, format!("{subject}: contract {path}: {e}")));
            }
        }
    }
    let upstreams: Vec<Upstream<'_>> = loaded
        .iter()
        .map(|(name, path, health_path, contract)| Upstream {
            name,
            source: path,
            contract,
            health_path,
        })
        .collect();
    let report = contract::check::check(&source.file.routes, &upstreams);
    for f in &report.problems {
        let (line, col) = source.locate(&f.subject);
        found
            .problems
            .push((line, col, format!("{}: {}", f.subject, f.message)));
    }
    for f in &report.unexposed {
        let (line, col) = source.locate(&f.subject);
        found.info.push(format!(
            "{}:{line}:{col}: info: {}: {}",
            source.name, f.subject, f.message
        ));
    }
    found
}

/// `contract-diff OLD NEW`: every change, classified; fails on a breaking change unless NEW's
/// `info.version` has a higher major version than OLD's.
pub fn diff(args: &Args) -> Result<(), String> {
    let (old_path, new_path) = args.contracts.as_ref().expect("checked by the parser");
    let read = |path: &std::path::Path| {
        Contract::read(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (old, new) = (read(old_path)?, read(new_path)?);
    let entries = contract::diff::diff(&old, &new);
    for entry in &entries {
        println!("{entry}");
    }
    let breaking = entries.iter().filter(|e| e.breaking).count();
    let versions = format!("{} → {}", old.version_text, new.version_text);
    let heading = format!("{} → {}", old_path.display(), new_path.display());
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let summary = format!(
        "{heading} (version {versions}): {breaking} breaking change{}, {} compatible",
        plural(breaking),
        entries.len() - breaking
    );
    if breaking == 0 {
        println!("{summary}");
        return Ok(());
    }
    match (old.version, new.version) {
        (Some(o), Some(n)) if o.allows_breaking_change_to(n) => {
            println!("{summary}; the major version bump announces them");
            Ok(())
        }
        (Some(o), _) => Err(format!(
            "{summary}: a breaking change needs a new major version: {}.0.0 or above",
            o.major + 1
        )),
        (None, _) => Err(format!(
            "{summary}: a breaking change needs a new major version, and OLD's info.version `{}` is not MAJOR.MINOR.PATCH",
            old.version_text
        )),
    }
}
