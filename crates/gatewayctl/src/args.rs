//! Command-line arguments.

use std::path::PathBuf;

use crate::store::Store;
use crate::wrangler::Wrangler;

/// The verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Print usage.
    Help,
    /// Validate a route file.
    Check,
    /// Print the compiled document.
    Compile,
    /// Compare a route file with a published version (or another file).
    Diff,
    /// Publish a new version and make it active.
    Publish,
    /// Make an earlier version active again.
    Rollback,
    /// List versions and activations.
    History,
    /// Compare the active version in KV and D1.
    Status,
}

/// Parsed arguments.
#[derive(Debug, Clone)]
pub struct Args {
    pub command: Command,
    pub file: PathBuf,
    pub env: Option<String>,
    pub local: bool,
    pub persist_to: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub note: String,
    pub author: Option<String>,
    pub force: bool,
    pub against: Option<String>,
    pub to: Option<String>,
    pub requests: Option<PathBuf>,
    pub limit: i64,
}

impl Args {
    /// Parses `gatewayctl VERB [FILE] [--flag value]…`.
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let command = match argv.next().as_deref() {
            None | Some("help" | "--help" | "-h") => Command::Help,
            Some("check") => Command::Check,
            Some("compile") => Command::Compile,
            Some("diff") => Command::Diff,
            Some("publish") => Command::Publish,
            Some("rollback") => Command::Rollback,
            Some("history") => Command::History,
            Some("status") => Command::Status,
            Some(other) => return Err(format!("unknown command `{other}`")),
        };
        let mut args = Args {
            command,
            file: PathBuf::from("routes.toml"),
            env: None,
            local: false,
            persist_to: None,
            config: None,
            note: String::new(),
            author: None,
            force: false,
            against: None,
            to: None,
            requests: None,
            limit: 20,
        };
        let mut file = None;
        while let Some(arg) = argv.next() {
            let mut value = |flag: &str| argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match arg.as_str() {
                "--env" => args.env = Some(value("--env")?),
                "--local" => args.local = true,
                "--persist-to" => args.persist_to = Some(value("--persist-to")?.into()),
                "--config" => args.config = Some(value("--config")?.into()),
                "--note" => args.note = value("--note")?,
                "--author" => args.author = Some(value("--author")?),
                "--force" => args.force = true,
                "--against" => args.against = Some(value("--against")?),
                "--to" => args.to = Some(value("--to")?),
                "--requests" => args.requests = Some(value("--requests")?.into()),
                "--limit" => {
                    let v = value("--limit")?;
                    args.limit = v
                        .parse()
                        .map_err(|_| format!("--limit takes a number, not `{v}`"))?;
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                path if file.is_none() => file = Some(PathBuf::from(path)),
                extra => return Err(format!("unexpected argument `{extra}`")),
            }
        }
        if let Some(file) = file {
            args.file = file;
        }
        if args.env.is_none() && args.local {
            args.env = Some("local".into());
        }
        let needs_env = !matches!(command, Command::Help | Command::Check);
        if needs_env && args.env.is_none() {
            return Err("--env is required (or --local for wrangler dev's local state)".into());
        }
        Ok(args)
    }

    /// The environment (checked present by the parser for every verb that needs it).
    pub fn env(&self) -> &str {
        self.env.as_deref().unwrap_or("local")
    }

    /// The KV/D1 store this invocation talks to.
    pub fn store(&self) -> Store {
        let env = self.env().to_owned();
        Store {
            wrangler: Wrangler {
                local: self.local,
                persist_to: self.persist_to.clone(),
                config: self.config.clone(),
                env: (env != "local").then(|| env.clone()),
            },
            env,
        }
    }

    /// Who is acting: `--author`, `$GATEWAYCTL_AUTHOR`, git's user.name, `$USER`.
    pub fn author(&self) -> String {
        self.author
            .clone()
            .or_else(|| std::env::var("GATEWAYCTL_AUTHOR").ok())
            .or_else(|| {
                let out = std::process::Command::new("git")
                    .args(["config", "user.name"])
                    .output()
                    .ok()?;
                let name = String::from_utf8(out.stdout).ok()?.trim().to_owned();
                (!name.is_empty()).then_some(name)
            })
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "unknown".into())
    }
}
