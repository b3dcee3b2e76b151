//! `keys create`, `keys list` and `keys revoke`: API keys for the `api_key` policy, kept in the
//! ROUTES namespace as `apikeys/<hex SHA-256 of the key>` → the key's record (as the value,
//! and again as metadata so listing needs no reads). The key itself is printed once and never
//! stored; every check runs before the one write.

use gateway::policy::api_key::{key_hash, KeyRecord, KV_PREFIX};

use crate::apikey::{self, Listed};
use crate::args::{Args, KeysVerb};
use crate::utc;
use crate::wrangler::{KvEntry, Wrangler};

/// Runs a `keys` verb.
pub fn keys(args: &Args, verb: KeysVerb) -> Result<(), String> {
    match verb {
        KeysVerb::Create => create(args),
        KeysVerb::List => list(args),
        KeysVerb::Revoke => revoke(args),
    }
}

/// `keys create`: a new random key for `--consumer`, printed once on stdout.
fn create(args: &Args) -> Result<(), String> {
    let consumer = args.consumer.clone().expect("checked by the parser");
    let now = utc::now_s();
    let expires_at = match &args.expires {
        Some(expiry) => Some(expiry.resolve(now).map_err(nothing_changed)?),
        None => None,
    };
    let key = apikey::new_key(&random_bytes().map_err(nothing_changed)?);
    let hash = key_hash(&key);
    let record = KeyRecord {
        id: apikey::key_id(&hash),
        consumer,
        created_at: now,
        expires_at,
    };
    let value = serde_json::to_string(&record).expect("a record serialises");
    let listed = Listed {
        record: record.clone(),
        note: args.note.clone(),
    };
    let metadata = serde_json::to_string(&listed).expect("a record serialises");
    if metadata.len() > apikey::METADATA_LIMIT {
        return Err(nothing_changed(format!(
            "the key's record is {} bytes of JSON, more than KV metadata holds ({}): shorten --note",
            metadata.len(),
            apikey::METADATA_LIMIT
        )));
    }
    let wrangler = args.wrangler();
    wrangler
        .kv_put_with_metadata(&format!("{KV_PREFIX}{hash}"), &value, &metadata)
        .map_err(|e| format!("{e}\nno key was issued; run the command again"))?;
    let expires = match expires_at {
        Some(at) => format!("expires {}", utc::format(at)),
        None => "never expires".to_owned(),
    };
    eprintln!(
        "created {} for consumer `{}` in {} KV ({}); it {expires}",
        record.id,
        record.consumer,
        wrangler.describe(),
        args.env()
    );
    eprintln!("the key is printed below, once: it is not stored anywhere, so hand it over now");
    println!("{key}");
    Ok(())
}

/// `keys list`: one line per key, newest first (only `--consumer`'s when given).
fn list(args: &Args) -> Result<(), String> {
    let wrangler = args.wrangler();
    let mut keys = Vec::new();
    let mut unreadable = 0;
    for entry in wrangler.kv_list(KV_PREFIX)? {
        match record_of(&wrangler, &entry)? {
            Some(listed) => keys.push(listed),
            None => {
                unreadable += 1;
                eprintln!(
                    "warning: {} holds no key record; `gatewayctl keys revoke {}` deletes it",
                    entry.name,
                    apikey::key_id(hash_of(&entry))
                );
            }
        }
    }
    if let Some(consumer) = &args.consumer {
        keys.retain(|k| &k.record.consumer == consumer);
    }
    let now = utc::now_s();
    for line in apikey::lines(&keys, now) {
        println!("{line}");
    }
    let expired = keys
        .iter()
        .filter(|k| apikey::is_expired(&k.record, now))
        .count();
    let whose = args
        .consumer
        .as_ref()
        .map_or(String::new(), |c| format!(" of consumer `{c}`"));
    let place = format!("{} KV ({})", wrangler.describe(), args.env());
    match keys.len() {
        0 if unreadable == 0 => eprintln!(
            "no API keys{whose} in {place}; `gatewayctl keys create --consumer NAME` issues one"
        ),
        n => eprintln!(
            "{n} key{}{whose} in {place}, newest first; {expired} expired",
            if n == 1 { "" } else { "s" }
        ),
    }
    Ok(())
}

/// The record of a listed key: from its metadata, else read from its value (a key written
/// without metadata); `None` if it has neither.
fn record_of(wrangler: &Wrangler, entry: &KvEntry) -> Result<Option<Listed>, String> {
    if let Some(listed) = entry
        .metadata
        .clone()
        .and_then(|m| serde_json::from_value::<Listed>(m).ok())
    {
        return Ok(Some(listed));
    }
    let value = wrangler.kv_get(&entry.name)?;
    Ok(value
        .and_then(|v| serde_json::from_str::<KeyRecord>(v.trim()).ok())
        .map(|record| Listed {
            record,
            note: String::new(),
        }))
}

/// `keys revoke ID`: deletes the one key whose hash the id starts.
fn revoke(args: &Args) -> Result<(), String> {
    let id = args.key_id.as_deref().expect("checked by the parser");
    let hex = &id["k_".len()..];
    let wrangler = args.wrangler();
    let place = format!("{} KV ({})", wrangler.describe(), args.env());
    let entries = wrangler.kv_list(KV_PREFIX).map_err(nothing_changed)?;
    let matching: Vec<&KvEntry> = entries
        .iter()
        .filter(|e| hash_of(e).starts_with(hex))
        .collect();
    let entry = match matching.as_slice() {
        [] => {
            return Err(nothing_changed(format!(
                "no key has id {id} in {place}: `gatewayctl keys list` shows the ids"
            )))
        }
        [one] => *one,
        many => {
            let longer: Vec<String> = many
                .iter()
                .map(|e| format!("k_{}", hash_of(e).get(..16).unwrap_or(hash_of(e))))
                .collect();
            return Err(nothing_changed(format!(
                "{id} is the id of {} keys; revoke one by more of its hash: {}",
                many.len(),
                longer.join(", ")
            )));
        }
    };
    let consumer = entry
        .metadata
        .clone()
        .and_then(|m| serde_json::from_value::<Listed>(m).ok())
        .map_or_else(|| "unknown".to_owned(), |l| l.record.consumer);
    wrangler.kv_delete(&entry.name).map_err(|e| {
        format!("{e}\nthe key may still be valid: check with `gatewayctl keys list`, then revoke it again")
    })?;
    eprintln!(
        "revoked {id} (consumer `{consumer}`) in {place}; the gateway refuses it once KV has \
         propagated the deletion (up to about a minute) and cached lookups expire \
         (API_KEY_CACHE_MS, 30 s by default)"
    );
    println!("{id}");
    Ok(())
}

/// The hash part of a listed key's name.
fn hash_of(entry: &KvEntry) -> &str {
    entry.name.strip_prefix(KV_PREFIX).unwrap_or(&entry.name)
}

/// 32 bytes from the operating system's random source.
fn random_bytes() -> Result<[u8; 32], String> {
    use std::io::Read;
    let mut bytes = [0; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("could not read /dev/urandom for a new key: {e}"))?;
    Ok(bytes)
}

fn nothing_changed(error: String) -> String {
    format!("{error}\nnothing was changed")
}
