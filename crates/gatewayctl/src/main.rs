//! `gatewayctl`: check, diff, publish and roll back the gateway's route table; run canary
//! releases and shadow evaluations of new versions.
//!
//! It validates with the gateway crate's own code, so what passes `check` is exactly what the
//! worker accepts; it reaches KV and D1 through `wrangler`. Run `gatewayctl help` for the verbs.

mod apikey;
mod args;
mod bindings;
mod canary;
mod contract;
mod contract_verbs;
mod diff;
mod expiry;
mod keys;
mod locate;
mod publish;
mod report;
mod shadow;
mod source;
mod sql;
mod store;
mod utc;
mod version;
mod wrangler;

use std::process::ExitCode;

use args::{Args, Command, ShadowVerb};

const HELP: &str = "\
gatewayctl — check, diff, publish and roll back the gateway's route table; canary and shadow
releases; issue API keys

USAGE:
  gatewayctl check    [FILE] [--env ENV]     validate FILE (default routes.toml); every problem
                                             as file:line:column, for ENV or every environment;
                                             also that the rate limit, Durable Object and
                                             service bindings it names are declared in the
                                             --config file (`local` = its top level, ENV =
                                             [env.ENV]), if that file exists; and, for each
                                             upstream naming its service's `contract` (an
                                             OpenAPI document), that every route on it reaches
                                             an operation the contract defines for each of its
                                             methods (operations no route exposes are listed
                                             as info)
  gatewayctl contract-diff OLD NEW           classify the changes between two versions of a
                                             contract: breaking (removed operation, new
                                             required parameter, removed or retyped response
                                             field, …) or compatible (added optional things);
                                             fails when a change is breaking and NEW's
                                             info.version is not a new major version
  gatewayctl compile  [FILE] --env ENV       print the JSON document the worker would read
  gatewayctl diff     [FILE] --env ENV [--against active|VERSION|OTHER.toml] [--requests FILE]
                                             route changes, and which requests would be served
                                             differently (--requests: lines `METHOD [HOST] PATH`)
  gatewayctl publish  [FILE] --env ENV [--note TEXT] [--force]
                                             upload a new version, make it active, record it in
                                             D1 (an identical table is not republished); ends a
                                             shadow; refused while a canary runs
  gatewayctl publish  [FILE] --env ENV --canary PERCENT [--sticky KEY]
                      [--steps 5,25,50,100 [--interval 10m]] [--min-requests 100]
                      [--max-error-increase 1.0] [--max-p95-ratio 1.5] [--min-p95-increase 50]
                                             upload a new version as a canary: PERCENT of
                                             requests (two decimals) go to it, the rest to the
                                             active version; KEY (ip, header:NAME, cookie:NAME;
                                             default ip) keeps a user on one side. With --steps
                                             the gateway raises the share step by step each
                                             interval while the candidate is healthy, and makes
                                             it the active version when the next step is 100.
                                             Whatever the steps, it aborts the canary once the
                                             candidate has --min-requests requests in a step and
                                             its 5xx rate is more than --max-error-increase
                                             points above the active version's, or its p95
                                             latency is more than --max-p95-ratio times and
                                             --min-p95-increase ms above it. Refused while a
                                             canary runs.
                                             Durations (--interval, --since): 30s, 10m, 1h30m, 2d
  gatewayctl publish  [FILE] --env ENV --shadow
                                             upload a new version as the shadow: every request
                                             is also looked up in it (it never serves) and the
                                             differences are recorded
  gatewayctl promote  --env ENV [--note TEXT]  make the canary's candidate the active version
  gatewayctl abort    --env ENV [--note TEXT]  drop the canary; the active version serves all
  gatewayctl shadow report --env ENV [--since 1h]
                                             what the shadow (running, else the last one) would
                                             have done differently: per kind, method and
                                             targets, with a count and a sample path
  gatewayctl shadow end --env ENV [--note TEXT]
                                             stop evaluating the shadow
  gatewayctl rollback --env ENV [--to VERSION]
                                             re-activate VERSION (default: the one before);
                                             aborts a canary, ends a shadow
  gatewayctl history  --env ENV [--limit N]  versions and activations (with their reasons),
                                             newest first
  gatewayctl status   --env ENV              active version per KV and per D1, the canary and
                                             the shadow

  gatewayctl keys create --env ENV --consumer NAME [--expires WHEN] [--note TEXT]
                                             issue an API key for `api_key` policies: printed
                                             once on stdout, never stored (KV keeps its SHA-256)
                                             NAME: 1-64 of A-Z a-z 0-9 . _ @ -
                                             WHEN: 30d, 12h, 90m, 2027-01-31 (00:00 UTC) or
                                             RFC 3339 (2027-01-31T12:00:00Z); default never
  gatewayctl keys list   --env ENV [--consumer NAME]
                                             id, consumer, created, expires, newest first
  gatewayctl keys revoke --env ENV ID        delete the key with id ID (k_…)

TARGET (every verb that reads or writes KV/D1):
  --local               wrangler dev's local state (implies --env local)
  --persist-to DIR      local state directory (default .wrangler/state)
  --config FILE         wrangler configuration (default wrangler.toml)
  otherwise the Cloudflare account of `wrangler login` / CLOUDFLARE_API_TOKEN.
  --author NAME         recorded as who acted (default: git user.name, then $USER)

Environment: WRANGLER overrides the wrangler command (default node_modules/.bin/wrangler).
Exit status: 0 done, 1 refused or failed (nothing changed unless it says so; for
contract-diff: a breaking change without a major version bump), 2 usage.
";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let result = match args.command {
        Command::Help => {
            print!("{HELP}");
            Ok(())
        }
        Command::Check => source::check(&args),
        Command::ContractDiff => contract_verbs::diff(&args),
        Command::Compile => source::compile(&args),
        Command::Diff => diff::diff(&args),
        Command::Publish => publish::publish(&args),
        Command::Rollback => publish::rollback(&args),
        Command::History => report::history(&args),
        Command::Status => report::status(&args),
        Command::Promote => canary::promote(&args),
        Command::Abort => canary::abort(&args),
        Command::Shadow(ShadowVerb::Report) => shadow::report(&args),
        Command::Shadow(ShadowVerb::End) => shadow::end(&args),
        Command::Keys(verb) => keys::keys(&args, verb),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
