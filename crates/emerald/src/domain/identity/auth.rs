//! Login, token check with sliding expiry, and renewal (spec §2).

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::identity::credentials::{dummy_hash, verify_password, Password};
use crate::domain::identity::users::UserPatch;
use crate::domain::model::account::{Session, SessionUser, User};
use crate::domain::model::caller::Caller;
use crate::domain::time::now;
use crate::domain::Domain;

/// Token lifetimes (spec §2.3).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `OZ_SESSION_TTL`: every account but service accounts.
    pub session_ttl: f64,
    /// `OZ_SESSION_LONGLIVE_TTL`: service accounts.
    pub service_ttl: f64,
    /// Move `expire_date` to now + TTL on every request.
    pub extend_on_use: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings { session_ttl: 900.0, service_ttl: 5.0 * 365.0 * 86400.0, extend_on_use: true }
    }
}

/// A fresh token pair as returned by login and refresh.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub user: User,
    pub session_id: Uuid,
    pub access_token: String,
    pub expire_token: String,
    pub expire_date: f64,
}

/// 128 lowercase hex characters (the shape of Oz sample tokens), from the OS RNG.
fn new_token() -> String {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens are stored only as SHA-256 hashes; they are long and random, so no salt is needed.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Domain {
    fn ttl_for(&self, service_account: bool) -> f64 {
        if service_account {
            self.auth.service_ttl
        } else {
            self.auth.session_ttl
        }
    }

    async fn open_session(&self, user: User, parent: Option<Uuid>) -> Result<TokenPair> {
        let access_token = new_token();
        let expire_token = new_token();
        let t = now();
        let session = Session {
            session_id: Uuid::new_v4(),
            user_id: user.user_id,
            access_hash: token_hash(&access_token),
            expire_hash: token_hash(&expire_token),
            expires_at: t + self.ttl_for(user.is_service_account()),
            parent_session_id: parent,
            time_created: t,
        };
        self.store.insert_session(&session).await?;
        Ok(TokenPair {
            user,
            session_id: session.session_id,
            access_token,
            expire_token,
            expire_date: session.expires_at,
        })
    }

    /// `POST /api/authorize/auth` without a known client address (command-line tools).
    pub async fn login(&self, email: &str, password: &str) -> Result<TokenPair> {
        self.login_from(email, password, None).await
    }

    /// `POST /api/authorize/auth` from `client`: refused (code 101) while the account or the
    /// address is locked out after failures; a blocked user with the right password gets code
    /// 211 (a wrong password, code 7 as for anyone: blocking reveals nothing to a guesser).
    pub async fn login_from(&self, email: &str, password: &str, client: Option<IpAddr>) -> Result<TokenPair> {
        let invalid = || Error::AuthInvalid(Some("Invalid auth credentials".into()));
        let email = email.trim();
        self.check_login_throttle(email, client).await?;
        match self.store.get_login(email).await? {
            Some((user, hash)) => {
                if !verify_password(password.to_owned(), hash).await? {
                    self.login_failed(email, Some(&user), client).await?;
                    return Err(invalid());
                }
                if !user.is_active {
                    self.login_blocked(&user, client).await;
                    return Err(Error::UserBlocked);
                }
                self.login_succeeded(&user, client).await?;
                self.open_session(user, None).await
            }
            None => {
                let _ = verify_password(password.to_owned(), dummy_hash()).await;
                self.login_failed(email, None, client).await?;
                Err(invalid())
            }
        }
    }

    /// Resolve an access token to its caller. `allow_expired` lets a refresh name its session
    /// even after the access token ran out (the expire token is the proof then).
    pub async fn authenticate(&self, access_token: &str, allow_expired: bool) -> Result<Caller> {
        let Some(found) = self.store.session_by_access(&token_hash(access_token)).await? else {
            return Err(Error::AuthInvalid(None));
        };
        if !found.is_active {
            return Err(Error::UserBlocked);
        }
        let t = now();
        let session = &found.session;
        if session.expires_at <= t {
            if allow_expired {
                return Ok(caller_of(&found));
            }
            return Err(Error::AuthExpired);
        }
        if let Some(parent) = session.parent_session_id {
            self.store.retire_parent(session.session_id, parent).await?;
        }
        if self.auth.extend_on_use {
            let ttl = self.ttl_for(found.is_service_account);
            let target = t + ttl;
            // Sliding expiry without a write per request: extend once the gain is worth it
            // (1 % of the TTL, at least a second). Clients see expire_date move by design.
            if target - session.expires_at >= (ttl / 100.0).max(1.0) {
                self.store.extend_session(session.session_id, target).await?;
            }
        }
        Ok(caller_of(&found))
    }

    /// Check a token without writing anything (no sliding expiry, no parent retirement):
    /// Instant mode promises to write nothing.
    pub async fn authenticate_read_only(&self, access_token: &str) -> Result<Caller> {
        let Some(found) = self.store.session_by_access(&token_hash(access_token)).await? else {
            return Err(Error::AuthInvalid(None));
        };
        if !found.is_active {
            return Err(Error::UserBlocked);
        }
        if found.session.expires_at <= now() {
            return Err(Error::AuthExpired);
        }
        Ok(caller_of(&found))
    }

    /// `POST /api/authorize/refresh/`: a new pair for the session that owns `expire_token`.
    pub async fn refresh(&self, caller: &Caller, expire_token: &str, client: Option<IpAddr>) -> Result<TokenPair> {
        let Some(session) = self.store.session_by_expire(&token_hash(expire_token)).await? else {
            return Err(Error::AuthInvalid(Some("Session not found".into())));
        };
        if session.user_id != caller.user_id {
            return Err(Error::Forbidden(Some("You have not access to refresh this session".into())));
        }
        let user = self.store.get_user(caller.user_id).await?.ok_or(Error::AuthInvalid(None))?;
        if !user.is_active {
            return Err(Error::UserBlocked);
        }
        let pair = self.open_session(user, Some(session.session_id)).await?;
        self.refreshed(caller, client).await;
        Ok(pair)
    }
}

impl Domain {
    /// Log out: delete the caller's session (its access and expire tokens stop working).
    pub async fn logout(&self, caller: &Caller) -> Result<()> {
        self.store.delete_session(caller.session_id).await?;
        self.logged_out(caller).await;
        Ok(())
    }

    /// The signed-in user changes its own password, giving the current one (GAP-12): a stolen
    /// session alone cannot lock the owner out. `PATCH /api/users/{id}` with `old_password`,
    /// which [`Self::check_own_password`] checks.
    pub async fn change_own_password(&self, caller: &Caller, current: &str, new: Password) -> Result<()> {
        let patch =
            UserPatch { password: Some(new), old_password: Some(Password::current(current)), ..UserPatch::default() };
        self.update_user(caller, caller.user_id, patch).await?;
        Ok(())
    }

    /// Whether `current` is `user`'s password (the caller's own, GAP-12). A wrong one counts as
    /// a failed login for the account's throttle (code 101 once locked out), so it cannot be
    /// guessed here either; code 4 on `old_password` otherwise.
    pub(in crate::domain) async fn check_own_password(&self, user: &User, current: &str) -> Result<()> {
        self.check_login_throttle(&user.email, None).await?;
        let (_, hash) = self.store.get_login(&user.email).await?.ok_or_else(|| Error::not_exist("User"))?;
        if !verify_password(current.to_owned(), hash).await? {
            self.login_failed(&user.email, Some(user), None).await?;
            return Err(Error::invalid_value(
                "The current password is wrong",
                serde_json::json!({ "key_path": "old_password" }),
            ));
        }
        Ok(())
    }
}

fn caller_of(found: &SessionUser) -> Caller {
    Caller {
        user_id: found.session.user_id,
        session_id: found.session.session_id,
        user_type: found.user_type,
        company_id: found.company_id,
    }
}
