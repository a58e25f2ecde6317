//! `sorting=` (spec §6.3), Lamb's descriptor list.
//!
//! ```text
//! sorting    = [ descriptor { "," descriptor } ]   ; URL-unquoted once more, trimmed, lower-cased
//! descriptor = field [ "{" direction "}" ]          ; bare field = descending
//! field      = 1*( ALNUM | "_" | "." )              ; must be a sort key of the ListSpec
//! direction  = "asc" | "desc"
//! ```
//! Empty descriptors (`a,,b`, a trailing comma) are skipped; a repeated field keeps its first
//! direction. Errors are code 4 with `error_details`
//! `{"key_path": "sorting", "descriptor": d[, "field": f]}`.

use serde_json::json;

use crate::error::{QueryError, CODE_VALUE};
use crate::ListSpec;

/// The query key.
pub const SORTING_KEY: &str = "sorting";

/// One `ORDER BY` term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: &'static str,
    pub column: &'static str,
    pub desc: bool,
}

/// Parse a `sorting=` value (without the spec's default order).
pub fn parse_sorting(raw: &str, spec: &ListSpec) -> Result<Vec<Sort>, QueryError> {
    let text = percent_decode(raw).trim().to_lowercase();
    let mut out: Vec<Sort> = Vec::new();
    for d in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let format_err = || {
            QueryError::new(
                CODE_VALUE,
                format!("Invalid sorting descriptor format {d}"),
                json!({ "key_path": SORTING_KEY, "descriptor": d }),
            )
        };
        let (field, direction) = match d.split_once('{') {
            Some((f, rest)) => (f, Some(rest.strip_suffix('}').ok_or_else(format_err)?)),
            None => (d, None),
        };
        let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.');
        if !word(field) || direction.is_some_and(|dir| !word(dir)) {
            return Err(format_err());
        }
        let Some(&(key, column)) = spec.sort_fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)) else {
            return Err(QueryError::new(
                CODE_VALUE,
                format!("Invalid sorting_field value for descriptor {d}. Not found in model"),
                json!({ "key_path": SORTING_KEY, "descriptor": d, "field": field }),
            ));
        };
        let desc = match direction {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => {
                return Err(QueryError::new(
                    CODE_VALUE,
                    format!("Invalid sorting_direction value for descriptor {d}. Should be one [asc or desc]"),
                    json!({ "key_path": SORTING_KEY, "descriptor": d }),
                ))
            }
        };
        if !out.iter().any(|s| s.key == key) {
            out.push(Sort { key, column, desc });
        }
    }
    Ok(out)
}

/// Python `urllib.parse.unquote`: `%XX` decoded, malformed escapes kept, invalid UTF-8 replaced.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn unquote() {
        assert_eq!(percent_decode("a%7Basc%7D"), "a{asc}");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }
}
