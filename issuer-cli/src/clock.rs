//! The wall clock and civil dates (UTC), without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{CliError, CliResult};

/// Seconds per day.
pub(crate) const DAY: u64 = 86_400;

/// Now, in unix seconds. `GOVID_ISSUER_NOW` (unix seconds) overrides the system clock: for tests
/// and rehearsals only.
pub(crate) fn now() -> CliResult<u64> {
    if let Ok(text) = std::env::var("GOVID_ISSUER_NOW") {
        return text
            .trim()
            .parse()
            .map_err(|_| CliError::usage("GOVID_ISSUER_NOW must be unix seconds"));
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| CliError::new("clock", "the system clock is before 1970"))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number, as `YYYY-MM-DD`.
pub(crate) fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses a strict `YYYY-MM-DD` calendar date into its day number.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days)
        .contains(&d)
        .then(|| days_from_civil(i64::from(y), m, d))
}

/// Today's day number at unix time `now`.
pub(crate) fn today(now: u64) -> i64 {
    (now / DAY) as i64
}

/// `YYYY-MM-DDTHH:MM:SSZ` for unix seconds.
pub(crate) fn timestamp(t: u64) -> String {
    let secs = t % DAY;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        civil_from_days((t / DAY) as i64),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        for day in [-1000i64, 0, 11_016, 19_782, 30_000] {
            let text = civil_from_days(day);
            assert_eq!(parse_date(&text), Some(day), "{text}");
        }
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(
            parse_date("2024-02-29").map(civil_from_days).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(parse_date("2024-1-01"), None);
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    }
}
