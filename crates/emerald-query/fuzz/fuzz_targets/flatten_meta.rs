//! Arbitrary JSON documents through `flatten_meta`: no panic, one row per scalar leaf.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn scalars(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(scalars).sum(),
        Value::Array(a) => a.iter().map(scalars).sum(),
        _ => 1,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        assert_eq!(emerald_query::flatten_meta(&v).len(), scalars(&v));
    }
});
