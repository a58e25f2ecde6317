//! Object ids in paths and bodies: UUIDs, or a clear code-4 error naming the parameter.

use uuid::Uuid;

use crate::domain::Error;

pub fn parse_id(key: &str, raw: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        Error::invalid_value(
            format!("Invalid value for param {key}: {raw:?} is not a UUID"),
            serde_json::json!({ "key_path": key }),
        )
    })
}
