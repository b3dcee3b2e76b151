//! Command-line arguments.

use std::path::PathBuf;

use crate::apikey;
use crate::canary::{self, CanaryFlags, CanaryPlan};
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
    /// Classify the changes between two versions of a service contract.
    ContractDiff,
    /// Print the compiled document.
    Compile,
    /// Compare a route file with a published version (or another file).
    Diff,
    /// Publish a new version and make it active (or a canary candidate, or a shadow).
    Publish,
    /// Make an earlier version active again.
    Rollback,
    /// List versions and activations.
    History,
    /// Compare the active version in KV and D1; show the canary and shadow.
    Status,
    /// Make the canary candidate stable.
    Promote,
    /// Drop the canary candidate.
    Abort,
    /// Report on or end the shadow.
    Shadow(ShadowVerb),
    /// Create, list or revoke API keys.
    Keys(KeysVerb),
}

/// What `shadow` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShadowVerb {
    /// Print the differences the shadow showed.
    Report,
    /// Stop evaluating the shadow.
    End,
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
    /// `publish --canary PERCENT` and its settings.
    pub canary: Option<CanaryPlan>,
    /// `publish --shadow`.
    pub shadow: bool,
    /// `shadow report --since`, in ms (default one hour).
    pub since_ms: u64,
    /// `contract-diff OLD NEW`.
    pub contracts: Option<(PathBuf, PathBuf)>,
}

impl Args {
    /// Parses `gatewayctl VERB [FILE] [--flag value]…`.
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let command = match argv.next().as_deref() {
            None | Some("help" | "--help" | "-h") => Command::Help,
            Some("check") => Command::Check,
            Some("contract-diff") => Command::ContractDiff,
            Some("compile") => Command::Compile,
            Some("diff") => Command::Diff,
            Some("publish") => Command::Publish,
            Some("rollback") => Command::Rollback,
            Some("history") => Command::History,
            Some("status") => Command::Status,
            Some("promote") => Command::Promote,
            Some("abort") => Command::Abort,
            Some("shadow") => Command::Shadow(match argv.next().as_deref() {
                Some("report") => ShadowVerb::Report,
                Some("end") => ShadowVerb::End,
                Some(other) => {
                    return Err(format!(
                        "unknown shadow command `{other}`: use shadow report or shadow end"
                    ))
                }
                None => return Err("shadow needs a command: report or end".into()),
            }),
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
            canary: None,
            shadow: false,
            since_ms: 3_600_000,
            contracts: None,
        };
        let mut flags = CanaryFlags::default();
        let mut since = None;
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
                "--canary" => flags.percent = Some(value("--canary")?),
                "--sticky" => flags.sticky = Some(value("--sticky")?),
                "--steps" => flags.steps = Some(value("--steps")?),
                "--interval" => flags.interval = Some(value("--interval")?),
                "--min-requests" => flags.min_requests = Some(value("--min-requests")?),
                "--max-error-increase" => {
                    flags.max_error_increase = Some(value("--max-error-increase")?)
                }
                "--max-p95-ratio" => flags.max_p95_ratio = Some(value("--max-p95-ratio")?),
                "--min-p95-increase" => flags.min_p95_increase = Some(value("--min-p95-increase")?),
                "--shadow" => args.shadow = true,
                "--since" => since = Some(value("--since")?),
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
            Command::Keys(_) | Command::Promote | Command::Abort | Command::Shadow(_) => {}
            Command::ContractDiff => match (positional.next(), positional.next()) {
                (Some(old), Some(new)) => args.contracts = Some((old.into(), new.into())),
                _ => return Err("contract-diff needs two contracts: OLD NEW".into()),
            },
            _ => {
                if let Some(file) = positional.next() {
                    args.file = PathBuf::from(file);
                }
            }
        }
        if let Some(extra) = positional.next() {
            return Err(format!("unexpected argument `{extra}`"));
        }
        args.canary = canary::plan(&flags)?;
        if (args.canary.is_some() || args.shadow) && command != Command::Publish {
            return Err("--canary and --shadow are options of publish".into());
        }
        if args.canary.is_some() && args.shadow {
            return Err("publish either --canary or --shadow, not both".into());
        }
        if let Some(since) = since {
            if command != Command::Shadow(ShadowVerb::Report) {
                return Err("--since is an option of shadow report".into());
            }
            args.since_ms = canary::parse_duration("--since", &since)?;
        }
        if args.env.is_none() && args.local {
            args.env = Some("local".into());
        }
        let needs_env = !matches!(
            command,
            Command::Help | Command::Check | Command::ContractDiff
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, String> {
        Args::parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn parses_the_rollout_verbs() {
        let cases = [
            ("promote --local", Command::Promote),
            ("abort --env production", Command::Abort),
            ("shadow report --local", Command::Shadow(ShadowVerb::Report)),
            (
                "shadow end --local --note done",
                Command::Shadow(ShadowVerb::End),
            ),
            ("publish t.toml --local --shadow", Command::Publish),
            (
                "publish --local --canary 10 --steps 25,100",
                Command::Publish,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line).map(|a| a.command), Ok(want), "{line}");
        }
        let a = parse("publish t.toml --local --canary 2.5 --sticky header:x-user --steps 5,100 --interval 1m").unwrap();
        let plan = a.canary.unwrap();
        assert_eq!(
            (
                plan.percent,
                plan.sticky.to_string(),
                plan.steps,
                plan.interval_ms
            ),
            (2.5, "header:x-user".to_owned(), vec![5.0, 100.0], 60_000)
        );
        assert_eq!(a.file, PathBuf::from("t.toml"));
        assert!(parse("publish --local --shadow").unwrap().shadow);
        assert_eq!(parse("shadow report --local").unwrap().since_ms, 3_600_000);
        assert_eq!(
            parse("shadow report --local --since 2h").unwrap().since_ms,
            7_200_000
        );
    }

    #[test]
    fn refuses_rollout_misuse() {
        let cases = [
            ("shadow", "shadow needs a command: report or end"),
            (
                "shadow start --local",
                "unknown shadow command `start`: use shadow report or shadow end",
            ),
            (
                "promote",
                "--env is required (or --local for wrangler dev's local state)",
            ),
            ("promote t.toml --local", "unexpected argument `t.toml`"),
            ("shadow end x --local", "unexpected argument `x`"),
            (
                "rollback --local --canary 10",
                "--canary and --shadow are options of publish",
            ),
            (
                "abort --local --shadow",
                "--canary and --shadow are options of publish",
            ),
            (
                "publish --local --canary 10 --shadow",
                "publish either --canary or --shadow, not both",
            ),
            (
                "publish --local --steps 5,100",
                "--steps needs --canary PERCENT",
            ),
            ("publish --local --canary", "--canary needs a value"),
            (
                "status --local --since 1h",
                "--since is an option of shadow report",
            ),
            (
                "shadow report --local --since soon",
                "--since takes a duration such as 30s, 10m, 1h30m or 2d, not `soon`",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse(line).map(|a| a.command),
                Err(want.to_owned()),
                "{line}"
            );
        }
    }
}
