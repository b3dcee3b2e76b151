//! Running `wrangler` for KV and D1: the project's copy, on the project's Node, with the
//! target (local state or remote account, wrangler environment) applied to every call.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where KV and D1 live for one gatewayctl invocation.
#[derive(Debug, Clone)]
pub struct Wrangler {
    /// `--local` (wrangler dev's state) instead of the Cloudflare account.
    pub local: bool,
    /// Local state directory (`--persist-to`).
    pub persist_to: Option<PathBuf>,
    /// wrangler configuration file (`--config`).
    pub config: Option<PathBuf>,
    /// wrangler environment (`--env`); `None` for the top-level (local) configuration.
    pub env: Option<String>,
}

/// One key of `wrangler kv key list`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct KvEntry {
    /// The key.
    pub name: String,
    /// Its metadata, if it has any.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// KV binding holding route tables (and API key records).
const KV_BINDING: &str = "ROUTES";
/// D1 binding holding the history.
const D1_BINDING: &str = "DB";
/// What `wrangler kv key get` prints for a key that does not exist.
const NOT_FOUND: &str = "Value not found\n";

impl Wrangler {
    /// Reads a KV value; `None` if the key does not exist.
    pub fn kv_get(&self, key: &str) -> Result<Option<String>, String> {
        let out = self.run(
            &["kv", "key", "get", key, "--binding", KV_BINDING, "--text"],
            None,
        )?;
        Ok((out != NOT_FOUND).then_some(out))
    }

    /// Writes a KV value from a file.
    pub fn kv_put_file(&self, key: &str, path: &Path) -> Result<(), String> {
        let path = path.to_str().ok_or("temporary path is not UTF-8")?;
        self.run(
            &[
                "kv",
                "key",
                "put",
                key,
                "--path",
                path,
                "--binding",
                KV_BINDING,
            ],
            None,
        )
        .map(drop)
    }

    /// Writes a short KV value.
    pub fn kv_put(&self, key: &str, value: &str) -> Result<(), String> {
        self.run(
            &["kv", "key", "put", key, value, "--binding", KV_BINDING],
            None,
        )
        .map(drop)
    }

    /// Writes a short KV value with metadata (JSON, at most 1024 bytes).
    pub fn kv_put_with_metadata(
        &self,
        key: &str,
        value: &str,
        metadata: &str,
    ) -> Result<(), String> {
        self.run(
            &[
                "kv",
                "key",
                "put",
                key,
                value,
                "--binding",
                KV_BINDING,
                "--metadata",
                metadata,
            ],
            None,
        )
        .map(drop)
    }

    /// Every KV key starting with `prefix`, with its metadata.
    pub fn kv_list(&self, prefix: &str) -> Result<Vec<KvEntry>, String> {
        let out = self.run(
            &[
                "kv",
                "key",
                "list",
                "--binding",
                KV_BINDING,
                "--prefix",
                prefix,
            ],
            None,
        )?;
        serde_json::from_str(out.trim())
            .map_err(|e| format!("unexpected output from wrangler kv key list ({e}):\n{out}"))
    }

    /// Deletes a KV key.
    pub fn kv_delete(&self, key: &str) -> Result<(), String> {
        self.run(&["kv", "key", "delete", key, "--binding", KV_BINDING], None)
            .map(drop)
    }

    /// Runs SQL on D1 and returns the rows of the last statement.
    pub fn d1(&self, sql: &str) -> Result<Vec<serde_json::Value>, String> {
        let out = self.run(
            &["d1", "execute", D1_BINDING, "--json", "--command", sql],
            Some(sql),
        )?;
        let results: Vec<serde_json::Value> = serde_json::from_str(out.trim())
            .map_err(|e| format!("unexpected output from wrangler d1 execute ({e}):\n{out}"))?;
        let rows = results
            .last()
            .and_then(|r| r.get("results"))
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default();
        Ok(rows)
    }

    /// `local` or `remote (ENV)`, for messages.
    pub fn describe(&self) -> String {
        match (self.local, &self.env) {
            (true, _) => "local".to_owned(),
            (false, Some(env)) => format!("remote ({env})"),
            (false, None) => "remote".to_owned(),
        }
    }

    /// Runs wrangler once; a local KV command that met the local store's database locked by
    /// the running `wrangler dev` (`SQLITE_BUSY`, which fails before anything is written) is
    /// tried again, up to [`LOCAL_BUSY_TRIES`] times in all. KV reads and writes are
    /// idempotent; D1 statements are never retried.
    fn run(&self, args: &[&str], sql: Option<&str>) -> Result<String, String> {
        let mut tries = 1;
        loop {
            match self.run_once(args, sql) {
                Err(e)
                    if self.local
                        && args.first() == Some(&"kv")
                        && tries < LOCAL_BUSY_TRIES
                        && (e.contains("SQLITE_BUSY") || e.contains("database is locked")) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(250 * tries));
                    tries += 1;
                }
                result => return result,
            }
        }
    }

    fn run_once(&self, args: &[&str], sql: Option<&str>) -> Result<String, String> {
        let mut cmd = command();
        cmd.args(args);
        cmd.arg(if self.local { "--local" } else { "--remote" });
        if let Some(dir) = &self.persist_to {
            cmd.arg("--persist-to").arg(dir);
        }
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        if let Some(env) = &self.env {
            cmd.args(["--env", env]);
        }
        let output = cmd.output().map_err(|e| {
            format!("could not run wrangler ({e}): run `npm install` first, or set WRANGLER")
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            return Ok(stdout);
        }
        let stderr = strip_ansi(&String::from_utf8_lossy(&output.stderr));
        let what = match sql {
            Some(_) => format!("wrangler d1 execute ({})", self.describe()),
            None => format!(
                "wrangler {} ({})",
                args[..3.min(args.len())].join(" "),
                self.describe()
            ),
        };
        let detail = [stdout.trim(), stderr.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let hint = if detail.contains("CLOUDFLARE_API_TOKEN") || detail.contains("wrangler login") {
            "\nnext: run `npx wrangler login`, or set CLOUDFLARE_API_TOKEN, then try again"
        } else if detail.contains("no such table") || detail.contains("no such column") {
            "\nnext: apply the D1 migrations (`npx wrangler d1 migrations apply DB --local`)"
        } else {
            ""
        };
        Err(format!("{what} failed:\n{detail}{hint}"))
    }
}

/// How often a local KV command is tried when the local store is busy.
const LOCAL_BUSY_TRIES: u64 = 3;

/// The wrangler command: `$WRANGLER`, else the project's node_modules copy, with the project's
/// Node (wrangler needs Node ≥ 22) first on PATH.
fn command() -> Command {
    let root = std::env::current_dir().unwrap_or_default();
    let bin = std::env::var("WRANGLER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("node_modules/.bin/wrangler"));
    let mut cmd = Command::new(bin);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env(
        "PATH",
        format!("{}:{path}", root.join("node_modules/.bin").display()),
    );
    cmd.env("WRANGLER_SEND_METRICS", "false");
    cmd.env("NO_COLOR", "1");
    cmd.stdin(std::process::Stdio::null());
    cmd
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
