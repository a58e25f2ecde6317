//! The persistence traits the domain depends on. `store::sql` implements them for SQLite and
//! PostgreSQL; SQL lives only there.

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::model::account::{Company, Session, SessionUser, User};
use crate::domain::model::analysis::{
    Analysis, AnalysisError, AnalysisState, MediaResult, Resolution, ThresholdOverrides,
};
use crate::domain::model::audit::{AuthEvent, CompanyQuota, StoredAuthEvent};
use crate::domain::model::caller::Scope;
use crate::domain::model::collection::{
    Collection, CollectionMatchRecord, EnrolledImage, GalleryFeed, Person, PersonImage, StoredTemplate,
};
use crate::domain::model::face::Template;
use crate::domain::model::media::{Folder, Media};
use crate::domain::model::metadata::{MetaData, ObjectKind};

/// Raw list query parameters (URL-decoded pairs, repeats kept). The store parses them with the
/// list grammar of `emerald_query` against its own field table and reports grammar errors.
#[derive(Debug, Clone, Default)]
pub struct ListParams(pub Vec<(String, String)>);

impl ListParams {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The same filters and sorting for one keyset chunk of a streamed report: the page
    /// (`offset`, `limit`, `total_omit`) replaced by `limit` rows and no count.
    pub fn chunk(&self, limit: u64) -> ListParams {
        let mut pairs: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| !matches!(k.as_str(), "offset" | "limit" | "total_omit")).cloned().collect();
        pairs.extend([("limit".to_owned(), limit.to_string()), ("total_omit".to_owned(), "true".to_owned())]);
        ListParams(pairs)
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

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        let Page { total, offset, limit, items } = self;
        Page { total, offset, limit, items: items.into_iter().map(f).collect() }
    }
}

#[async_trait]
pub trait Companies: Send + Sync {
    /// `audit`: the events recording the creation, inserted in the same transaction.
    async fn insert_company(&self, company: &Company, audit: &[AuthEvent]) -> Result<()>;
    async fn get_company(&self, id: Uuid) -> Result<Option<Company>>;
    /// The companies among these ids that exist (any order; one query per 1000 ids).
    async fn companies_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Company>>;
    /// `search_text` matches any part of the name, case-insensitively.
    async fn list_companies(
        &self,
        scope: Scope,
        search_text: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<Company>>;
    /// Name and metadata as an edit left them (`was` → `edited`), rebased on the row as stored
    /// when the transaction holds it ([`Company::rebase`]), and `audit`, in one transaction:
    /// the company as written; `None` when it is gone (nothing recorded).
    async fn update_company(&self, was: &Company, edited: Company, audit: &[AuthEvent]) -> Result<Option<Company>>;
    /// False when it was gone (nothing recorded); else `audit` is inserted in the deletion's
    /// transaction.
    async fn delete_company(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool>;
    async fn count_company_users(&self, id: Uuid) -> Result<u64>;
    /// The company's own decision thresholds (GAP-14); None when the company is gone.
    async fn company_threshold_overrides(&self, id: Uuid) -> Result<Option<ThresholdOverrides>>;
    /// Read them, apply `edit`, write the result (and `time_updated`) and the edit's audit
    /// events, in one transaction that holds the company's row from the read on (as
    /// [`Metadata::update_meta`]): the overrides written and the events; `None` when the
    /// company is gone (nothing recorded). An error of `edit` (a band the change would break)
    /// aborts it.
    async fn update_company_threshold_overrides(
        &self,
        id: Uuid,
        time_updated: f64,
        edit: Edit<'_, ThresholdOverrides>,
    ) -> Result<Option<(ThresholdOverrides, Vec<AuthEvent>)>>;
}

#[async_trait]
pub trait Users: Send + Sync {
    /// Fails with `InvalidValue` when the email is taken (case-insensitive). `audit`: the
    /// events recording the creation, inserted in the same transaction.
    async fn insert_user(&self, user: &User, password_hash: &str, audit: &[AuthEvent]) -> Result<()>;
    async fn get_user(&self, id: Uuid) -> Result<Option<User>>;
    /// The users among these ids that exist (any order; one query per 1000 ids).
    async fn users_by_ids(&self, ids: &[Uuid]) -> Result<Vec<User>>;
    /// The user and its password hash, by email (case-insensitive).
    async fn get_login(&self, email: &str) -> Result<Option<(User, String)>>;
    /// `only_user` restricts the list to one user (a CLIENT sees only itself).
    async fn list_users(
        &self,
        scope: Scope,
        only_user: Option<Uuid>,
        search_text: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<User>>;
    /// Everything but the password as an edit left it (`was` → `edited`), rebased on the row as
    /// stored when the transaction holds it ([`User::rebase`]: a concurrent edit of another
    /// field stands); a new password hash when given. The user as written; `None` when the
    /// user is gone (and `audit` is not recorded). `audit`: the events recording the change,
    /// inserted in the same transaction.
    async fn update_user(
        &self,
        was: &User,
        edited: User,
        password_hash: Option<&str>,
        audit: &[AuthEvent],
    ) -> Result<Option<User>>;
    /// False when the user is gone (and `audit` is not recorded); else `audit` is inserted in
    /// the deletion's transaction.
    async fn delete_user(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool>;
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
    /// Logout: the session's token pair stops working at once.
    async fn delete_session(&self, id: Uuid) -> Result<()>;
}

/// How an edit turns what is stored into the next value, with the audit events that record
/// it: run by the store inside the edit's transaction, on what is stored then, so concurrent
/// edits apply one after the other instead of the later undoing the earlier.
pub type Edit<'a, T> = Box<dyn FnOnce(T) -> Result<(T, Vec<AuthEvent>)> + Send + 'a>;

#[async_trait]
pub trait Metadata: Send + Sync {
    /// Read an object's metadata, apply `edit` to it, and write the result, its search-index
    /// rows and the edit's audit events, in one transaction that holds the object's row from
    /// the read on (SQLite: the write lock; PostgreSQL: `FOR UPDATE`), so that concurrent
    /// edits of different keys all land. The metadata written and the events recorded; `None`
    /// when the object does not exist (nothing is recorded then). An error of `edit` aborts
    /// the transaction.
    async fn update_meta(
        &self,
        kind: ObjectKind,
        id: Uuid,
        time_updated: f64,
        edit: Edit<'_, MetaData>,
    ) -> Result<Option<(MetaData, Vec<AuthEvent>)>>;
}

/// Whose folders and media a caller sees: a company's (or all), and maybe only its own.
#[derive(Debug, Clone, Copy)]
pub struct Visibility {
    pub scope: Scope,
    pub only_user: Option<Uuid>,
}

/// Where a keyset-paged folder listing stands: the sort values of the last folder read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FolderCursor {
    pub folder_id: Uuid,
    pub time_created: f64,
    pub time_updated: f64,
}

impl From<&Folder> for FolderCursor {
    fn from(f: &Folder) -> Self {
        FolderCursor { folder_id: f.folder_id, time_created: f.time_created, time_updated: f.time_updated }
    }
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
    /// A folder and its media (and their metadata index rows), and the `audit` events
    /// recording them, in one transaction.
    async fn insert_folder(&self, folder: &Folder, media: &[Media], audit: &[AuthEvent]) -> Result<()>;
    /// More media into an existing folder, touching its `time_updated`, with `audit`, in one
    /// transaction. False when the folder is gone (nothing recorded).
    async fn insert_media(
        &self,
        folder_id: Uuid,
        media: &[Media],
        time_updated: f64,
        audit: &[AuthEvent],
    ) -> Result<bool>;
    async fn get_folder(&self, id: Uuid) -> Result<Option<Folder>>;
    /// `GET /api/folders/` with the list grammar, `resolution_status` and `analyse.type`.
    async fn list_folders(&self, vis: Visibility, params: &ListParams) -> Result<Page<Folder>>;
    /// Up to `limit` folders matching `params`' filters (as `list_folders`), in its `sorting`
    /// order, after `after` (keyset paging: the last folder of the previous chunk; `offset`,
    /// `limit` and `total_omit` in `params` are ignored). Never counts.
    async fn folders_after(
        &self,
        vis: Visibility,
        params: &ListParams,
        after: Option<&FolderCursor>,
        limit: u64,
    ) -> Result<Vec<Folder>>;
    /// Media of these folders, oldest first.
    async fn media_of(&self, folder_ids: &[Uuid]) -> Result<Vec<Media>>;
    /// Analyses of these folders, oldest first.
    async fn analyses_of(&self, folder_ids: &[Uuid]) -> Result<Vec<Analysis>>;
    /// Delete a folder with its media, analyses and index rows, inserting `audit` in the same
    /// transaction; returns the deleted media (for their blobs), None when the folder was gone
    /// (nothing recorded).
    async fn delete_folder(&self, id: Uuid, audit: &[AuthEvent]) -> Result<Option<Vec<Media>>>;
    async fn get_media(&self, id: Uuid) -> Result<Option<Media>>;
    async fn list_media(&self, vis: Visibility, params: &ListParams) -> Result<Page<Media>>;
    /// Delete a media and its index rows, inserting `audit` in the same transaction; false
    /// when it was gone (nothing recorded).
    async fn delete_media(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool>;
    /// Set (or clear) a folder's `resolution_comment`, touching `time_updated`. False when the
    /// folder is gone. `audit` is stored in the same transaction.
    async fn set_folder_comment(
        &self,
        id: Uuid,
        comment: Option<&str>,
        time_updated: f64,
        audit: &[AuthEvent],
    ) -> Result<bool>;
    /// Folders created in `[min, max]` carrying metadata `key`, and its distinct values.
    async fn count_persons(
        &self,
        vis: Visibility,
        key: &str,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<PersonCount>;
}

/// Receives the stored templates page by page while the gallery loads.
pub type TemplateSink<'a> = &'a mut (dyn FnMut(Vec<StoredTemplate>) + Send);

/// Collections, persons, person images and their templates (spec §12). Every write that adds
/// or removes templates bumps the stored gallery generation in the same transaction and
/// returns the new value, so that each server's in-memory gallery can tell whether it has
/// seen every change (see `domain::gallery`).
#[async_trait]
pub trait Collections: Send + Sync {
    /// Fails with `InvalidValue` when the company already has a collection with this alias.
    /// `audit`: the events recording the creation, inserted in the same transaction.
    async fn insert_collection(&self, collection: &Collection, audit: &[AuthEvent]) -> Result<()>;
    async fn get_collection(&self, id: Uuid) -> Result<Option<Collection>>;
    async fn list_collections(&self, scope: Scope, params: &ListParams) -> Result<Page<Collection>>;
    /// Store a new alias (and `time_updated`): false when the collection was gone (nothing
    /// recorded); `InvalidValue` when the company already has another collection with it;
    /// else `audit` is inserted in the same transaction.
    async fn rename_collection(&self, collection: &Collection, audit: &[AuthEvent]) -> Result<bool>;
    /// False when it was gone (nothing recorded); `InvalidValue` when persons remain; else
    /// `audit` is inserted in the deletion's transaction.
    async fn delete_collection(&self, id: Uuid, audit: &[AuthEvent]) -> Result<bool>;
    async fn count_collection_persons(&self, id: Uuid) -> Result<u64>;
    /// `(collection_id, persons)` of these collections (GAP-9's `persons_count`); a
    /// collection without persons is absent.
    async fn persons_per_collection(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, u64)>>;
    /// `(collection_id, alias)` of a company's collections, or of all when `company` is None.
    async fn collection_aliases(&self, company: Option<Uuid>) -> Result<Vec<(Uuid, String)>>;

    /// Persons and their photos (with metadata index rows) and the `audit` events recording
    /// them in one transaction → generation.
    async fn insert_persons(&self, persons: &[(Person, Vec<EnrolledImage>)], audit: &[AuthEvent]) -> Result<i64>;
    /// More photos of a person, touching its `time_updated`, with `audit`, in one
    /// transaction; None when the person is gone (nothing recorded).
    async fn insert_person_images(
        &self,
        person_id: Uuid,
        images: &[EnrolledImage],
        time_updated: f64,
        audit: &[AuthEvent],
    ) -> Result<Option<i64>>;
    async fn get_person(&self, id: Uuid) -> Result<Option<Person>>;
    /// A collection's persons with the list grammar (`person_id`, times, `meta_data`).
    async fn list_persons(&self, collection_id: Uuid, params: &ListParams) -> Result<Page<Person>>;
    /// Photos of these persons, oldest first.
    async fn images_of(&self, person_ids: &[Uuid]) -> Result<Vec<PersonImage>>;
    /// A person's photo by its `person_image_id` or its `media_id`.
    async fn find_person_image(&self, person_id: Uuid, id: Uuid) -> Result<Option<PersonImage>>;
    /// The photo whose file has this media id.
    async fn person_image_by_media(&self, media_id: Uuid) -> Result<Option<PersonImage>>;
    /// Delete a person with its photos and insert `audit`, in one transaction → (the photos,
    /// for their blobs; generation); None when it was gone (nothing recorded); `InvalidValue` naming no analysis when a match row appeared meanwhile.
    async fn delete_person(&self, id: Uuid, audit: &[AuthEvent]) -> Result<Option<(Vec<PersonImage>, i64)>>;
    /// Delete one photo and insert `audit`, in one transaction → generation; None when it was
    /// gone (nothing recorded).
    async fn delete_person_image(&self, person_image_id: Uuid, audit: &[AuthEvent]) -> Result<Option<i64>>;
    /// Values of a top-level metadata key over a collection's persons (`import_key`).
    async fn person_meta_values(&self, collection_id: Uuid, key: &str) -> Result<Vec<String>>;

    async fn insert_collection_match(&self, record: &CollectionMatchRecord) -> Result<()>;
    /// Analyses that matched this person (any of its photos included).
    async fn analyses_matching_person(&self, person_id: Uuid) -> Result<Vec<Uuid>>;
    /// Analyses that matched this photo.
    async fn analyses_matching_image(&self, person_image_id: Uuid) -> Result<Vec<Uuid>>;

    async fn gallery_generation(&self) -> Result<i64>;
    /// Every stored template, in pages, from one consistent snapshot → its generation.
    async fn load_templates(&self, sink: TemplateSink<'_>) -> Result<i64>;
    /// These templates (by `person_image_id`), where they still exist.
    /// The gallery change feed after generation `after` up to the stored one, in order; None
    /// when the feed no longer reaches back that far (pruned) or holds more than `max_rows`
    /// rows (a full reload is then cheaper).
    async fn gallery_changes_since(&self, after: i64, max_rows: i64) -> Result<Option<GalleryFeed>>;
    /// A random id of this database, made by its migrations (names the gallery snapshot file).
    async fn store_id(&self) -> Result<String>;
    /// Forget the feed of all but the latest `keep` generations.
    async fn prune_gallery_changes(&self, keep: i64) -> Result<u64>;
    async fn stored_templates(&self, person_image_ids: &[Uuid]) -> Result<Vec<StoredTemplate>>;
    /// Templates made by a model other than `model_id`, counted per (collection, model), in
    /// the given collections (None: all). Left over from before an embedder change until
    /// `emerald collections reindex` remakes them.
    async fn foreign_templates(&self, model_id: &str, collections: Option<&[Uuid]>)
        -> Result<Vec<(Uuid, String, i64)>>;
    /// Up to `limit` photos whose template was made by a model other than `model_id`, in
    /// `person_image_id` order after `after` (the reindex's pages).
    async fn foreign_template_images(&self, model_id: &str, after: Uuid, limit: i64) -> Result<Vec<PersonImage>>;
    /// Replace one photo's template (a reindex) → the new gallery generation; None when the
    /// photo is gone.
    async fn replace_template(&self, person_image_id: Uuid, template: &Template) -> Result<Option<i64>>;
}

/// A blob's bytes as they arrive.
pub type BlobStream = futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Where media files live (a local directory or an S3 bucket). Keys are `folder/file` paths.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Store a local file, streaming; the blob appears whole or not at all. The file may be
    /// moved rather than copied (a local store on the same filesystem renames it): the caller
    /// must not need it afterwards.
    async fn put_file(&self, key: &str, file: &std::path::Path) -> Result<()>;
    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<()>;
    /// The blob's size and bytes; None when there is no such blob.
    async fn get(&self, key: &str) -> Result<Option<(u64, BlobStream)>>;
    /// Whether the blob exists (its metadata only is read).
    async fn exists(&self, key: &str) -> Result<bool>;
    /// Deleting a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
}

/// What a queued job does; `ref_id` names its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Run the analysis `ref_id`.
    Analysis,
    /// Deliver the webhook `ref_id` (a row of `webhook_deliveries`).
    Webhook,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Analysis => "analysis",
            JobKind::Webhook => "webhook",
        }
    }

    pub fn parse_stored(s: &str) -> Result<Self> {
        match s {
            "analysis" => Ok(JobKind::Analysis),
            "webhook" => Ok(JobKind::Webhook),
            other => Err(Error::internal(anyhow::anyhow!("stored job kind {other:?}"))),
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub job_id: Uuid,
    pub kind: JobKind,
    pub ref_id: Uuid,
    /// Claims allowed before the job is given up (a claim whose lease expires counts).
    pub max_attempts: u32,
    pub run_after: f64,
    /// The company whose work it is (None: ADMIN/OPERATOR folders, webhooks): the queue claims
    /// fairly across companies.
    pub company_id: Option<Uuid>,
}

/// A job a worker holds until its lease ends.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job_id: Uuid,
    pub kind: JobKind,
    pub ref_id: Uuid,
    /// Claims so far, this one included.
    pub attempts: u32,
    pub max_attempts: u32,
    /// The error of the previous attempt, if any.
    pub last_error: Option<String>,
}

/// The durable job queue (spec §18.7 [I]): claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
/// by a guarded single-row update on SQLite; a claim holds a lease that the worker extends
/// while it works; a job whose lease ran out is claimable again. Finished jobs are deleted:
/// their outcome lives in the analysis or delivery row.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// A due job (queued and due, or running with an expired lease) of the company with the
    /// fewest running jobs, the oldest of those, now leased to `worker` until `now + lease_secs`.
    async fn claim_job(&self, worker: &str, now: f64, lease_secs: f64) -> Result<Option<ClaimedJob>>;
    /// Extend the lease of a job `worker` holds; false when it no longer holds it.
    async fn extend_lease(&self, job_id: Uuid, worker: &str, until: f64) -> Result<bool>;
    /// Done (whatever the outcome): remove the job.
    async fn complete_job(&self, job_id: Uuid) -> Result<()>;
    /// Back to the queue, due at `run_after`, remembering `error`.
    async fn retry_job(&self, job_id: Uuid, run_after: f64, error: &str) -> Result<()>;
    /// Jobs in the queue (queued or running).
    async fn count_jobs(&self) -> Result<u64>;
    /// The queue's depth and age at `now` (the health check).
    async fn queue_stats(&self, now: f64) -> Result<QueueStats>;
    /// Tell the other processes on this database (PostgreSQL `NOTIFY`); nothing where the
    /// store has no such channel (SQLite: they find out by polling).
    async fn announce(&self, wakeup: Wakeup) -> Result<()>;
    /// What the other processes announce, from now on (PostgreSQL `LISTEN`, on a connection
    /// of its own); None where the store has no such channel.
    async fn wakeups(&self) -> Result<Option<WakeupStream>>;
}

/// How deep and how old the job queue is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueStats {
    /// Waiting for a worker or for their retry time.
    pub queued: u64,
    /// Held by a worker.
    pub running: u64,
    /// Claimable now: queued and due, or running with an expired lease.
    pub due: u64,
    /// `time_created` of the oldest queued job.
    pub oldest_queued: Option<f64>,
    /// Since when the longest-waiting claimable job has been due.
    pub oldest_due: Option<f64>,
}

/// A wake-up between processes sharing one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// Jobs were queued: workers should claim.
    JobsQueued,
    /// An analysis of this group finished: requests waiting for the group should look.
    GroupFinished(Uuid),
}

/// Announced wake-ups as they arrive; an error is a lost connection, which the stream
/// re-establishes on its next item (announcements meanwhile are lost; polling covers them).
pub type WakeupStream = futures::stream::BoxStream<'static, Result<Wakeup>>;

/// The result of an analysis to record.
#[derive(Debug, Clone)]
pub struct AnalysisFinish {
    pub analyse_id: Uuid,
    pub state: AnalysisState,
    pub resolution: Resolution,
    pub results_data: Option<serde_json::Map<String, serde_json::Value>>,
    /// Output images are `Stored` blobs by now.
    pub results_media: Vec<MediaResult>,
    pub error: Option<AnalysisError>,
    pub collection_alias: Option<String>,
    pub matches: Vec<CollectionMatchRecord>,
    pub time: f64,
}

/// What recording a result changed.
#[derive(Debug, Clone)]
pub struct FinishEffect {
    pub folder_id: Uuid,
    pub group_id: Uuid,
    /// The folder has no analysis running any more.
    pub folder_done: bool,
    /// The webhook delivery queued for the folder, if it has a `resolution_endpoint`.
    pub delivery: Option<Uuid>,
}

/// An operator's decision to record on an analysis.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    pub resolution: Resolution,
    pub comment: Option<&'a str>,
    /// Only when its resolution is still this one (None: any FINISHED analysis).
    pub only_from: Option<Resolution>,
    /// Only when no other user than `decided_by` holds an unexpired review claim on its
    /// folder at `time` (false: whoever holds it, `force`).
    pub unless_held: bool,
    /// Who decides (`decided_by`), and when (`decided_at`).
    pub decided_by: Uuid,
    pub time: f64,
}

/// How webhook deliveries are queued.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPolicy {
    pub max_attempts: u32,
}

#[async_trait]
pub trait Analyses: Send + Sync {
    /// New analyses with their metadata index rows and their jobs; the folder becomes
    /// PROCESSING and remembers `resolution_endpoint` when given; the `audit` events recording
    /// them. One transaction; false when the folder is gone (nothing recorded).
    async fn insert_analyses(
        &self,
        folder_id: Uuid,
        analyses: &[Analysis],
        jobs: &[NewJob],
        resolution_endpoint: Option<&str>,
        time: f64,
        audit: &[AuthEvent],
    ) -> Result<bool>;
    async fn get_analysis(&self, id: Uuid) -> Result<Option<Analysis>>;
    /// `GET /api/analyses/` and, with `folder_id`, `GET /api/folders/{id}/analyses/`.
    async fn list_analyses(
        &self,
        vis: Visibility,
        folder_id: Option<Uuid>,
        params: &ListParams,
    ) -> Result<Page<Analysis>>;
    /// Record the result of a PROCESSING analysis with its collection matches, recompute the
    /// folder status, remove the analysis' job, and — when the folder stops processing and has
    /// a `resolution_endpoint` — queue a webhook delivery. One transaction. None when the
    /// analysis is gone or no longer PROCESSING.
    async fn finish_analysis(&self, done: &AnalysisFinish, webhooks: DeliveryPolicy) -> Result<Option<FinishEffect>>;
    /// Delete an analysis with its index rows, matches and job; recompute the folder status;
    /// insert `audit`. One transaction; None when it was gone (nothing recorded).
    async fn delete_analysis(&self, id: Uuid, audit: &[AuthEvent]) -> Result<Option<Analysis>>;
    /// An operator's decision on a FINISHED analysis: set its `resolution_status` and
    /// `resolution_comment`, recompute the folder status and — when the folder is not
    /// processing and has a `resolution_endpoint` — queue a webhook delivery, as a finished
    /// analysis does; insert `audit` (the decision's event). One transaction. None when it is
    /// not FINISHED (or gone), or — with `only_from` — when its resolution is not that one any
    /// more (nothing recorded then).
    async fn decide_analysis(
        &self,
        id: Uuid,
        decision: &Decision<'_>,
        webhooks: DeliveryPolicy,
        audit: &[AuthEvent],
    ) -> Result<Option<FinishEffect>>;
    /// Analyses of the group still PROCESSING.
    async fn group_pending(&self, group_id: Uuid) -> Result<u64>;
    /// Up to `limit` analyses still PROCESSING that were created before `created_before`.
    async fn stale_analyses(&self, created_before: f64, limit: u32) -> Result<Vec<Uuid>>;
}

/// A webhook delivery (spec §11.2 [I]): the folder JSON POSTed to `url`, at least once.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub delivery_id: Uuid,
    pub folder_id: Uuid,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_http_status: Option<u16>,
    pub last_error: Option<String>,
    pub time_created: f64,
    pub time_updated: f64,
}

/// One delivery attempt's outcome.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    /// The delivery's status after it: `pending` (will be retried), `delivered` or `failed`
    /// (given up).
    pub status: &'static str,
    /// 1-based (the job's claim count).
    pub attempt: u32,
    pub folder_id: Uuid,
    pub url: String,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// When the request was sent, and seconds until its answer or error (0 when none was sent).
    pub time: f64,
    pub duration: f64,
}

/// A recorded delivery attempt (GAP-5).
#[derive(Debug, Clone)]
pub struct WebhookAttempt {
    pub delivery_id: Uuid,
    pub folder_id: Uuid,
    pub attempt: u32,
    pub url: String,
    pub time_created: f64,
    pub duration: f64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// `delivered`, `retrying` or `failed`.
    pub outcome: String,
}

/// Webhook failures since some time (the health check).
#[derive(Debug, Clone, Default)]
pub struct WebhookFailures {
    /// Attempts that did not deliver (retried or not).
    pub attempts: u64,
    /// Deliveries given up.
    pub deliveries: u64,
    /// The latest failed attempts, newest first.
    pub recent: Vec<WebhookAttempt>,
}

#[async_trait]
pub trait Webhooks: Send + Sync {
    async fn get_delivery(&self, id: Uuid) -> Result<Option<WebhookDelivery>>;
    /// Update the delivery and add the attempt to its history, in one transaction.
    async fn record_delivery_attempt(&self, id: Uuid, attempt: &DeliveryAttempt) -> Result<()>;
    /// A folder's deliveries, oldest first.
    async fn deliveries_of(&self, folder_id: Uuid) -> Result<Vec<WebhookDelivery>>;
    /// Every attempt of a folder's deliveries, oldest first.
    async fn attempts_of(&self, folder_id: Uuid) -> Result<Vec<WebhookAttempt>>;
    /// Queue a new delivery of the folder to `url` with its job (a redelivery); its id.
    async fn queue_redelivery(&self, folder_id: Uuid, url: &str, webhooks: DeliveryPolicy, t: f64) -> Result<Uuid>;
    /// Failed attempts and given-up deliveries since `since`, with the latest `limit` failures.
    async fn webhook_failures(&self, since: f64, limit: u32) -> Result<WebhookFailures>;
}

/// Login throttle counters, the auth audit and per-company quota overrides (issue #23).
#[async_trait]
pub trait Guard: Send + Sync {
    /// The latest `locked_until` of these throttle keys (0 when none is locked).
    async fn login_locked_until(&self, keys: &[String]) -> Result<f64>;
    /// Count a failure of `key` at `now` in one atomic upsert (a count whose last failure is
    /// older than `window_start` starts again) → the failures now counted.
    async fn record_login_failure(&self, key: &str, now: f64, window_start: f64) -> Result<u32>;
    /// Refuse `key` until `until` (never shortening a longer lock).
    async fn lock_login(&self, key: &str, until: f64) -> Result<()>;
    /// Forget these keys (None: every key) → rows removed.
    async fn clear_login_failures(&self, keys: Option<&[String]>) -> Result<u64>;
    /// Forget counters whose last failure is before `before` and that are not locked.
    async fn prune_login_failures(&self, before: f64) -> Result<u64>;
    /// Record audit events, all or none.
    async fn insert_auth_events(&self, events: &[AuthEvent]) -> Result<()>;
    /// Audit events with the list grammar, newest first; `Scope::Company` sees its own.
    async fn list_auth_events(&self, scope: Scope, params: &ListParams) -> Result<Page<StoredAuthEvent>>;
    /// Up to `limit` audit events among `params`' filters and sorting (its `offset`, `limit`
    /// and `total_omit` ignored), after `after` (the `time_created` and `event_id` of the last
    /// event read) in that order: keyset paging for the streamed CSV export.
    async fn auth_events_after(
        &self,
        scope: Scope,
        params: &ListParams,
        after: Option<(f64, Uuid)>,
        limit: u64,
    ) -> Result<Vec<StoredAuthEvent>>;
    /// Delete audit events older than `before`; operators' decisions are kept.
    async fn prune_auth_events(&self, before: f64) -> Result<u64>;
    /// The audited changes of one object (decisions on an analysis), oldest first.
    async fn object_events(&self, object_id: Uuid) -> Result<Vec<StoredAuthEvent>>;
    async fn company_quota(&self, company: Uuid) -> Result<Option<CompanyQuota>>;
    /// False when the company does not exist. `audit` is stored in the same transaction.
    async fn set_company_quota(&self, company: Uuid, quota: &CompanyQuota, audit: &[AuthEvent]) -> Result<bool>;
}

/// Time buckets of the statistics (spec §16 [I], GAP-6): UTC days, ISO weeks (from Monday)
/// or calendar months, each named by its first day (`YYYY-MM-DD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Week,
    Month,
    /// One bucket over the whole selection, named `total` (unique persons over a window).
    Total,
}

/// The statistics' periods: their length, and the fixed offset from UTC (seconds east, within
/// ±14 h) their days start at — local days for a client in that offset. A fixed offset does
/// not follow a daylight-saving change inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    pub granularity: Granularity,
    pub utc_offset: i32,
}

impl Periods {
    /// UTC periods.
    pub fn utc(granularity: Granularity) -> Periods {
        Periods { granularity, utc_offset: 0 }
    }
}

/// Nearest-rank percentiles of a set of durations, in seconds (None when the set is empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub max: Option<f64>,
}

/// Aggregates over the folders a caller sees that match the folder list's filters (§6.3),
/// computed by the database (GROUP BY, window functions), never by loading rows.
#[async_trait]
pub trait Statistics: Send + Sync {
    /// `(period, summary status, folders)`: the summary status is `system_resolution`, or
    /// `INITIAL` for a folder without analyses.
    async fn order_counts(
        &self,
        vis: Visibility,
        params: &ListParams,
        p: Periods,
    ) -> Result<Vec<(String, String, u64)>>;
    /// `(period, folders carrying the metadata key, distinct values of it)`.
    async fn person_counts(
        &self,
        vis: Visibility,
        params: &ListParams,
        p: Periods,
        key: &str,
    ) -> Result<Vec<(String, u64, u64)>>;
    /// `(period, analysis type, resolution_status, analyses)` of the matching folders.
    async fn analysis_counts(
        &self,
        vis: Visibility,
        params: &ListParams,
        p: Periods,
    ) -> Result<Vec<(String, String, String, u64)>>;
    /// Processing time (`time_finished - time_created`) of the matching folders' analyses, per
    /// type, and over all types under the key `ALL`.
    async fn analysis_latency(&self, vis: Visibility, params: &ListParams) -> Result<Vec<(String, Percentiles)>>;
    /// Time from an analysis' result to the first operator decision on it.
    async fn decision_latency(&self, vis: Visibility, params: &ListParams) -> Result<Percentiles>;
    /// `(type, bin, analyses)`: FINISHED analyses by score (`confidence_spoofing` of QUALITY,
    /// `min_confidence` of BIOMETRY, `max_confidence` of COLLECTION) in `bins` equal bins of [0, 1].
    async fn score_histogram(&self, vis: Visibility, params: &ListParams, bins: u32)
        -> Result<Vec<(String, u32, u64)>>;
    /// Analyses PROCESSING now (whatever the filters) and the creation time of the oldest.
    async fn unfinished(&self, vis: Visibility) -> Result<(u64, Option<f64>)>;
}

/// Who holds a folder under review (GAP-10).
#[derive(Debug, Clone, PartialEq)]
pub struct FolderClaim {
    pub folder_id: Uuid,
    pub user_id: Uuid,
    pub time_created: f64,
    pub expires_at: f64,
}

/// Review claims: one holder per folder until it expires (GAP-10).
#[async_trait]
pub trait Claims: Send + Sync {
    /// Take or extend the claim for `claim.user_id` unless another user holds an unexpired
    /// one (at `now`) → the claim that stands afterwards (the other holder's, when refused).
    /// A claim newly taken (none of this user's stood) keeps `claim.time_created`, an extended
    /// one its first; `audit` is stored in the same transaction when the claim was taken.
    async fn claim_folder(&self, claim: &FolderClaim, now: f64, audit: &[AuthEvent]) -> Result<FolderClaim>;
    /// Release `user_id`'s claim → (the folder is free: false when another user holds an
    /// unexpired claim, whether an unexpired claim of `user_id` was released). `audit` is
    /// stored in the same transaction when one was.
    async fn release_folder(
        &self,
        folder_id: Uuid,
        user_id: Uuid,
        now: f64,
        audit: &[AuthEvent],
    ) -> Result<(bool, bool)>;
    /// Unexpired claims of these folders.
    async fn folder_claims(&self, folder_ids: &[Uuid], now: f64) -> Result<Vec<FolderClaim>>;
    /// The oldest folder awaiting a decision (`OPERATOR_REQUIRED`) among `vis` that no user
    /// but `user_id` holds an unexpired claim on (at `now`), other than `skip`: the review
    /// queue's "next case".
    async fn next_unclaimed(
        &self,
        vis: Visibility,
        user_id: Uuid,
        now: f64,
        skip: Option<Uuid>,
    ) -> Result<Option<Uuid>>;
}

/// Everything the server persists, behind one handle.
#[async_trait]
pub trait Store:
    Companies
    + Users
    + Sessions
    + Guard
    + Metadata
    + Folders
    + Collections
    + Analyses
    + JobQueue
    + Webhooks
    + Statistics
    + Claims
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for logs and `/api/version`.
    fn backend(&self) -> &'static str;
    /// Refresh the query planner's statistics (at start and periodically): SQLite has no
    /// autovacuum to do it; on PostgreSQL, tables autovacuum has never analysed.
    async fn refresh_statistics(&self) -> Result<()>;
    /// Readiness: one round trip to the database.
    async fn ping(&self) -> Result<()>;
}
