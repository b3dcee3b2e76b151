//! `gatewayctl`: check, compile and publish the gateway's route table.
//!
//! It validates with the gateway crate's own code, so what passes `check` is exactly what the
//! worker accepts. Run `gatewayctl help` for the verbs.

mod args;
mod publish;
mod source;
mod version;

use std::process::ExitCode;

use args::{Args, Command};

const HELP: &str = "\
gatewayctl — check, compile and publish the gateway's route table

USAGE:
  gatewayctl check   [FILE] [--env ENV]        validate FILE (default routes.toml) for ENV
                                               (default: every environment it names)
  gatewayctl compile [FILE] --env ENV          print the JSON document for ENV
  gatewayctl publish [FILE] --env ENV [--local] [--persist-to DIR] [--config WRANGLER_TOML]
                                               write a new version to KV and make it active

Environment: WRANGLER overrides the wrangler command (default node_modules/.bin/wrangler).
";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let result = match &args.command {
        Command::Help => {
            print!("{HELP}");
            Ok(())
        }
        Command::Check => source::check(&args),
        Command::Compile => source::compile(&args).map(|doc| println!("{}", doc.to_json())),
        Command::Publish => publish::publish(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
