//! The one error a list query can fail with: an Oz error code, message and `error_details`.

use serde_json::{json, Value};

/// Oz code 3 (`InvalidBodyStructureError`): a request descriptor could not be parsed.
pub const CODE_STRUCTURE: u16 = 3;
/// Oz code 4 (`InvalidParamValueError`): the value has the right type but is not acceptable.
pub const CODE_VALUE: u16 = 4;
/// Oz code 5 (`InvalidParamTypeError`): the value does not convert to the expected type.
pub const CODE_TYPE: u16 = 5;

/// A client error in a list query; every message is a literal Lamb message (spec §6.3, §15.4).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct QueryError {
    pub code: u16,
    pub message: String,
    pub details: Value,
}

impl QueryError {
    pub(crate) fn new(code: u16, message: impl Into<String>, details: Value) -> Self {
        QueryError { code, message: message.into(), details }
    }

    /// Code 5 `Invalid data type for param <key>`, details `{"key_path": key}`.
    pub(crate) fn data_type(key: &str) -> Self {
        Self::new(CODE_TYPE, format!("Invalid data type for param {key}"), json!({ "key_path": key }))
    }

    /// Code 4: the query names more filter values than [`crate::MAX_FILTER_VALUES`] (ours, not Lamb's).
    pub(crate) fn too_many_values(key: &str) -> Self {
        Self::new(
            CODE_VALUE,
            format!("Too many filter values for param {key}. Max is {}", crate::MAX_FILTER_VALUES),
            json!({ "key_path": key }),
        )
    }
}
