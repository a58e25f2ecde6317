//! Field filters (spec §6.3, Lamb `lamb/utils/filters.py`).
//!
//! ```text
//! filter  = key "=" values            ; one value: "=", several: IN (…); with null: OR IS NULL
//!         | key ".exclude=" values    ; "!=" / NOT IN (…); with null: AND IS NOT NULL
//!         | key ".min=" values        ; >=   (each value one condition, AND-ed)
//!         | key ".max=" values        ; <=
//!         | key ".greater=" values    ; >
//!         | key ".less=" values       ; <
//! values  = value { "," value }       ; converted to the field's kind, then de-duplicated
//! value   = "null" (any case) | text
//! ```
//! The key is a [`crate::FieldSpec::key`] (it may itself contain dots, e.g. `analyse.type`); each
//! field declares the operations it allows. Conversion by kind: `Uuid` (any form `uuid` parses),
//! `Int` / `Float` (Python `int()` / `float()`, finite), `Bool` (`true`/`false`/`1`/`0`, any
//! case), `Time` ([`crate::parse_datetime`]), `Enum` (case-insensitive, aliases), `Text` (as is).
//!
//! Errors: a value that does not convert → code 5 `Invalid data type for param <key>`
//! (`{"key_path": <key>}`, key with its suffix); a datetime that does not parse → code 4
//! `Invalid to convert date from string=<v> according to format=iso` (`{"key_path": <key>}`);
//! `null` for a range operation → code 5; an operation the field does not allow → code 4
//! `Filter operation <op> is not allowed for param <field>` (`{"key_path": <key>}`).
//! Unknown keys are not errors: clients send extra parameters.

use std::collections::HashSet;

use serde_json::json;

use crate::datetime::parse_datetime;
use crate::error::{QueryError, CODE_VALUE};
use crate::{FieldKind, FieldSpec, ListSpec, Ops, Param};

/// A range comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `.min`, `>=`
    Ge,
    /// `.max`, `<=`
    Le,
    /// `.greater`, `>`
    Gt,
    /// `.less`, `<`
    Lt,
}

impl Cmp {
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Ge => ">=",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Lt => "<",
        }
    }
}

/// What a field filter tests.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldOp {
    /// `column IN (values)`, `OR column IS NULL` when `null`. Never both empty.
    In { values: Vec<Param>, null: bool },
    /// `column NOT IN (values)`, `AND column IS NOT NULL` when `null`. Never both empty.
    NotIn { values: Vec<Param>, null: bool },
    /// `column <cmp> value`.
    Compare(Cmp, Param),
}

/// One typed field filter.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCondition {
    /// The field's query key (without the operation suffix).
    pub key: &'static str,
    pub column: &'static str,
    pub op: FieldOp,
}

/// The operation suffixes, in the order they are tried.
const SUFFIXES: [(&str, Ops); 5] =
    [("exclude", Ops::EXCLUDE), ("min", Ops::MIN), ("max", Ops::MAX), ("greater", Ops::GREATER), ("less", Ops::LESS)];

/// Resolve `key` to a field and an operation; `None` for keys this spec does not know.
fn resolve<'s>(key: &str, spec: &'s ListSpec) -> Option<(&'s FieldSpec, Ops, &'static str)> {
    if let Some(f) = spec.fields.iter().find(|f| f.key == key) {
        return Some((f, Ops::EQ, "eq"));
    }
    let (base, suffix) = key.rsplit_once('.')?;
    let (name, op) = SUFFIXES.iter().find(|(s, _)| *s == suffix)?;
    spec.fields.iter().find(|f| f.key == base).map(|f| (f, *op, *name))
}

/// Whether `key` names a field filter of `spec` (allowed operation or not).
pub(crate) fn is_field_key(key: &str, spec: &ListSpec) -> bool {
    resolve(key, spec).is_some()
}

/// Parse the merged values of one query key. `Ok(None)` when the key is not a field filter.
pub(crate) fn parse_field<'a>(
    key: &str,
    items: impl Iterator<Item = &'a str>,
    spec: &ListSpec,
    now: f64,
) -> Result<Option<Vec<FieldCondition>>, QueryError> {
    let Some((field, op, op_name)) = resolve(key, spec) else {
        return Ok(None);
    };
    if !field.ops.contains(op) {
        return Err(QueryError::new(
            CODE_VALUE,
            format!("Filter operation {op_name} is not allowed for param {}", field.key),
            json!({ "key_path": key }),
        ));
    }
    let mut seen = HashSet::new();
    let mut values = Vec::new();
    let mut null = false;
    for raw in items {
        if raw.eq_ignore_ascii_case("null") {
            null = true;
            continue;
        }
        let v = convert(key, raw, field.kind, now)?;
        if seen.insert(dedup_key(&v)) {
            values.push(v);
        }
    }
    let cond = |op| FieldCondition { key: field.key, column: field.column, op };
    let conds = match op {
        Ops::EQ => vec![cond(FieldOp::In { values, null })],
        Ops::EXCLUDE => vec![cond(FieldOp::NotIn { values, null })],
        _ => {
            if null {
                return Err(QueryError::data_type(key));
            }
            let cmp = match op {
                Ops::MIN => Cmp::Ge,
                Ops::MAX => Cmp::Le,
                Ops::GREATER => Cmp::Gt,
                _ => Cmp::Lt,
            };
            values.into_iter().map(|v| cond(FieldOp::Compare(cmp, v))).collect()
        }
    };
    Ok(Some(conds))
}

fn dedup_key(v: &Param) -> (u8, String) {
    match v {
        Param::Text(s) => (0, s.clone()),
        Param::Float(f) => (1, f.to_bits().to_string()),
        Param::Int(i) => (2, i.to_string()),
        Param::Uuid(u) => (3, u.to_string()),
        Param::Bool(b) => (4, b.to_string()),
    }
}

/// Lamb's boolean transform: `true`/`false`/`1`/`0`, any case.
pub(crate) fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn convert(key: &str, raw: &str, kind: FieldKind, now: f64) -> Result<Param, QueryError> {
    let bad = || QueryError::data_type(key);
    Ok(match kind {
        FieldKind::Text => Param::Text(raw.to_owned()),
        FieldKind::Uuid => Param::Uuid(uuid::Uuid::parse_str(raw.trim()).map_err(|_| bad())?),
        FieldKind::Int => Param::Int(raw.trim().parse().map_err(|_| bad())?),
        FieldKind::Float => {
            let f: f64 = raw.trim().parse().map_err(|_| bad())?;
            if !f.is_finite() {
                return Err(bad());
            }
            Param::Float(f)
        }
        FieldKind::Bool => Param::Bool(parse_bool(raw).ok_or_else(bad)?),
        FieldKind::Time => Param::Float(parse_datetime(raw, now).map_err(|mut e| {
            e.details = json!({ "key_path": key });
            e
        })?),
        FieldKind::Enum(variants) => Param::Text(enum_value(raw, variants).ok_or_else(bad)?.to_owned()),
    })
}

/// The canonical value for `raw` among `variants` (`"CANON"` or `"ALIAS=CANON"` entries).
pub(crate) fn enum_value(raw: &str, variants: &'static [&'static str]) -> Option<&'static str> {
    variants.iter().find_map(|v| {
        let (name, canon) = v.split_once('=').unwrap_or((v, v));
        name.eq_ignore_ascii_case(raw).then_some(canon)
    })
}
