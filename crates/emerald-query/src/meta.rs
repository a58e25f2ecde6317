//! The `meta_data=` search language (spec §6.3, §9) and the `meta_index` rows it runs on.
//!
//! ```text
//! meta_data  = descriptor { "," descriptor }   ; all AND-ed; repeated keys merged
//! descriptor = key_path op value               ; split at the first operator found, trying
//! op         = "==" | "!=" | "<=" | ">=" | "<" | ">"   ; in exactly this order
//! key_path   = segment { "." segment }         ; numeric segments index arrays ("a.b.0")
//! value      = "null" (any case) | text        ; text: no ","; may contain more operators
//! ```
//! Semantics follow Lamb on PostgreSQL, where `meta_data #>> '{path}'` is compared as text for
//! `==`/`!=` and cast to float for the ordering operators:
//!
//! * `k==v` — `k` is a scalar whose text is `v`; `k==null` — `k` is JSON null **or missing**
//!   (`#>>` yields SQL NULL for both);
//! * `k!=v` — `k` is present, not null and its text differs (`NULL <> v` is not true);
//!   `k!=null` — `k` is present and not null;
//! * `k<v` etc. — `k` is a number, or a string that parses as a finite float, compared as
//!   floats; `v` must be a finite float (else code 5 `Invalid data type for param meta_data`).
//!
//! A descriptor without an operator, key path or value → code 3
//! `Could not parse json field request descriptor: key_path and value required`.
//!
//! The server keeps `meta_index(object_kind, object_id, path, value_text, value_num)` with one
//! row per scalar leaf of an object's `meta_data`, as [`flatten_meta`] produces them.

use serde_json::Value;

use crate::error::{QueryError, CODE_STRUCTURE};
use crate::filter::Cmp;

/// The query key.
pub const META_KEY: &str = "meta_data";
/// Operators in the order Lamb tries them.
const OPERATORS: [&str; 6] = ["==", "!=", "<=", ">=", "<", ">"];

/// What a metadata descriptor tests.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaOp {
    /// `==`; `None` = `null`.
    Eq(Option<String>),
    /// `!=`; `None` = `null`.
    Ne(Option<String>),
    /// `<`, `<=`, `>`, `>=` on the float value.
    Compare(Cmp, f64),
}

/// One parsed `meta_data` descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaCondition {
    /// Dotted path, as [`MetaEntry::path`] spells it.
    pub path: String,
    pub op: MetaOp,
}

pub(crate) fn parse_descriptor(d: &str) -> Result<MetaCondition, QueryError> {
    let err = || {
        QueryError::new(
            CODE_STRUCTURE,
            "Could not parse json field request descriptor: key_path and value required",
            Value::Null,
        )
    };
    let (op, (path, value)) =
        OPERATORS.iter().find_map(|op| d.split_once(op).map(|parts| (*op, parts))).ok_or_else(err)?;
    if path.is_empty() || value.is_empty() {
        return Err(err());
    }
    let text = (!value.eq_ignore_ascii_case("null")).then(|| value.to_owned());
    let op = match op {
        "==" => MetaOp::Eq(text),
        "!=" => MetaOp::Ne(text),
        _ => {
            let cmp = match op {
                "<=" => Cmp::Le,
                ">=" => Cmp::Ge,
                "<" => Cmp::Lt,
                _ => Cmp::Gt,
            };
            let num = text.as_deref().and_then(parse_float).ok_or_else(|| QueryError::data_type(META_KEY))?;
            MetaOp::Compare(cmp, num)
        }
    };
    Ok(MetaCondition { path: path.to_owned(), op })
}

/// One scalar leaf of a `meta_data` document: a `meta_index` row.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaEntry {
    /// Dotted path; array elements by index (`"a.b.0"`).
    pub path: String,
    /// What PostgreSQL `#>>` renders; `None` for JSON null.
    pub text: Option<String>,
    /// The float value of a number, or of a string that parses as a finite float.
    pub num: Option<f64>,
}

/// Every scalar leaf of `meta`, depth-first in document order. Empty objects and arrays have
/// no leaves; a scalar at the top has the path `""`.
pub fn flatten_meta(meta: &Value) -> Vec<MetaEntry> {
    let mut out = Vec::new();
    let mut path = String::new();
    walk(meta, &mut path, &mut out);
    out
}

fn walk(v: &Value, path: &mut String, out: &mut Vec<MetaEntry>) {
    let child = |seg: &str, v: &Value, path: &mut String, out: &mut Vec<MetaEntry>| {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(seg);
        walk(v, path, out);
        path.truncate(len);
    };
    match v {
        Value::Object(map) => map.iter().for_each(|(k, v)| child(k, v, path, out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| child(&i.to_string(), v, path, out)),
        Value::Null => out.push(MetaEntry { path: path.clone(), text: None, num: None }),
        Value::Bool(b) => out.push(MetaEntry { path: path.clone(), text: Some(b.to_string()), num: None }),
        Value::Number(n) => out.push(MetaEntry {
            path: path.clone(),
            text: Some(n.to_string()),
            num: n.as_f64().filter(|f| f.is_finite()),
        }),
        Value::String(s) => out.push(MetaEntry { path: path.clone(), text: Some(s.clone()), num: parse_float(s) }),
    }
}

/// PostgreSQL `CAST(text AS float8)` for the finite cases: surrounding whitespace allowed.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let numeric = t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !numeric {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}
