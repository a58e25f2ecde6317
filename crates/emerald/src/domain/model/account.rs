//! The objects of the foundation: companies, users and sessions (spec §4.2, §4.3, §2).

use uuid::Uuid;

use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;

#[derive(Debug, Clone)]
pub struct Company {
    pub company_id: Uuid,
    pub name: String,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}

/// Per-analysis-type permission flags of a user (spec §3.1), all enabled by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalysisPermissions {
    pub biometry: bool,
    pub quality: bool,
    pub collection: bool,
    pub documents: bool,
}

impl Default for AnalysisPermissions {
    fn default() -> Self {
        AnalysisPermissions { biometry: true, quality: true, collection: true, documents: true }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub user_id: Uuid,
    pub company_id: Option<Uuid>,
    pub email: String,
    pub user_type: UserType,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: Option<String>,
    pub is_service: bool,
    /// False: blocked — its logins and tokens answer code 211.
    pub is_active: bool,
    pub can_start: AnalysisPermissions,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}

impl User {
    /// Service accounts get the long-lived token (spec §2.3, §2.4).
    pub fn is_service_account(&self) -> bool {
        self.is_service || self.user_type == UserType::ClientService
    }
}

/// A login session: a token pair, stored only as hashes.
#[derive(Debug, Clone)]
pub struct Session {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub access_hash: String,
    pub expire_hash: String,
    pub expires_at: f64,
    /// The session this one renewed; deleted when this one is first used (spec §2.3).
    pub parent_session_id: Option<Uuid>,
    pub time_created: f64,
}

/// What the auth check needs, in one read: the session and its user's role and company.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session: Session,
    pub user_type: UserType,
    pub company_id: Option<Uuid>,
    pub is_service_account: bool,
    /// False: the user is blocked.
    pub is_active: bool,
}
