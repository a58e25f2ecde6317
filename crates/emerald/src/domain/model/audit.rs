//! The auth audit records and per-company quota overrides, as stored (docs/abuse.md). The
//! rules that write them are in [`crate::domain::identity::abuse`].

use uuid::Uuid;

/// One auth audit record. Never a password or a token.
#[derive(Debug, Clone)]
pub struct AuthEvent {
    pub event_id: Uuid,
    pub time_created: f64,
    /// `login`, `logout`, `refresh`, `block`, `unblock`, `throttle_clear`, `decision`.
    pub event: &'static str,
    /// `success`, `failure`, `throttled`, `blocked`.
    pub outcome: &'static str,
    pub user_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    /// The login as typed (lower-cased, at most 254 characters).
    pub email: Option<String>,
    /// Who did it when it was another user (a block, a decision).
    pub actor_id: Option<Uuid>,
    pub client_addr: Option<String>,
    /// The object a change concerns (`analysis` for a decision), with its value before and
    /// after and the comment given.
    pub object: Option<ObjectChange>,
}

/// What an audited change did to one object.
#[derive(Debug, Clone, Default)]
pub struct ObjectChange {
    pub object_type: &'static str,
    pub object_id: Uuid,
    pub before: Option<String>,
    pub after: Option<String>,
    pub comment: Option<String>,
}

/// A stored audit record as listed.
#[derive(Debug, Clone)]
pub struct StoredAuthEvent {
    pub event_id: Uuid,
    pub time_created: f64,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub email: Option<String>,
    pub actor_id: Option<Uuid>,
    pub client_addr: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<Uuid>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub comment: Option<String>,
}

/// A company's own request rates (None: the global ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompanyQuota {
    pub requests_per_minute: Option<u32>,
    pub expensive_per_minute: Option<u32>,
}
