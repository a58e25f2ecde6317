//! Times are UTC and travel as float seconds since the UNIX epoch (spec §0).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as float seconds since the epoch, rounded to microseconds so that what we store is what
/// we render on both backends.
pub fn now() -> f64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_micros() as f64) / 1e6
}
