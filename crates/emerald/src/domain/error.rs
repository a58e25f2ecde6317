//! The one error type of the server. Each variant names an Oz error code by meaning; the table
//! code → (HTTP status, default message) and the wire envelope live in `api::oz::error`.

use serde_json::Value;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Code 1: method not allowed on this endpoint.
    #[error("HTTP method not allowed on this endpoint")]
    NotAllowed,
    /// Code 2: declared but not available on this server (e.g. a missing model).
    #[error("{0}")]
    NotRealized(String),
    /// Code 3: malformed request / missing field.
    #[error("{message}")]
    InvalidStructure { message: String, details: Value },
    /// Code 4: a value is not acceptable.
    #[error("{message}")]
    InvalidValue { message: String, details: Value },
    /// Code 5: a value has the wrong type.
    #[error("{message}")]
    InvalidType { message: String, details: Value },
    /// Code 6.
    #[error("User auth token is not provided. You must be logged for this request.")]
    AuthNotProvided,
    /// Code 7, with an optional specific message (e.g. `Session not found`).
    #[error("{}", .0.as_deref().unwrap_or("User auth token is not valid. You must be logged for this request."))]
    AuthInvalid(Option<String>),
    /// Code 8.
    #[error("Provided user auth token has expired. Please renew it.")]
    AuthExpired,
    /// Code 9, with an optional specific message.
    #[error("{}", .0.as_deref().unwrap_or("You have not access to this resource"))]
    Forbidden(Option<String>),
    /// Code 10: the object does not exist, or is not visible to the caller.
    #[error("{0}")]
    NotExist(String),
    /// Code 11: a downstream service failed.
    #[error("Failed to communicate with external system: {0}")]
    External(String),
    /// Request body over the configured limit (code 4, HTTP 413).
    #[error("Request data too big")]
    BodyTooBig { limit: usize },
    /// Code 101: too many failed logins or requests; retry after this many seconds.
    #[error("Too many requests")]
    Throttled { retry_after: u64 },
    /// Code 211: the account is blocked (its logins and tokens are refused).
    #[error("User profile is blocked")]
    UserBlocked,
    /// Code 4 with HTTP 409: the object is held by someone else (a review claim, GAP-10).
    #[error("{message}")]
    Conflict { message: String, details: Value },
    /// Code 12: the database failed. The cause is logged, never sent.
    #[error("Database error occurred")]
    Database(#[source] anyhow::Error),
    /// Code 0: anything else that is our fault. The cause is logged, never sent.
    #[error("Unknown server side error occurred")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn invalid_value(message: impl Into<String>, details: Value) -> Self {
        Error::InvalidValue { message: message.into(), details }
    }

    /// Lamb's message for a required field that is absent.
    pub fn missing_field(key_path: &str) -> Self {
        Error::InvalidStructure {
            message: format!("Could not locate field for key_path {key_path} from provided dict data"),
            details: serde_json::json!({ "key_path": key_path }),
        }
    }

    /// Lamb's message for a field of the wrong type (or null where a value is required).
    pub fn invalid_type(key_path: &str) -> Self {
        Error::InvalidType {
            message: format!("Invalid data type for param {key_path}"),
            details: serde_json::json!({ "key_path": key_path }),
        }
    }

    pub fn not_exist(what: &str) -> Self {
        Error::NotExist(format!("{what} not exist"))
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Error::Internal(err.into())
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Database(err.into())
    }
}

impl From<emerald_query::QueryError> for Error {
    fn from(err: emerald_query::QueryError) -> Self {
        let emerald_query::QueryError { code, message, details } = err;
        match code {
            3 => Error::InvalidStructure { message, details },
            5 => Error::InvalidType { message, details },
            _ => Error::InvalidValue { message, details },
        }
    }
}
