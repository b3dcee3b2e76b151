//! UTC calendar arithmetic without a date crate: seconds since the epoch to and from RFC 3339
//! (`2027-01-31T12:00:00Z`) and plain dates (`2027-01-31`, read as midnight UTC).

use std::time::{SystemTime, UNIX_EPOCH};

/// The latest time handled: 9999-12-31T23:59:59Z (four-digit years).
pub const MAX_S: u64 = 253_402_300_799;

/// Now, in seconds since the epoch.
pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// `2026-11-22T03:15:00Z` for a time in seconds since the epoch.
pub fn format(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the epoch (negative before 1970) of `YYYY-MM-DD` (midnight UTC) or an
/// RFC 3339 date-time (`2027-01-31T12:00:00Z`, `2027-01-31T12:00:00.5+02:00`); fractions of
/// a second are dropped. `Err` says what is wrong.
pub fn parse(text: &str) -> Result<i64, &'static str> {
    const NOT_A_DATE: &str = "write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ";
    let b = text.as_bytes();
    let num = |from: usize, to: usize| -> Result<i64, &'static str> {
        match text.get(from..to) {
            Some(s) if s.bytes().all(|c| c.is_ascii_digit()) => s.parse().map_err(|_| NOT_A_DATE),
            _ => Err(NOT_A_DATE),
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(NOT_A_DATE);
    }
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m as u32) {
        return Err("there is no such day");
    }
    let midnight = days_from_civil(y, m as u32, d as u32) * 86_400;
    if b.len() == 10 {
        return Ok(midnight);
    }
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return Err(NOT_A_DATE);
    }
    let (hh, mm, ss) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return Err("there is no such time of day");
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(NOT_A_DATE);
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        "" => return Err("add `Z` for UTC, or an offset such as +02:00"),
        _ => {
            let o = rest.as_bytes();
            let sign = match o[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(NOT_A_DATE),
            };
            if o.len() != 6 || o[3] != b':' {
                return Err(NOT_A_DATE);
            }
            let at = text.len() - 5;
            let (oh, om) = (num(at, at + 2)?, num(at + 3, at + 5)?);
            if oh > 23 || om > 59 {
                return Err("there is no such offset");
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    Ok(midnight + hh * 3600 + mm * 60 + ss - offset)
}

fn days_in_month(y: i64, m: u32) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) → days since 1970-01-01 (the inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_utc_times() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_795_317_300, "2026-11-22T03:15:00Z"),
            (MAX_S, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(format(secs), text);
            assert_eq!(parse(text), Ok(secs as i64), "{text}");
        }
    }

    #[test]
    fn days_round_trip() {
        for days in [-800_000, -1, 0, 59, 60, 365, 10_957, 20_779, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn reads_dates_offsets_and_fractions() {
        let noon = 1_801_137_600; // 2027-01-28T12:00:00Z
        for text in [
            "2027-01-28T12:00:00Z",
            "2027-01-28t12:00:00z",
            "2027-01-28 12:00:00Z",
            "2027-01-28T12:00:00.999Z",
            "2027-01-28T14:00:00+02:00",
            "2027-01-28T06:30:00-05:30",
        ] {
            assert_eq!(parse(text), Ok(noon), "{text}");
        }
        assert_eq!(parse("2027-01-28"), Ok(noon - 12 * 3600));
        assert_eq!(parse("1969-12-31"), Ok(-86_400));
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        let add_z = Err("add `Z` for UTC, or an offset such as +02:00");
        let no_day = Err("there is no such day");
        let shape = Err("write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
        for (text, want) in [
            ("2027-01-28T12:00:00", add_z),
            ("2027-02-29", no_day),
            ("2027-13-01", no_day),
            ("2027-1-28", shape),
            ("27-01-28", shape),
            ("2027-01-28T12:00Z", shape),
            ("2027-01-28T12:00:00.Z", shape),
            ("2027-01-28T12:00:00+2:00", shape),
            ("2027-01-28T12:00:00+02", shape),
            ("2027-01-28T24:00:00Z", Err("there is no such time of day")),
            ("2027-01-2é", shape),
            ("", shape),
        ] {
            assert_eq!(parse(text), want, "{text}");
        }
        assert_eq!(parse("2028-02-29"), Ok(1_835_395_200));
    }
}
