//! The query strings of `GET /__gateway/diff` and `GET /__gateway/health/history`, checked;
//! an error is the problem detail for the client (400).

use crate::stats::report::{decode, duration_ms};

/// `?from=V1&to=V2`: the two versions to compare (both required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffQuery {
    /// The old version.
    pub from: String,
    /// The new version.
    pub to: String,
}

impl DiffQuery {
    /// Checks a query string.
    pub fn parse(query: Option<&str>) -> Result<Self, &'static str> {
        let (mut from, mut to) = (None, None);
        for (key, value) in pairs(query)? {
            let slot = match key {
                "from" => &mut from,
                "to" => &mut to,
                _ => return Err("Unknown query parameter: use from and to."),
            };
            if !is_version_id(&value) {
                return Err("`from` and `to` must be version ids (see /__gateway/versions).");
            }
            *slot = Some(value);
        }
        match (from, to) {
            (Some(from), Some(to)) => Ok(Self { from, to }),
            _ => Err("Name both versions: ?from=VERSION&to=VERSION."),
        }
    }
}

/// How far back `GET /__gateway/health/history` goes without `since`: an hour.
pub const DEFAULT_HISTORY_MS: u64 = 3_600_000;
/// The furthest back it goes: a week (the default snapshot retention).
pub const MAX_HISTORY_MS: u64 = 7 * 86_400_000;

/// `?since=1h`: the start of a health history, ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Snapshots checked at or after this, ms since the epoch.
    pub from_ms: u64,
    /// Now, ms since the epoch.
    pub until_ms: u64,
}

impl HistoryQuery {
    /// Checks a query string (`since`, optional) at `now_ms`.
    pub fn parse(query: Option<&str>, now_ms: u64) -> Result<Self, &'static str> {
        let mut since = DEFAULT_HISTORY_MS;
        for (key, value) in pairs(query)? {
            match key {
                "since" => {
                    since = duration_ms(&value)
                        .filter(|&ms| ms > 0 && ms <= MAX_HISTORY_MS)
                        .ok_or("`since` must be a duration up to 7d, such as 15m, 1h or 24h.")?
                }
                _ => return Err("Unknown query parameter: use since."),
            }
        }
        Ok(Self {
            from_ms: now_ms.saturating_sub(since),
            until_ms: now_ms,
        })
    }
}

/// The decoded `key=value` pairs of a query string.
fn pairs(query: Option<&str>) -> Result<Vec<(&str, String)>, &'static str> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value).ok_or("A query value is not valid percent-encoded UTF-8.")?;
            Ok((key, value))
        })
        .collect()
}

/// A version id as the pointers hold it: 1 to 200 characters, no spaces or control characters.
pub fn is_version_id(text: &str) -> bool {
    (1..=200).contains(&text.len()) && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}
