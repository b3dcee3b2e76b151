//! Version ids and content checksums.

use std::time::{SystemTime, UNIX_EPOCH};

use gateway::table::RouteDocument;
use sha2::{Digest, Sha256};

/// Hex SHA-256 over the document's content (not its version or checksum).
pub fn checksum(doc: &RouteDocument) -> String {
    let digest = Sha256::digest(doc.checksum_input().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new, sortable version id: UTC time to the millisecond plus the checksum's first 8 digits.
pub fn new_id(checksum: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    format!("{}-{}", utc_stamp(now.as_millis() as u64), &checksum[..8])
}

/// Now as RFC 3339 UTC with milliseconds (`2026-11-22T03:15:00.123Z`).
pub fn now_rfc3339() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    let s = utc_stamp(ms);
    format!(
        "{}-{}-{}T{}:{}:{}.{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15],
        &s[15..18]
    )
}

/// `20261122T031500123Z` for a time in milliseconds since the epoch.
fn utc_stamp(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = crate::utc::civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::utc_stamp;

    #[test]
    fn stamps_are_utc_calendar_times() {
        for (ms, want) in [
            (0, "19700101T000000000Z"),
            (951_782_400_000, "20000229T000000000Z"),
            (1_795_317_300_123, "20261122T031500123Z"),
        ] {
            assert_eq!(utc_stamp(ms), want);
        }
    }
}
