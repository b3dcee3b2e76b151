//! Command-line arguments.

use std::path::PathBuf;

/// The verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Print usage.
    Help,
    /// Validate a route file.
    Check,
    /// Print the compiled document.
    Compile,
    /// Publish to KV.
    Publish,
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
}

impl Args {
    /// Parses `gatewayctl VERB [FILE] [--flag value]…`.
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let command = match argv.next().as_deref() {
            None | Some("help" | "--help" | "-h") => Command::Help,
            Some("check") => Command::Check,
            Some("compile") => Command::Compile,
            Some("publish") => Command::Publish,
            Some(other) => return Err(format!("unknown command `{other}`")),
        };
        let mut args = Args {
            command,
            file: PathBuf::from("routes.toml"),
            env: None,
            local: false,
            persist_to: None,
            config: None,
        };
        let mut file = None;
        while let Some(arg) = argv.next() {
            let mut value = |flag: &str| argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match arg.as_str() {
                "--env" => args.env = Some(value("--env")?),
                "--local" => args.local = true,
                "--persist-to" => args.persist_to = Some(value("--persist-to")?.into()),
                "--config" => args.config = Some(value("--config")?.into()),
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
                path if file.is_none() => file = Some(PathBuf::from(path)),
                extra => return Err(format!("unexpected argument `{extra}`")),
            }
        }
        if let Some(file) = file {
            args.file = file;
        }
        if matches!(command, Command::Compile | Command::Publish) && args.env.is_none() {
            return Err("--env is required (e.g. --env local)".into());
        }
        Ok(args)
    }
}
