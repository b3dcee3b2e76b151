//! `--expires` for `keys create`: a duration from now (`30d`, `12h`, `90m`) or a UTC point
//! in time (`2027-01-31`, RFC 3339), resolved against the creation time; the past is refused.

use crate::utc;

/// `--expires` as written: a duration from now, or a point in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    text: String,
    when: When,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// Seconds after creation.
    In(u64),
    /// Seconds since the epoch (negative before 1970).
    At(i64),
}

/// Parses `--expires`: `30d`, `12h`, `90m`, `2027-01-31` (midnight UTC) or RFC 3339.
pub fn parse_expiry(text: &str) -> Result<Expiry, String> {
    let usage = || {
        format!(
            "--expires takes a duration (30d, 12h, 90m) or a UTC date (2027-01-31, \
             2027-01-31T12:00:00Z), not `{text}`"
        )
    };
    let unit_s = match text.chars().last() {
        Some('d') => Some(86_400),
        Some('h') => Some(3_600),
        Some('m') => Some(60),
        _ => None,
    };
    // The unit is ASCII, so the digits before it end on a character boundary.
    let digits = unit_s.map_or("", |_| &text[..text.len() - 1]);
    if let Some(unit_s) = unit_s.filter(|_| !digits.is_empty()) {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(usage());
        }
        let secs = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit_s))
            .filter(|&s| s <= utc::MAX_S)
            .ok_or_else(|| format!("--expires {text} is too far away; give a shorter duration"))?;
        if secs == 0 {
            return Err(format!(
                "--expires {text} would expire the key at once; give a positive duration"
            ));
        }
        return Ok(Expiry {
            text: text.to_owned(),
            when: When::In(secs),
        });
    }
    let b = text.as_bytes();
    let looks_like_date = b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    match utc::parse(text) {
        Ok(at) => Ok(Expiry {
            text: text.to_owned(),
            when: When::At(at),
        }),
        Err(why) if looks_like_date => Err(format!("--expires `{text}`: {why}")),
        Err(_) => Err(usage()),
    }
}

impl Expiry {
    /// The expiry time for a key created at `now` (seconds since the epoch); a time that is
    /// not after `now` is refused.
    pub fn resolve(&self, now: u64) -> Result<u64, String> {
        let at = match self.when {
            When::In(secs) => now.saturating_add(secs),
            When::At(at) if at <= now as i64 => {
                return Err(format!(
                    "--expires {} is in the past (it is now {}): give a later date, or a \
                     duration such as 30d",
                    self.text,
                    utc::format(now)
                ))
            }
            When::At(at) => at as u64,
        };
        if at > utc::MAX_S {
            return Err(format!(
                "--expires {} ends after 9999-12-31; give an earlier date (or leave \
                 --expires out: the key never expires)",
                self.text
            ));
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_317_300; // 2026-11-22T03:15:00Z

    fn resolve(text: &str) -> Result<u64, String> {
        parse_expiry(text)?.resolve(NOW)
    }

    #[test]
    fn expiry_takes_durations_and_utc_dates() {
        assert_eq!(resolve("30d"), Ok(NOW + 30 * 86_400));
        assert_eq!(resolve("12h"), Ok(NOW + 12 * 3_600));
        assert_eq!(resolve("90m"), Ok(NOW + 90 * 60));
        assert_eq!(resolve("2026-11-23"), Ok(1_795_392_000));
        assert_eq!(resolve("2026-11-22T03:15:01Z"), Ok(NOW + 1));
        assert_eq!(resolve("2026-11-22T05:15:01+02:00"), Ok(NOW + 1));
    }

    #[test]
    fn expiry_refuses_the_past_and_nonsense() {
        let past = |t: &str| {
            format!(
                "--expires {t} is in the past (it is now 2026-11-22T03:15:00Z): give a later \
                 date, or a duration such as 30d"
            )
        };
        for text in ["2026-11-22", "2026-11-22T03:15:00Z", "1969-07-20"] {
            assert_eq!(resolve(text), Err(past(text)));
        }
        let usage = |t: &str| {
            format!(
                "--expires takes a duration (30d, 12h, 90m) or a UTC date (2027-01-31, \
                 2027-01-31T12:00:00Z), not `{t}`"
            )
        };
        for text in [
            "", "d", "30", "5y", "30 d", "-3d", "1.5h", "tomorrow", "30D", "éd", "20é",
        ] {
            assert_eq!(parse_expiry(text), Err(usage(text)), "{text}");
        }
        assert_eq!(
            parse_expiry("2027-02-30"),
            Err("--expires `2027-02-30`: there is no such day".into())
        );
        assert_eq!(
            parse_expiry("2027-01-31T12:00:00"),
            Err(
                "--expires `2027-01-31T12:00:00`: add `Z` for UTC, or an offset such as +02:00"
                    .into()
            )
        );
        assert_eq!(
            parse_expiry("0h"),
            Err("--expires 0h would expire the key at once; give a positive duration".into())
        );
        assert!(parse_expiry("99999999999999999999d").is_err());
        assert!(resolve("2930000d")
            .unwrap_err()
            .contains("after 9999-12-31"));
    }
}
