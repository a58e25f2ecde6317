//! The JSON body extractor that replaces `axum::Json`: reads the body whatever the
//! `Content-Type` says (clients post JSON as form-urlencoded or with none, spec §2.1, §15.4),
//! bounds its size, and reports missing or mistyped fields with Lamb's messages and key paths.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::Error;

/// Largest JSON request body.
pub const JSON_BODY_MAX_BYTES: usize = 1024 * 1024;

/// A JSON body deserialised into `T`.
pub struct OzBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OzBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Error> {
        let value = read_json(req.into_body(), JSON_BODY_MAX_BYTES).await?;
        from_value(value).map(OzBody)
    }
}

/// Read a body as a JSON value. An empty body is `{}` (clients POST without a body).
pub async fn read_json(body: Body, limit: usize) -> Result<Value, Error> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| Error::BodyTooBig { limit })?;
    parse_json_bytes(&bytes)
}

pub fn parse_json_bytes(bytes: &[u8]) -> Result<Value, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|_| Error::InvalidStructure {
        message: "Could not parse body as JSON object".into(),
        details: Value::Null,
    })?;
    match value {
        Value::Object(_) | Value::Array(_) => Ok(value),
        _ => Err(Error::InvalidStructure {
            message: "JSON body of request should be represented in a form of dictionary/array".into(),
            details: Value::Null,
        }),
    }
}

/// A field where `null` means something (clear it) and absence another (leave it):
/// `#[serde(default, deserialize_with = "double_option")]` on an `Option<Option<String>>`.
pub fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Deserialise, naming the offending key path the way Lamb does.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        if let Some(field) = inner.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
            let key_path = if path == "." || path.is_empty() { field.to_owned() } else { format!("{path}.{field}") };
            Error::missing_field(&key_path)
        } else {
            Error::invalid_type(&path)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Creds {
        credentials: Inner,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
        password: String,
    }

    #[test]
    fn missing_nested_field_names_its_path() {
        let err = from_value::<Creds>(json!({"credentials": {"email": "a"}})).unwrap_err();
        assert_eq!(err.to_string(), "Could not locate field for key_path credentials.password from provided dict data");
        let err = from_value::<Creds>(json!({})).unwrap_err();
        assert_eq!(err.to_string(), "Could not locate field for key_path credentials from provided dict data");
    }

    #[test]
    fn wrong_type_names_its_path() {
        let err = from_value::<Creds>(json!({"credentials": {"email": 5, "password": "x"}})).unwrap_err();
        assert!(matches!(err, Error::InvalidType { .. }));
        assert_eq!(err.to_string(), "Invalid data type for param credentials.email");
    }

    #[test]
    fn bodies_that_are_not_json_objects() {
        assert_eq!(parse_json_bytes(b"").unwrap(), json!({}));
        assert_eq!(parse_json_bytes(b"{not json").unwrap_err().to_string(), "Could not parse body as JSON object");
        assert!(parse_json_bytes(b"42").unwrap_err().to_string().contains("dictionary/array"));
    }
}
