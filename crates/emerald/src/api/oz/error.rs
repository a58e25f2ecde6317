//! The one table from error to Oz code and HTTP status, and the error envelope
//! `{"error_code", "error_message", "error_details", "details"}` (spec §15).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::json::{json_bytes, to_vec};
use crate::domain::Error;

/// The Oz error code and HTTP status of each error (spec §15.3; our choices marked there [I]).
pub fn code_and_status(err: &Error) -> (u16, StatusCode) {
    match err {
        Error::Internal(_) => (0, StatusCode::INTERNAL_SERVER_ERROR),
        Error::NotAllowed => (1, StatusCode::METHOD_NOT_ALLOWED),
        Error::NotRealized(_) => (2, StatusCode::NOT_IMPLEMENTED),
        Error::InvalidStructure { .. } => (3, StatusCode::BAD_REQUEST),
        Error::InvalidValue { .. } => (4, StatusCode::BAD_REQUEST),
        Error::InvalidType { .. } => (5, StatusCode::BAD_REQUEST),
        Error::AuthNotProvided => (6, StatusCode::UNAUTHORIZED),
        Error::AuthInvalid(_) => (7, StatusCode::UNAUTHORIZED),
        Error::AuthExpired => (8, StatusCode::UNAUTHORIZED),
        Error::Forbidden(_) => (9, StatusCode::FORBIDDEN),
        Error::NotExist(_) => (10, StatusCode::NOT_FOUND),
        Error::External(_) => (11, StatusCode::BAD_GATEWAY),
        Error::Database(_) => (12, StatusCode::INTERNAL_SERVER_ERROR),
        Error::BodyTooBig { .. } => (4, StatusCode::PAYLOAD_TOO_LARGE),
        Error::Throttled { .. } => (101, StatusCode::TOO_MANY_REQUESTS),
        Error::UserBlocked => (211, StatusCode::FORBIDDEN),
        Error::Conflict { .. } => (4, StatusCode::CONFLICT),
    }
}

fn details_of(err: &Error) -> Value {
    match err {
        Error::InvalidStructure { details, .. }
        | Error::InvalidValue { details, .. }
        | Error::InvalidType { details, .. }
        | Error::Conflict { details, .. } => details.clone(),
        Error::BodyTooBig { limit } => serde_json::json!({ "limit": limit }),
        Error::Throttled { retry_after } => serde_json::json!({ "retry_after": retry_after }),
        Error::Internal(_)
        | Error::NotAllowed
        | Error::NotRealized(_)
        | Error::AuthNotProvided
        | Error::AuthInvalid(_)
        | Error::AuthExpired
        | Error::Forbidden(_)
        | Error::NotExist(_)
        | Error::External(_)
        | Error::UserBlocked
        | Error::Database(_) => Value::Null,
    }
}

/// The Oz error envelope (spec §15.2). Lamb names the third key `error_details`, the Oz docs
/// `details`: both are sent with the same value.
#[derive(Serialize, ToSchema)]
#[schema(as = OzError, example = json!({"error_code": 10, "error_message": "Folder not found", "error_details": null, "details": null}))]
pub struct ErrorBody {
    /// The Oz error code (spec §15.3): 0 unknown, 1 method not allowed, 2 not realized,
    /// 3 invalid structure, 4 invalid value, 5 invalid type, 6 no token, 7 invalid token or
    /// credentials, 8 expired token, 9 forbidden, 10 not found, 11 external service,
    /// 12 database, 101 too many requests, 211 user blocked.
    pub error_code: u16,
    pub error_message: String,
    /// What the error concerns (`key_path`, `limit`, `retry_after`, `analyse_ids` …), or null.
    #[schema(value_type = Option<Object>)]
    pub error_details: Value,
    /// The same as `error_details`.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (code, status) = code_and_status(&self);
        if status.is_server_error() {
            // Our fault: keep the cause chain in the log, send only the generic message.
            tracing::error!(error_code = code, error = ?self, "request failed");
        }
        let details = details_of(&self);
        let body =
            ErrorBody { error_code: code, error_message: self.to_string(), error_details: details.clone(), details };
        let bytes = to_vec(&body).unwrap_or_else(|_| br#"{"error_code": 0}"#.to_vec());
        let mut res = json_bytes(status, bytes);
        if let Error::Throttled { retry_after } = self {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(retry_after.max(1)));
        }
        res
    }
}
