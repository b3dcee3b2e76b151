//! `gatewayctl keys` as a user runs it: usage errors and refusals that never reach wrangler,
//! and create → list → revoke against a stand-in for wrangler's `kv key` commands.

use std::path::{Path, PathBuf};
use std::process::Command;

use gateway::policy::api_key::{key_hash, KeyRecord};

/// Stands in for `wrangler kv key put|get|list|delete`: one directory per KV key under
/// $FAKE_KV/entries, and every call's arguments appended to $FAKE_KV/calls.
const FAKE_WRANGLER: &str = r#"#!/usr/bin/env bash
set -eu
printf '%s\n' "$*" >> "$FAKE_KV/calls"
[ "${1:-} ${2:-}" = "kv key" ] || { echo "fake wrangler: unsupported: $*" >&2; exit 1; }
verb=$3; shift 3
key=; value=; meta=; prefix=
while [ $# -gt 0 ]; do
  case "$1" in
    --metadata) meta=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --binding|--persist-to|--config|--env) shift 2 ;;
    --*) shift ;;
    *) if [ -z "$key" ]; then key=$1; else value=$1; fi; shift ;;
  esac
done
dir="$FAKE_KV/entries/$(printf %s "$key" | tr / :)"
case "$verb" in
  put) mkdir -p "$dir"; printf %s "$key" > "$dir/name"; printf %s "$value" > "$dir/value"
       printf %s "$meta" > "$dir/meta"; echo "Writing the value \"$value\" to key \"$key\"." ;;
  get) if [ -d "$dir" ]; then cat "$dir/value"; echo; else echo "Value not found"; fi ;;
  delete) rm -rf "$dir"; echo "Deleting the key \"$key\"." ;;
  list) printf '['; sep=
        for e in "$FAKE_KV"/entries/*/; do
          [ -f "$e/name" ] || continue
          name=$(cat "$e/name")
          case "$name" in "$prefix"*) ;; *) continue ;; esac
          printf '%s{"name":"%s"' "$sep" "$name"
          if [ -s "$e/meta" ]; then printf ',"metadata":%s' "$(cat "$e/meta")"; fi
          printf '}'; sep=,
        done
        echo ']' ;;
  *) echo "fake wrangler: unsupported: kv key $verb" >&2; exit 1 ;;
esac
"#;

/// A fresh fake KV directory with the stand-in wrangler in it.
fn fake_kv(name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("gatewayctl-keys-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("entries")).unwrap();
    let script = dir.join("wrangler");
    std::fs::write(&script, FAKE_WRANGLER).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn gatewayctl(kv: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatewayctl"))
        .args(args)
        .env("WRANGLER", kv.join("wrangler"))
        .env("FAKE_KV", kv)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Stores a record the way another tool might have: a value, no metadata.
fn put_without_metadata(kv: &Path, hash: &str, value: &str) {
    let dir = kv.join(format!("entries/apikeys:{hash}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("name"), format!("apikeys/{hash}")).unwrap();
    std::fs::write(dir.join("value"), value).unwrap();
}

#[test]
fn usage_errors_exit_2_and_refusals_exit_1_before_any_wrangler_call() {
    let kv = fake_kv("usage");
    let long_note = "n".repeat(201);
    for (args, first_line) in [
        (&["keys"][..], "error: keys needs a command: create, list or revoke"),
        (&["keys", "rotate", "--local"], "error: unknown keys command `rotate`: use keys create, keys list or keys revoke"),
        (&["keys", "create", "--local"], "error: keys create needs --consumer NAME"),
        (&["keys", "create", "--consumer", "alice"], "error: --env is required (or --local for wrangler dev's local state)"),
        (&["keys", "create", "--local", "--consumer", "bob smith"], "error: --consumer `bob smith`: ' ' is not allowed; use letters, digits and . _ @ -"),
        (&["keys", "create", "--local", "--consumer", ""], "error: --consumer must not be empty"),
        (&["keys", "create", "--local", "--consumer", "a", "--expires", "5y"], "error: --expires takes a duration (30d, 12h, 90m) or a UTC date (2027-01-31, 2027-01-31T12:00:00Z), not `5y`"),
        (&["keys", "create", "--local", "--consumer", "a", "--expires", "2027-02-30"], "error: --expires `2027-02-30`: there is no such day"),
        (&["keys", "create", "--local", "--consumer", "a", "--note", &long_note], "error: --note is 201 characters long; at most 200 are allowed"),
        (&["keys", "create", "--local", "--consumer", "a", "extra"], "error: unexpected argument `extra`"),
        (&["keys", "list", "--local", "alice"], "error: unexpected argument `alice`"),
        (&["keys", "revoke", "--local"], "error: keys revoke needs the key's id (k_…, as `gatewayctl keys list` shows it)"),
        (&["keys", "revoke", "--local", "alice"], "error: `alice` is not a key id: ids are `k_` and 10 hex digits, as `gatewayctl keys list` shows them"),
        (&["keys", "revoke", "--local", "k_0123456789", "k_abcdefabcd"], "error: unexpected argument `k_abcdefabcd`"),
    ] {
        let (code, stdout, stderr) = gatewayctl(&kv, args);
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {stderr}");
        assert!(stderr.starts_with(&format!("{first_line}\n\ngatewayctl — ")), "{args:?}: {stderr}");
    }
    let (code, stdout, stderr) = gatewayctl(
        &kv,
        &[
            "keys",
            "create",
            "--local",
            "--consumer",
            "a",
            "--expires",
            "2020-01-31",
        ],
    );
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.starts_with("--expires 2020-01-31 is in the past (it is now 20"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("): give a later date, or a duration such as 30d\nnothing was changed\n"),
        "{stderr}"
    );
    assert!(!kv.join("calls").exists(), "no wrangler call was made");
    std::fs::remove_dir_all(&kv).unwrap();
}

#[test]
fn a_key_is_printed_only_once_it_is_stored() {
    let kv = fake_kv("nowrangler");
    let out = Command::new(env!("CARGO_BIN_EXE_gatewayctl"))
        .args(["keys", "create", "--local", "--consumer", "alice"])
        .env("WRANGLER", kv.join("missing-wrangler"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        (out.status.code(), out.stdout.as_slice()),
        (Some(1), &b""[..])
    );
    assert!(stderr.starts_with("could not run wrangler ("), "{stderr}");
    assert!(
        stderr.ends_with("\nno key was issued; run the command again\n"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&kv).unwrap();
}

#[test]
fn create_list_and_revoke() {
    let kv = fake_kv("flow");
    let target = ["--local", "--persist-to", "state"];
    let create = |consumer: &str, extra: &[&str]| {
        let args: Vec<&str> = ["keys", "create", "--consumer", consumer]
            .iter()
            .chain(&target)
            .chain(extra)
            .copied()
            .collect();
        let (code, stdout, stderr) = gatewayctl(&kv, &args);
        assert_eq!(code, 0, "{stderr}");
        let key = stdout.strip_suffix('\n').unwrap().to_owned();
        assert!(key.len() == 67 && key.starts_with("gw_"), "{key}");
        assert!(key[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let hash = key_hash(&key);
        let id = format!("k_{}", &hash[..10]);
        (key, hash, id, stderr)
    };

    let (alice_key, alice_hash, alice, stderr) =
        create("alice", &["--expires", "30d", "--note", "laptop"]);
    let mut lines = stderr.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with(&format!(
            "created {alice} for consumer `alice` in local KV (local); it expires 20"
        )),
        "{stderr}"
    );
    assert_eq!(
        lines.next(),
        Some("the key is printed below, once: it is not stored anywhere, so hand it over now")
    );
    let entry = kv.join(format!("entries/apikeys:{alice_hash}"));
    let value = std::fs::read_to_string(entry.join("value")).unwrap();
    let record: KeyRecord = serde_json::from_str(&value).unwrap();
    assert_eq!(
        (record.id.as_str(), record.consumer.as_str()),
        (alice.as_str(), "alice")
    );
    assert_eq!(record.expires_at, Some(record.created_at + 30 * 86_400));
    assert_eq!(
        serde_json::to_string(&record).unwrap(),
        value,
        "the value is exactly the record"
    );
    let metadata = std::fs::read_to_string(entry.join("meta")).unwrap();
    assert_eq!(
        metadata,
        format!("{}{}", &value[..value.len() - 1], r#","note":"laptop"}"#)
    );

    let (bob_key, _, bob, _) = create("bob", &[]);
    put_without_metadata(
        &kv,
        &"c".repeat(64),
        r#"{"id":"k_cccccccccc","consumer":"carol","created_at":1600000000,"expires_at":1700000000}"#,
    );

    let (code, stdout, stderr) = gatewayctl(&kv, &["keys", "list", "--local"]);
    assert_eq!(
        (code, stderr.as_str()),
        (0, "3 keys in local KV (local), newest first; 1 expired\n")
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let mut newest: Vec<&str> = lines[..2].to_vec();
    newest.sort_by_key(|l| !l.starts_with(&alice));
    assert!(
        newest[0].starts_with(&format!("{alice}  alice  20"))
            && newest[0].ends_with("  \"laptop\""),
        "{stdout}"
    );
    assert!(
        newest[1].starts_with(&format!("{bob}  bob    20")) && newest[1].ends_with("Z  never"),
        "{stdout}"
    );
    assert_eq!(
        lines[2],
        "k_cccccccccc  carol  2020-09-13T12:26:40Z  2023-11-14T22:13:20Z  expired"
    );

    let (_, stdout, stderr) = gatewayctl(&kv, &["keys", "list", "--local", "--consumer", "bob"]);
    assert!(
        stdout.starts_with(&bob) && stdout.lines().count() == 1,
        "{stdout}"
    );
    assert_eq!(
        stderr,
        "1 key of consumer `bob` in local KV (local), newest first; 0 expired\n"
    );

    let (code, stdout, stderr) = gatewayctl(&kv, &["keys", "revoke", &bob, "--local"]);
    assert_eq!((code, stdout), (0, format!("{bob}\n")));
    assert!(
        stderr.starts_with(&format!(
            "revoked {bob} (consumer `bob`) in local KV (local); "
        )),
        "{stderr}"
    );
    let (code, _, stderr) = gatewayctl(&kv, &["keys", "revoke", &bob, "--local"]);
    assert_eq!((code, stderr), (1, format!("no key has id {bob} in local KV (local): `gatewayctl keys list` shows the ids\nnothing was changed\n")));

    let calls = std::fs::read_to_string(kv.join("calls")).unwrap();
    for key in [&alice_key, &bob_key] {
        assert!(
            !calls.contains(&key[3..]),
            "a key reached wrangler:\n{calls}"
        );
    }
    assert!(
        calls.lines().all(|c| c.starts_with("kv key ")
            && c.contains(" --binding ROUTES ")
            && c.contains(" --local")),
        "{calls}"
    );
    assert!(
        calls
            .lines()
            .next()
            .unwrap()
            .ends_with("--local --persist-to state"),
        "{calls}"
    );
    std::fs::remove_dir_all(&kv).unwrap();
}

#[test]
fn revoke_asks_for_more_of_the_hash_when_two_keys_share_an_id() {
    let kv = fake_kv("ambiguous");
    let record = r#"{"id":"k_0123456789","consumer":"x","created_at":1}"#;
    for tail in ["a", "b"] {
        put_without_metadata(&kv, &format!("0123456789{}", tail.repeat(54)), record);
    }
    let (code, _, stderr) = gatewayctl(
        &kv,
        &["keys", "revoke", "k_0123456789", "--env", "production"],
    );
    assert_eq!(
        (code, stderr.as_str()),
        (1, "k_0123456789 is the id of 2 keys; revoke one by more of its hash: k_0123456789aaaaaa, k_0123456789bbbbbb\nnothing was changed\n")
    );
    let (code, stdout, stderr) = gatewayctl(
        &kv,
        &[
            "keys",
            "revoke",
            "k_0123456789BBBBBB",
            "--env",
            "production",
        ],
    );
    assert_eq!(
        (code, stdout.as_str()),
        (0, "k_0123456789bbbbbb\n"),
        "{stderr}"
    );
    let calls = std::fs::read_to_string(kv.join("calls")).unwrap();
    assert!(
        calls
            .lines()
            .all(|c| c.ends_with("--remote --env production")),
        "{calls}"
    );
    std::fs::remove_dir_all(&kv).unwrap();
}
