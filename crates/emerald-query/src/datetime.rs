//! Datetime filter values, the Lamb way (spec §0, §6.3).
//!
//! ```text
//! datetime = number      ; UNIX seconds; integer part of >= 11 chars = ms, >= 16 chars = µs
//!          | "now"       ; any case: `now`
//!          | "today"     ; any case: UTC midnight of `now`
//!          | iso8601     ; see below; a naive value is UTC
//! iso8601  = date [ ("T" | "t" | " ") time ] [ zone ]
//! date     = YYYY "-" MM "-" DD | YYYYMMDD
//! time     = HH [ ":" MM [ ":" SS [ ("." | ",") digits ] ] ]
//! zone     = "Z" | "z" | ("+" | "-") HH [ [":"] MM ]
//! ```
//! The "integer part length" is Python's `len(str(round(x)))`, sign included, as Lamb counts it.
//! Anything else → code 4 `Invalid to convert date from string=<v> according to format=iso`.

use serde_json::Value;

use crate::error::{QueryError, CODE_VALUE};

/// The format name Lamb reports in its datetime error message.
pub const DATETIME_FORMAT: &str = "iso";
/// Integer-part length from which a number is milliseconds.
const MILLIS_DIGITS: usize = 11;
/// Integer-part length from which a number is microseconds.
const MICROS_DIGITS: usize = 16;
/// Python `datetime` bounds: 0001-01-01T00:00:00 and 9999-12-31T23:59:59.
const MIN_SECONDS: f64 = -62_135_596_800.0;
const MAX_SECONDS: f64 = 253_402_300_799.999_999;
const SECONDS_PER_DAY: i64 = 86_400;

/// Parse one datetime filter value to float UNIX seconds.
pub fn parse_datetime(s: &str, now: f64) -> Result<f64, QueryError> {
    let err = || {
        QueryError::new(
            CODE_VALUE,
            format!("Invalid to convert date from string={s} according to format={DATETIME_FORMAT}"),
            Value::Null,
        )
    };
    let trimmed = s.trim();
    if let Some(x) = parse_number(trimmed) {
        let secs = scale_number(x).ok_or_else(err)?;
        return in_range(secs).ok_or_else(err);
    }
    if trimmed.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if trimmed.eq_ignore_ascii_case("today") {
        return Ok((now / SECONDS_PER_DAY as f64).floor() * SECONDS_PER_DAY as f64);
    }
    parse_iso(s).and_then(in_range).ok_or_else(err)
}

/// A Python `float()`-like number: digits, optional sign, fraction and exponent; no `inf`/`nan`
/// words (those fail in Lamb's `round`).
fn parse_number(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
    if !ok {
        return None;
    }
    s.parse::<f64>().ok()
}

fn scale_number(x: f64) -> Option<f64> {
    if !x.is_finite() {
        return None;
    }
    // len(str(round(x))): Python rounds half to even; only the length matters here.
    let rounded = x.round_ties_even() + 0.0; // `+ 0.0` turns -0 into 0, as Python prints it
    let len = if rounded.abs() < 1e30 { format!("{rounded:.0}").len() } else { usize::MAX };
    Some(if len >= MICROS_DIGITS {
        x / 1_000_000.0
    } else if len >= MILLIS_DIGITS {
        x / 1_000.0
    } else {
        x
    })
}

fn in_range(secs: f64) -> Option<f64> {
    (MIN_SECONDS..=MAX_SECONDS).contains(&secs).then_some(secs)
}

/// Fixed-width unsigned decimal field.
fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn parse_iso(s: &str) -> Option<f64> {
    if !s.is_ascii() {
        return None;
    }
    let (date, rest) = if s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-') {
        let (d, r) = s.split_at(10);
        let b = d.as_bytes();
        if b[7] != b'-' {
            return None;
        }
        ((digits(&d[0..4])?, digits(&d[5..7])?, digits(&d[8..10])?), r)
    } else if s.len() >= 8 {
        let (d, r) = s.split_at(8);
        ((digits(&d[0..4])?, digits(&d[4..6])?, digits(&d[6..8])?), r)
    } else {
        return None;
    };
    let (year, month, day) = date;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || year < 1 {
        return None;
    }
    let (body, offset) = split_zone(rest)?;
    let mut secs = days_from_civil(year, month, day) * SECONDS_PER_DAY;
    let mut frac = 0.0;
    if !body.is_empty() {
        let time = body.strip_prefix(['T', 't', ' '])?;
        let (hms, f) = match time.find(['.', ',']) {
            Some(i) => (&time[..i], Some(&time[i + 1..])),
            None => (time, None),
        };
        let parts: Vec<&str> = hms.split(':').collect();
        if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.len() != 2) {
            return None;
        }
        let h = digits(parts[0])?;
        let m = parts.get(1).map_or(Some(0), |p| digits(p))?;
        let sec = parts.get(2).map_or(Some(0), |p| digits(p))?;
        if h > 23 || m > 59 || sec > 59 {
            return None;
        }
        if let Some(f) = f {
            if parts.len() != 3 || f.is_empty() || f.len() > 9 {
                return None;
            }
            frac = digits(f)? as f64 / 10f64.powi(f.len() as i32);
        }
        secs += h * 3600 + m * 60 + sec;
    }
    Some((secs - offset) as f64 + frac)
}

/// Split a trailing zone designator; returns the body and the offset in seconds east of UTC.
fn split_zone(rest: &str) -> Option<(&str, i64)> {
    if let Some(body) = rest.strip_suffix(['Z', 'z']) {
        return Some((body, 0));
    }
    // A sign after the date part can only start a zone.
    let Some(i) = rest.rfind(['+', '-']) else {
        return Some((rest, 0));
    };
    let (body, zone) = rest.split_at(i);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let z = zone[1..].replace(':', "");
    let (h, m) = match z.len() {
        2 => (digits(&z)?, 0),
        4 => (digits(&z[..2])?, digits(&z[2..])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some((body, sign * (h * 3600 + m * 60)))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1, 1, 1) * SECONDS_PER_DAY, MIN_SECONDS as i64);
    }
}
