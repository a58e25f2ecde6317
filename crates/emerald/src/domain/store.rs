//! The persistence traits the domain depends on. `store::sql` implements them for SQLite and
//! PostgreSQL; SQL lives only there.

use async_trait::async_trait;
use uuid::Uuid;

use super::caller::Scope;
use super::error::Result;
use super::media::{Analysis, Folder, Media};
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

/// Whose folders and media a caller sees: a company's (or all), and maybe only its own.
#[derive(Debug, Clone, Copy)]
pub struct Visibility {
    pub scope: Scope,
    pub only_user: Option<Uuid>,
}

/// Unique persons by a metadata key over a time window (spec §16 [I]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonCount {
    /// Folders that carry the key.
    pub folders: u64,
    /// Distinct values of the key among them.
    pub persons: u64,
}

#[async_trait]
pub trait Folders: Send + Sync {
    /// A folder and its media (and their metadata index rows) in one transaction.
    async fn insert_folder(&self, folder: &Folder, media: &[Media]) -> Result<()>;
    /// More media into an existing folder, touching its `time_updated`, in one transaction.
    /// False when the folder is gone.
    async fn insert_media(&self, folder_id: Uuid, media: &[Media], time_updated: f64) -> Result<bool>;
    async fn get_folder(&self, id: Uuid) -> Result<Option<Folder>>;
    /// `GET /api/folders/` with the list grammar, `resolution_status` and `analyse.type`.
    async fn list_folders(&self, vis: Visibility, params: &ListParams) -> Result<Page<Folder>>;
    /// Media of these folders, oldest first.
    async fn media_of(&self, folder_ids: &[Uuid]) -> Result<Vec<Media>>;
    /// Analyses of these folders, oldest first.
    async fn analyses_of(&self, folder_ids: &[Uuid]) -> Result<Vec<Analysis>>;
    /// Delete a folder with its media, analyses and index rows; returns the deleted media (for
    /// their blobs), None when the folder was gone.
    async fn delete_folder(&self, id: Uuid) -> Result<Option<Vec<Media>>>;
    async fn get_media(&self, id: Uuid) -> Result<Option<Media>>;
    async fn list_media(&self, vis: Visibility, params: &ListParams) -> Result<Page<Media>>;
    async fn delete_media(&self, id: Uuid) -> Result<bool>;
    /// Folders created in `[min, max]` carrying metadata `key`, and its distinct values.
    async fn count_persons(&self, vis: Visibility, key: &str, min: Option<f64>, max: Option<f64>) -> Result<PersonCount>;
}

/// A blob's bytes as they arrive.
pub type BlobStream = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Where media files live (a local directory or an S3 bucket). Keys are `folder/file` paths.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Copy a local file in, streaming; the blob appears whole or not at all.
    async fn put_file(&self, key: &str, file: &std::path::Path) -> Result<()>;
    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<()>;
    /// The blob's size and bytes; None when there is no such blob.
    async fn get(&self, key: &str) -> Result<Option<(u64, BlobStream)>>;
    /// Deleting a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Everything the server persists, behind one handle.
#[async_trait]
pub trait Store: Companies + Users + Sessions + Metadata + Folders + Send + Sync + 'static {
    /// `sqlite` or `postgres`, for logs and `/api/version`.
    fn backend(&self) -> &'static str;
    /// Refresh the query planner's statistics (periodic; SQLite has no autovacuum to do it).
    async fn refresh_statistics(&self) -> Result<()>;
    /// Readiness: one round trip to the database.
    async fn ping(&self) -> Result<()>;
}
