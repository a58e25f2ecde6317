//! Times are UTC and travel as float seconds since the UNIX epoch (spec §0).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as float seconds since the epoch, rounded to microseconds so that what we store is what
/// we render on both backends.
pub fn now() -> f64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_micros() as f64) / 1e6
}

/// The UTC calendar date and time of day of whole UNIX seconds: (year, month, day, hour,
/// minute, second). Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// ISO 8601 in UTC with microseconds (what we store): `2024-02-29T12:34:56.500000Z`.
pub fn iso8601(t: f64) -> String {
    let micros = (t * 1e6).round() as i64;
    let (secs, frac) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (y, m, d, h, mi, s) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_unix_seconds_in_utc() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso8601(1_709_210_096.5), "2024-02-29T12:34:56.500000Z");
        assert_eq!(iso8601(-0.25), "1969-12-31T23:59:59.750000Z");
    }
}
