//! `user_type` (spec §3.1): the six roles and what each may do.

use std::fmt;
use std::str::FromStr;

use crate::domain::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserType {
    Admin,
    Operator,
    Client,
    ClientAdmin,
    ClientOperator,
    ClientService,
}

impl UserType {
    pub const ALL: [UserType; 6] = [
        UserType::Admin,
        UserType::Operator,
        UserType::Client,
        UserType::ClientAdmin,
        UserType::ClientOperator,
        UserType::ClientService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Admin => "ADMIN",
            UserType::Operator => "OPERATOR",
            UserType::Client => "CLIENT",
            UserType::ClientAdmin => "CLIENT ADMIN",
            UserType::ClientOperator => "CLIENT OPERATOR",
            UserType::ClientService => "CLIENT SERVICE",
        }
    }

    /// ADMIN and OPERATOR are global; every other role belongs to exactly one company.
    pub fn is_global(self) -> bool {
        match self {
            UserType::Admin | UserType::Operator => true,
            UserType::Client | UserType::ClientAdmin | UserType::ClientOperator | UserType::ClientService => false,
        }
    }
}

impl fmt::Display for UserType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserType {
    type Err = Error;

    /// Case-insensitive; `_` and `-` are accepted in place of the space (`client_admin`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm: String =
            s.trim().chars().map(|c| if c == '_' || c == '-' { ' ' } else { c.to_ascii_uppercase() }).collect();
        UserType::ALL
            .into_iter()
            .find(|t| t.as_str() == norm)
            .ok_or_else(|| {
                Error::invalid_value(
                    format!(
                        "Invalid user_type value {s:?}: expected one of ADMIN, OPERATOR, CLIENT, CLIENT ADMIN, CLIENT OPERATOR, CLIENT SERVICE"
                    ),
                    serde_json::json!({ "key_path": "user_type" }),
                )
            })
    }
}
