//! `offset` / `limit` (spec §6.3): Lamb's pagination checks and literal messages.

use serde_json::json;

use crate::error::{QueryError, CODE_VALUE};

pub(crate) const OFFSET_KEY: &str = "offset";
pub(crate) const LIMIT_KEY: &str = "limit";
pub(crate) const TOTAL_OMIT_KEY: &str = "total_omit";
/// `LAMB_PAGINATION_LIMIT_DEFAULT`.
pub const LIMIT_DEFAULT: u64 = 100;
/// `LAMB_PAGINATION_LIMIT_MAX`.
pub const LIMIT_MAX: u64 = 5000;
/// `limit=-1`: no limit.
const LIMIT_ALL: i64 = -1;

pub(crate) struct Page {
    pub offset: u64,
    pub limit: Option<u64>,
}

/// Python `int()`: surrounding whitespace and a sign allowed; anything else is code 5.
pub(crate) fn parse_int(key: &str, raw: &str) -> Result<i64, QueryError> {
    raw.trim().parse::<i64>().map_err(|_| QueryError::data_type(key))
}

pub(crate) fn parse(offset: Option<&str>, limit: Option<&str>) -> Result<Page, QueryError> {
    let offset = match offset {
        None => 0,
        Some(raw) => {
            let v = parse_int(OFFSET_KEY, raw)?;
            u64::try_from(v).map_err(|_| {
                QueryError::new(CODE_VALUE, "Invalid offset value for pagination", json!({ "key": OFFSET_KEY }))
            })?
        }
    };
    let limit = match limit {
        None => Some(LIMIT_DEFAULT),
        Some(raw) => {
            let v = parse_int(LIMIT_KEY, raw)?;
            if v == LIMIT_ALL {
                None
            } else if v < LIMIT_ALL {
                return Err(QueryError::new(
                    CODE_VALUE,
                    "Invalid limit value for pagination",
                    json!({ "key": LIMIT_KEY }),
                ));
            } else if v.unsigned_abs() > LIMIT_MAX {
                return Err(QueryError::new(
                    CODE_VALUE,
                    "Invalid limit value for pagination - exceed max available",
                    json!({ "key": LIMIT_KEY }),
                ));
            } else {
                Some(v.unsigned_abs())
            }
        }
    };
    Ok(Page { offset, limit })
}
