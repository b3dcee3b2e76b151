//! The pure side of `gatewayctl keys`: new keys and their ids, consumer names and notes,
//! and the lines `keys list` prints (`--expires` is in `expiry`).

use gateway::policy::api_key::KeyRecord;
use serde::{Deserialize, Serialize};

use crate::utc;

/// Hex digits of the key's hash in its id (`k_` + these).
pub const ID_HEX: usize = 10;
/// Longest consumer name.
pub const MAX_CONSUMER: usize = 64;
/// Longest note, in characters.
pub const MAX_NOTE: usize = 200;
/// Largest KV metadata Cloudflare stores, in bytes of JSON.
pub const METADATA_LIMIT: usize = 1024;

/// A key record as kept in the KV entry's metadata: the record the worker reads, plus the
/// note given at creation (metadata only; the value holds just the record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The record.
    #[serde(flatten)]
    pub record: KeyRecord,
    /// `--note`, empty when none was given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// `gw_` + 32 random bytes in lowercase hex.
pub fn new_key(random: &[u8; 32]) -> String {
    let mut key = String::with_capacity(3 + 64);
    key.push_str("gw_");
    for b in random {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

/// The public id of the key with hash `hash` (hex SHA-256): `k_` + its first 10 digits.
pub fn key_id(hash: &str) -> String {
    format!("k_{}", hash.get(..ID_HEX).unwrap_or(hash))
}

/// An id as typed for `keys revoke`: `k_` + 10 to 64 hex digits (more than 10 when two keys
/// share an id), returned in lower case.
pub fn parse_id(id: &str) -> Result<String, String> {
    let hex = id.strip_prefix("k_").unwrap_or("");
    if (ID_HEX..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{id}` is not a key id: ids are `k_` and {ID_HEX} hex digits, as `gatewayctl keys list` shows them"
        ))
    }
}

/// A consumer name: 1 to 64 of `A-Z a-z 0-9 . _ @ -`.
pub fn check_consumer(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("--consumer must not be empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._@-".contains(*c)))
    {
        return Err(format!(
            "--consumer `{name}`: {c:?} is not allowed; use letters, digits and . _ @ -"
        ));
    }
    if name.len() > MAX_CONSUMER {
        return Err(format!(
            "--consumer is {} characters long; at most {MAX_CONSUMER} are allowed",
            name.len()
        ));
    }
    Ok(())
}

/// A note: at most 200 characters, on one line.
pub fn check_note(note: &str) -> Result<(), String> {
    let n = note.chars().count();
    if n > MAX_NOTE {
        return Err(format!(
            "--note is {n} characters long; at most {MAX_NOTE} are allowed"
        ));
    }
    if note.chars().any(char::is_control) {
        return Err("--note must be one line without control characters".into());
    }
    Ok(())
}

/// The lines of `keys list`, newest first: id, consumer, created, expires (or `never`),
/// `expired` when it has, and the note.
pub fn lines(keys: &[Listed], now: u64) -> Vec<String> {
    let mut sorted: Vec<&Listed> = keys.iter().collect();
    sorted.sort_by(|a, b| {
        (b.record.created_at, &a.record.id).cmp(&(a.record.created_at, &b.record.id))
    });
    let width = sorted
        .iter()
        .map(|k| k.record.consumer.chars().count())
        .max()
        .unwrap_or(0);
    sorted
        .into_iter()
        .map(|k| {
            let r = &k.record;
            let expires = r.expires_at.map_or_else(|| "never".to_owned(), utc::format);
            let flag = if is_expired(r, now) { "expired" } else { "" };
            let note = if k.note.is_empty() {
                String::new()
            } else {
                format!("\"{}\"", k.note)
            };
            format!(
                "{}  {:<width$}  {}  {expires:<20}  {flag:<7}  {note}",
                r.id,
                r.consumer,
                utc::format(r.created_at),
            )
            .trim_end()
            .to_owned()
        })
        .collect()
}

/// Whether the worker refuses the key at `now` (as `api_key` decides it).
pub fn is_expired(record: &KeyRecord, now: u64) -> bool {
    record.expires_at.is_some_and(|at| now >= at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::policy::api_key::key_hash;

    const NOW: u64 = 1_795_317_300; // 2026-11-22T03:15:00Z

    #[test]
    fn keys_and_ids() {
        let key = new_key(&[0xab; 32]);
        assert_eq!(key, format!("gw_{}", "ab".repeat(32)));
        let hash = key_hash(&key);
        assert_eq!(key_id(&hash), format!("k_{}", &hash[..10]));
        assert_eq!(
            key_id("0123456789abcdef"),
            "k_0123456789",
            "the first ten hex digits"
        );
        assert_eq!(parse_id("k_0123456789"), Ok("k_0123456789".into()));
        assert_eq!(
            parse_id("k_0123456789ABCDEF"),
            Ok("k_0123456789abcdef".into())
        );
        for bad in [
            "0123456789",
            "k_012345678",
            "k_012345678g",
            "K_0123456789",
            "k_",
        ] {
            assert!(parse_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn consumer_names() {
        for ok in [
            "a",
            "alice",
            "ci.deploy-bot_2",
            "ops@example.com",
            &"x".repeat(64),
        ] {
            assert_eq!(check_consumer(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_consumer(""),
            Err("--consumer must not be empty".into())
        );
        assert_eq!(
            check_consumer("bob smith"),
            Err(
                "--consumer `bob smith`: ' ' is not allowed; use letters, digits and . _ @ -"
                    .into()
            )
        );
        assert!(check_consumer("zoë").is_err());
        assert!(check_consumer("a/b").is_err());
        assert_eq!(
            check_consumer(&"x".repeat(65)),
            Err("--consumer is 65 characters long; at most 64 are allowed".into())
        );
        assert_eq!(check_note(&"é".repeat(200)), Ok(()));
        assert!(check_note(&"n".repeat(201)).is_err());
        assert!(check_note("two\nlines").is_err());
    }

    #[test]
    fn list_lines_newest_first_with_expiry_and_notes() {
        let key =
            |id: &str, consumer: &str, created: u64, expires: Option<u64>, note: &str| Listed {
                record: KeyRecord {
                    id: id.into(),
                    consumer: consumer.into(),
                    created_at: created,
                    expires_at: expires,
                },
                note: note.into(),
            };
        let keys = [
            key("k_aaaaaaaaaa", "ci", NOW - 86_400 * 400, Some(NOW - 1), ""),
            key("k_bbbbbbbbbb", "ops@example.com", NOW - 60, None, ""),
            key(
                "k_cccccccccc",
                "alice",
                NOW,
                Some(NOW + 30 * 86_400),
                "laptop",
            ),
            key("k_dddddddddd", "bob", NOW - 60, Some(NOW), "CI \"nightly\""),
        ];
        assert_eq!(
            lines(&keys, NOW),
            [
                "k_cccccccccc  alice            2026-11-22T03:15:00Z  2026-12-22T03:15:00Z           \"laptop\"",
                "k_bbbbbbbbbb  ops@example.com  2026-11-22T03:14:00Z  never",
                "k_dddddddddd  bob              2026-11-22T03:14:00Z  2026-11-22T03:15:00Z  expired  \"CI \"nightly\"\"",
                "k_aaaaaaaaaa  ci               2025-10-18T03:15:00Z  2026-11-22T03:14:59Z  expired",
            ]
        );
        assert!(lines(&[], NOW).is_empty());
    }

    #[test]
    fn metadata_is_the_record_plus_the_note() {
        let listed = Listed {
            record: KeyRecord {
                id: "k_0123456789".into(),
                consumer: "alice".into(),
                created_at: 1,
                expires_at: None,
            },
            note: String::new(),
        };
        let json = serde_json::to_string(&listed).unwrap();
        assert_eq!(
            json,
            r#"{"id":"k_0123456789","consumer":"alice","created_at":1}"#
        );
        assert_eq!(serde_json::from_str::<Listed>(&json).unwrap(), listed);
        let noted = Listed {
            note: "laptop".into(),
            ..listed
        };
        let json = serde_json::to_string(&noted).unwrap();
        assert!(json.ends_with(r#","note":"laptop"}"#), "{json}");
        let record: KeyRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(record, noted.record, "the worker's type reads it too");
    }
}
