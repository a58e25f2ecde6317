//! The persistence traits the domain depends on. `store::sql` implements them for SQLite and
//! PostgreSQL; SQL lives only there.

use async_trait::async_trait;
use uuid::Uuid;

use super::caller::Scope;
use super::error::Result;
use super::metadata::{MetaData, ObjectKind};
use super::model::{Company, Session, SessionUser, User};

/// Raw list query parameters (URL-decoded pairs, repeats kept). The store parses them with the
/// list grammar of `emerald_query` against its own field table and reports grammar errors.
#[derive(Debug, Clone, Default)]
pub struct ListParams(pub Vec<(String, String)>);

impl ListParams {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A page of a list: `total` is None when the caller asked for `total_omit`.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub total: Option<u64>,
    pub offset: u64,
    pub limit: Option<u64>,
    pub items: Vec<T>,
}

#[async_trait]
pub trait Companies: Send + Sync {
    async fn insert_company(&self, company: &Company) -> Result<()>;
    async fn get_company(&self, id: Uuid) -> Result<Option<Company>>;
    /// `search_text` matches any part of the name, case-insensitively.
    async fn list_companies(&self, scope: Scope, search_text: Option<&str>, params: &ListParams) -> Result<Page<Company>>;
    /// Name and metadata; false when the company is gone.
    async fn update_company(&self, company: &Company) -> Result<bool>;
    async fn delete_company(&self, id: Uuid) -> Result<bool>;
    async fn count_company_users(&self, id: Uuid) -> Result<u64>;
}

#[async_trait]
pub trait Users: Send + Sync {
    /// Fails with `InvalidValue` when the email is taken (case-insensitive).
    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<()>;
    async fn get_user(&self, id: Uuid) -> Result<Option<User>>;
    /// The user and its password hash, by email (case-insensitive).
    async fn get_login(&self, email: &str) -> Result<Option<(User, String)>>;
    /// `only_user` restricts the list to one user (a CLIENT sees only itself).
    async fn list_users(&self, scope: Scope, only_user: Option<Uuid>, search_text: Option<&str>, params: &ListParams) -> Result<Page<User>>;
    /// Everything but the password; a new password hash when given. False when the user is gone.
    async fn update_user(&self, user: &User, password_hash: Option<&str>) -> Result<bool>;
    async fn delete_user(&self, id: Uuid) -> Result<bool>;
    async fn count_users(&self) -> Result<u64>;
}

#[async_trait]
pub trait Sessions: Send + Sync {
    async fn insert_session(&self, session: &Session) -> Result<()>;
    async fn session_by_access(&self, access_hash: &str) -> Result<Option<SessionUser>>;
    async fn session_by_expire(&self, expire_hash: &str) -> Result<Option<Session>>;
    async fn extend_session(&self, id: Uuid, expires_at: f64) -> Result<()>;
    /// First use of a renewed pair: delete the parent session and forget the link.
    async fn retire_parent(&self, id: Uuid, parent: Uuid) -> Result<()>;
    async fn delete_expired_sessions(&self, before: f64) -> Result<u64>;
}

#[async_trait]
pub trait Metadata: Send + Sync {
    /// Replace an object's metadata and its search-index rows in one transaction.
    /// False when the object does not exist.
    async fn set_meta(&self, kind: ObjectKind, id: Uuid, meta: &MetaData, time_updated: f64) -> Result<bool>;
}

/// Everything the server persists, behind one handle.
#[async_trait]
pub trait Store: Companies + Users + Sessions + Metadata + Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and `/api/version`.
    fn backend(&self) -> &'static str;
    /// Readiness: one round trip to the database.
    async fn ping(&self) -> Result<()>;
}
