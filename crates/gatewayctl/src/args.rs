//! Command-line arguments.

use std::path::PathBuf;

use crate::apikey;
use crate::expiry::{self, Expiry};
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
    /// Create, list or revoke API keys.
    Keys(KeysVerb),
}

/// What `keys` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysVerb {
    /// Issue a key.
    Create,
    /// List the keys.
    List,
    /// Delete a key by id.
    Revoke,
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
    /// `keys create --consumer` (a filter for `keys list`).
    pub consumer: Option<String>,
    /// `keys create --expires`.
    pub expires: Option<Expiry>,
    /// `keys revoke ID`, in lower case.
    pub key_id: Option<String>,
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
            Some("keys") => Command::Keys(match argv.next().as_deref() {
                Some("create") => KeysVerb::Create,
                Some("list") => KeysVerb::List,
                Some("revoke") => KeysVerb::Revoke,
                Some(other) => {
                    return Err(format!(
                        "unknown keys command `{other}`: use keys create, keys list or keys revoke"
                    ))
                }
                None => return Err("keys needs a command: create, list or revoke".into()),
            }),
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
            consumer: None,
            expires: None,
            key_id: None,
        };
        let mut positional = Vec::new();
        while let Some(arg) = argv.next() {
            let mut value = |flag: &str| argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match arg.as_str() {
                "--env" => args.env = Some(value("--env")?),
                "--local" => args.local = true,
                "--persist-to" => args.persist_to = Some(value("--persist-to")?.into()),
                "--config" => args.config = Some(value("--config")?.into()),
                "--note" => args.note = value("--note")?,
                "--consumer" => {
                    let name = value("--consumer")?;
                    apikey::check_consumer(&name)?;
                    args.consumer = Some(name);
                }
                "--expires" => args.expires = Some(expiry::parse_expiry(&value("--expires")?)?),
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
                _ => positional.push(arg),
            }
        }
        let mut positional = positional.into_iter();
        match command {
            Command::Keys(KeysVerb::Revoke) => {
                let id = positional.next().ok_or(
                    "keys revoke needs the key's id (k_…, as `gatewayctl keys list` shows it)",
                )?;
                args.key_id = Some(apikey::parse_id(&id)?);
            }
            Command::Keys(KeysVerb::Create) if args.consumer.is_none() => {
                return Err("keys create needs --consumer NAME".into())
            }
            Command::Keys(KeysVerb::Create) => apikey::check_note(&args.note)?,
            Command::Keys(_) => {}
            _ => {
                if let Some(file) = positional.next() {
                    args.file = PathBuf::from(file);
                }
            }
        }
        if let Some(extra) = positional.next() {
            return Err(format!("unexpected argument `{extra}`"));
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

    /// How this invocation reaches KV and D1.
    pub fn wrangler(&self) -> Wrangler {
        let env = self.env();
        Wrangler {
            local: self.local,
            persist_to: self.persist_to.clone(),
            config: self.config.clone(),
            env: (env != "local").then(|| env.to_owned()),
        }
    }

    /// The KV/D1 store this invocation talks to.
    pub fn store(&self) -> Store {
        Store {
            wrangler: self.wrangler(),
            env: self.env().to_owned(),
        }
    }

    /// The wrangler configuration file: `--config`, else `wrangler.toml`.
    pub fn wrangler_toml(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("wrangler.toml"))
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
