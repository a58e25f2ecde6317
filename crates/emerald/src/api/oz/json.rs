//! JSON rendered the way the reference server (Python `json.dumps` defaults) renders it:
//! one line, `", "` between items, `": "` after keys, UTF-8 unescaped. At least one Oz shell
//! script cuts responses at whitespace positions (spec §2.1), so this is part of the contract.

use std::io;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::ser::Formatter;

/// `Content-Type` of every JSON response, spelled as the reference server spells it (sic).
pub const CONTENT_TYPE: &str = "application/json; charset=utf8";

/// serde_json's compact formatter with Python's default separators.
#[derive(Debug, Default, Clone, Copy)]
pub struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Serialise with [`PythonFormatter`].
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// A JSON response with a status.
pub struct OzJson<T>(pub StatusCode, pub T);

impl<T: Serialize> IntoResponse for OzJson<T> {
    fn into_response(self) -> Response {
        match to_vec(&self.1) {
            Ok(body) => json_bytes(self.0, body),
            Err(err) => crate::domain::Error::internal(err).into_response(),
        }
    }
}

pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res
}

/// 200 with a JSON body.
pub fn ok<T: Serialize>(value: T) -> OzJson<T> {
    OzJson(StatusCode::OK, value)
}

/// 201 with a JSON body.
pub fn created<T: Serialize>(value: T) -> OzJson<T> {
    OzJson(StatusCode::CREATED, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_separators_and_raw_utf8() {
        let v = json!({"a": [1, 2], "b": {"c": "Zoë ✓"}, "d": null});
        assert_eq!(String::from_utf8(to_vec(&v).unwrap()).unwrap(), r#"{"a": [1, 2], "b": {"c": "Zoë ✓"}, "d": null}"#);
    }

    #[test]
    fn empty_containers() {
        assert_eq!(to_vec(&json!({"a": [], "b": {}})).unwrap(), br#"{"a": [], "b": {}}"#);
    }
}
