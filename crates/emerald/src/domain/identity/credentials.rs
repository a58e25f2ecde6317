//! Credentials: the login (a validated e-mail), passwords under the length rules, and their
//! Argon2id hashes. Used by [`super::users`] (setting a password) and [`super::auth`] (signing in).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::domain::error::{Error, Result};

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 1024;
pub const EMAIL_MAX_CHARS: usize = 254;

/// A validated e-mail address (the login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let ok = s.len() <= EMAIL_MAX_CHARS
            && !s.chars().any(char::is_whitespace)
            && matches!(s.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if ok {
            Ok(Email(s.to_owned()))
        } else {
            Err(Error::invalid_value(format!("Invalid email value {s:?}"), serde_json::json!({ "key_path": "email" })))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the length rules; never logged.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub fn parse(s: &str) -> Result<Self> {
        let n = s.chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&n) {
            return Err(Error::invalid_value(
                format!("Invalid password: it must have {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"),
                serde_json::json!({ "key_path": "password" }),
            ));
        }
        Ok(Password(s.to_owned()))
    }

    /// A password as typed to prove who one is (the current one, GAP-12): not held to the
    /// length rules, which it may predate.
    pub fn current(s: &str) -> Self {
        Password(s.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Argon2id with the crate's default (OWASP) parameters, off the async executor.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(Error::internal)?
}

pub(super) async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| Error::internal(anyhow::anyhow!("stored hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(Error::internal)?
}

/// A hash of a password nobody has, verified when the email is unknown so that a wrong email
/// and a wrong password take the same time.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub(super) fn dummy_hash() -> String {
    DUMMY_HASH
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default().hash_password(b"no such user", &salt).map(|h| h.to_string()).unwrap_or_default()
        })
        .clone()
}
