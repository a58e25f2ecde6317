//! Arbitrary strings as datetime filter values: no panic, only finite results.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = emerald_query::parse_datetime(&text, 1_700_000_000.0) {
        assert!(v.is_finite());
    }
});
