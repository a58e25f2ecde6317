//! Folders and media (spec §6): adding media, reading, deletion, and who may do what (spec §3.2
//! [I]). A new folder is created by [`crate::domain::analyses::single_request`], since it may
//! carry its analyses.
//!
//! An upload is all or nothing: every file is received into a temporary file and probed
//! before anything is stored; then the blobs are written, then all rows in one transaction;
//! if any step fails, the blobs already written are deleted again.

use std::collections::HashMap;

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::folders::upload::{file_facts, ProbedFile};
use crate::domain::model::account::{Company, User};
use crate::domain::model::analysis::{best_shot_key, parse_best_shot_file, AnalysisDetails};
use crate::domain::model::audit::{media_created, ObjectChange};
use crate::domain::model::caller::Caller;
use crate::domain::model::media::{Folder, Media, Probed, StoredFile, StreamProbe, UploadLimits};
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::model::upload::{ReceivedFile, Upload, UploadPayload};
use crate::domain::store::{BlobStream, FolderCursor, ListParams, Page, PersonCount, Visibility};
use crate::domain::time::now;
use crate::domain::Domain;

/// The longest `resolution_comment` of a folder (and of an analysis decision).
pub const COMMENT_MAX_CHARS: usize = 4096;

/// An operator's `resolution_comment` as stored: trimmed, None when empty, at most
/// [`COMMENT_MAX_CHARS`] (code 4 beyond).
pub(in crate::domain) fn clean_comment(comment: Option<String>) -> Result<Option<String>> {
    let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > COMMENT_MAX_CHARS) {
        return Err(Error::invalid_value(
            format!("resolution_comment has more than {COMMENT_MAX_CHARS} characters"),
            serde_json::json!({ "key_path": "resolution_comment", "limit": COMMENT_MAX_CHARS }),
        ));
    }
    Ok(comment)
}

/// What a caller may do with one folder (and its media).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::domain) enum Access {
    Invisible,
    Read,
    /// Read, add media, change metadata.
    Write,
    /// Write and delete.
    Manage,
}

pub(in crate::domain) fn access(caller: &Caller, company_id: Option<Uuid>, user_id: Uuid) -> Access {
    let same_company = caller.company_id.is_some() && caller.company_id == company_id;
    match caller.user_type {
        UserType::Admin => Access::Manage,
        UserType::Operator => Access::Read,
        UserType::ClientAdmin if same_company => Access::Manage,
        UserType::ClientOperator if same_company => Access::Read,
        UserType::Client | UserType::ClientService if same_company && user_id == caller.user_id => Access::Write,
        UserType::ClientAdmin | UserType::ClientOperator | UserType::Client | UserType::ClientService => {
            Access::Invisible
        }
    }
}

pub(in crate::domain) fn visibility(caller: &Caller) -> Visibility {
    let only_user = match caller.user_type {
        UserType::Client | UserType::ClientService => Some(caller.user_id),
        UserType::Admin | UserType::Operator | UserType::ClientAdmin | UserType::ClientOperator => None,
    };
    Visibility { scope: caller.scope(), only_user }
}

/// Which related objects to embed in a folder view.
#[derive(Debug, Clone, Copy, Default)]
pub struct FolderWith {
    pub media: bool,
    pub analyses: bool,
    pub user: bool,
    pub company: bool,
}

/// A folder with what was asked for alongside it.
#[derive(Debug, Clone)]
pub struct FolderDetails {
    pub folder: Folder,
    pub media: Option<Vec<Media>>,
    pub analyses: Option<Vec<AnalysisDetails>>,
    /// `Some(None)`: asked for, but the account is gone.
    pub user: Option<Option<User>>,
    pub company: Option<Option<Company>>,
}

/// A stored file to send: its content type, size and bytes.
pub struct BlobDownload {
    pub content_type: &'static str,
    pub size: u64,
    pub stream: BlobStream,
}

/// Largest number of tags on one file, and characters in one tag.
pub const TAGS_MAX: usize = 64;
pub const TAG_MAX_CHARS: usize = 128;

impl Domain {
    /// Where the API spools incoming files.
    pub fn spool_dir(&self) -> Result<&std::path::Path> {
        Ok(&self.media_services()?.spool_dir)
    }

    /// A stream check for one file of an upload that is stored (`MediaProbe::stream`).
    pub fn stream_probe(&self) -> Option<Box<dyn StreamProbe>> {
        self.media.as_ref().and_then(|m| m.probe.stream())
    }

    /// Whether spool files are written with direct I/O ([`crate::spool`]).
    pub fn spool_direct(&self) -> bool {
        self.media.as_ref().is_some_and(|m| m.spool_direct)
    }

    /// The upload limits in force.
    pub fn upload_limits(&self) -> UploadLimits {
        self.media.as_ref().map(|m| m.limits).unwrap_or_default()
    }

    pub(in crate::domain) async fn visible_folder(&self, caller: &Caller, id: Uuid) -> Result<(Folder, Access)> {
        let folder = self.store.get_folder(id).await?.ok_or_else(|| Error::not_exist("Folder"))?;
        match access(caller, folder.company_id, folder.user_id) {
            Access::Invisible => Err(Error::not_exist("Folder")),
            a => Ok((folder, a)),
        }
    }

    async fn visible_media(&self, caller: &Caller, id: Uuid) -> Result<(Media, Access)> {
        let media = self.store.get_media(id).await?.ok_or_else(|| Error::not_exist("Media"))?;
        match access(caller, media.company_id, media.user_id) {
            Access::Invisible => Err(Error::not_exist("Media")),
            a => Ok((media, a)),
        }
    }

    /// `POST /api/folders/{id}/media/` (spec §6.2).
    pub async fn add_media(&self, caller: &Caller, folder_id: Uuid, upload: Upload) -> Result<Vec<Media>> {
        let (folder, access) = self.visible_folder(caller, folder_id).await?;
        if access < Access::Write {
            return Err(Error::Forbidden(None));
        }
        let t = now();
        let company_id = folder.company_id;
        let (media, events) = self
            .store_media(&folder, upload, t, |media| async move {
                let changes = media.iter().map(media_created).collect();
                let events = self.object_events_of(Some(caller), "create", "success", company_id, changes);
                if self.store.insert_media(folder_id, &media, t, &events).await? {
                    Ok((media, events))
                } else {
                    Err(Error::not_exist("Folder"))
                }
            })
            .await?;
        self.audit_committed(&events);
        Ok(media)
    }

    /// Probe every file, then write blobs, then rows (via `commit`); undo the blobs on failure.
    pub(in crate::domain) async fn store_media<F, Fut, T>(
        &self,
        folder: &Folder,
        upload: Upload,
        t: f64,
        commit: F,
    ) -> Result<T>
    where
        F: FnOnce(Vec<Media>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let Upload { files, payload } = upload;
        let probed = self.probe_upload(files, &payload).await?;
        let mut media = Vec::with_capacity(probed.len());
        let mut blobs = Vec::with_capacity(probed.len());
        for pf in &probed {
            let ProbedFile { file, probed: p } = pf;
            let m = new_media(folder, file, &payload, p, t);
            blobs.push(pf.blob(&m));
            media.push(m);
        }
        self.store_blobs_then(blobs, || commit(media)).await
    }

    /// `GET /api/folders/{id}/` (spec §6.4).
    pub async fn get_folder(&self, caller: &Caller, id: Uuid, with: FolderWith) -> Result<FolderDetails> {
        let (folder, _) = self.visible_folder(caller, id).await?;
        let mut details = self.with_related(vec![folder], FolderWith { media: true, ..with }).await?;
        details.pop().ok_or_else(|| Error::not_exist("Folder"))
    }

    /// `GET /api/folders/` (spec §6.3).
    pub async fn list_folders(
        &self,
        caller: &Caller,
        params: &ListParams,
        with: FolderWith,
    ) -> Result<Page<FolderDetails>> {
        let page = self.store.list_folders(visibility(caller), params).await?;
        let items = self.with_related(page.items, with).await?;
        Ok(Page { total: page.total, offset: page.offset, limit: page.limit, items })
    }

    /// One chunk of a folder report (`GET /api/reports/folders.csv`, GAP-7): up to `limit`
    /// folders the caller sees (as in `GET /api/folders/`), matching the list's filters
    /// (§6.3), in its `sorting` order, after `after` (the last folder of the previous chunk).
    /// Keyset paging: every chunk costs the same however deep the report is.
    pub async fn folder_report_chunk(
        &self,
        caller: &Caller,
        params: &ListParams,
        with: FolderWith,
        after: Option<&FolderCursor>,
        limit: u64,
    ) -> Result<Vec<FolderDetails>> {
        let folders = self.store.folders_after(visibility(caller), params, after, limit).await?;
        self.with_related(folders, with).await
    }

    pub async fn with_related(&self, folders: Vec<Folder>, with: FolderWith) -> Result<Vec<FolderDetails>> {
        let ids: Vec<Uuid> = folders.iter().map(|f| f.folder_id).collect();
        // Analyses show their source media, so media are read for them too.
        let mut media = if (with.media || with.analyses) && !ids.is_empty() {
            self.store.media_of(&ids).await?
        } else {
            Vec::new()
        };
        let mut analyses =
            if with.analyses && !ids.is_empty() { self.store.analyses_of(&ids).await? } else { Vec::new() };
        // Owners and companies of these folders only, each read once (GAP-9: a page of the
        // list costs one query per kind, whatever the number of folders stored).
        let distinct = |ids: Vec<Uuid>| {
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut users: HashMap<Uuid, User> = HashMap::new();
        if with.user && !ids.is_empty() {
            let found = self.store.users_by_ids(&distinct(folders.iter().map(|f| f.user_id).collect())).await?;
            users.extend(found.into_iter().map(|u| (u.user_id, u)));
        }
        let mut companies: HashMap<Uuid, Company> = HashMap::new();
        if with.company && !ids.is_empty() {
            let found =
                self.store.companies_by_ids(&distinct(folders.iter().filter_map(|f| f.company_id).collect())).await?;
            companies.extend(found.into_iter().map(|c| (c.company_id, c)));
        }
        let mut out = Vec::with_capacity(folders.len());
        for folder in folders {
            let id = folder.folder_id;
            let user = with.user.then(|| users.get(&folder.user_id).cloned());
            let company = match (with.company, folder.company_id) {
                (true, Some(c)) => Some(companies.get(&c).cloned()),
                (true, None) => Some(None),
                (false, _) => None,
            };
            let (mine, rest): (Vec<Media>, Vec<Media>) = media.into_iter().partition(|m| m.folder_id == id);
            media = rest;
            let (mine_a, rest_a): (Vec<_>, Vec<_>) = analyses.into_iter().partition(|a| a.folder_id == id);
            analyses = rest_a;
            out.push(FolderDetails {
                folder,
                analyses: with.analyses.then(|| AnalysisDetails::attach(mine_a, &mine)),
                media: with.media.then_some(mine),
                user,
                company,
            });
        }
        Ok(out)
    }

    /// `PATCH /api/folders/{id}` (spec §8.9 [I]): an OPERATOR (any folder) or a CLIENT OPERATOR
    /// (its company's) sets the folder's `resolution_comment`, or clears it with `None`; the
    /// reviewers who decide analyses are the ones who comment on the folder. Other roles: code 9.
    /// A change is audited (`event=update`, `object_type=folder`, `comment=resolution_comment`,
    /// the comment before and after) in its transaction, under the folder's company; the same
    /// comment again changes nothing (neither the folder's `time_updated` nor the audit).
    pub async fn comment_folder(&self, caller: &Caller, id: Uuid, comment: Option<String>) -> Result<FolderDetails> {
        let (folder, _) = self.visible_folder(caller, id).await?;
        if !matches!(caller.user_type, UserType::Operator | UserType::ClientOperator) {
            return Err(Error::Forbidden(Some(
                "only an OPERATOR or CLIENT OPERATOR comments on a folder's resolution".into(),
            )));
        }
        let comment = clean_comment(comment)?;
        if folder.resolution_comment != comment {
            let mut change = ObjectChange::of("folder", id).comment("resolution_comment");
            if let Some(before) = &folder.resolution_comment {
                change = change.before(before.as_str());
            }
            if let Some(after) = &comment {
                change = change.after(after.as_str());
            }
            let events = self.object_events_of(Some(caller), "update", "success", folder.company_id, vec![change]);
            if !self.store.set_folder_comment(id, comment.as_deref(), now(), &events).await? {
                return Err(Error::not_exist("Folder"));
            }
            self.audit_committed(&events);
        }
        self.get_folder(caller, id, FolderWith { media: true, analyses: false, user: false, company: false }).await
    }

    /// `DELETE /api/folders/{id}/` (spec §6.6): ADMIN, or CLIENT ADMIN in its company.
    pub async fn delete_folder(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let (folder, access) = self.visible_folder(caller, id).await?;
        if access < Access::Manage {
            return Err(Error::Forbidden(None));
        }
        let analyses = self.store.analyses_of(&[id]).await?;
        let best_shots: Vec<String> = analyses.iter().flat_map(|a| a.stored_images()).collect();
        // The counts as read just before the deletion (the event goes in its transaction).
        let media_count = self.store.media_of(&[id]).await?.len();
        let change = ObjectChange::of("folder", id)
            .before(folder.resolution_status.as_str())
            .comment(format!("{media_count} media, {} analyses", analyses.len()));
        let events = self.object_events_of(Some(caller), "delete", "success", folder.company_id, vec![change]);
        let media = self.store.delete_folder(id, &events).await?.ok_or_else(|| Error::not_exist("Folder"))?;
        self.audit_committed(&events);
        self.forget_blobs(&media).await;
        self.forget_keys(&best_shots).await;
        Ok(())
    }

    /// Delete these blobs; a failure only leaves an unreachable file.
    pub async fn forget_keys(&self, keys: &[String]) {
        self.delete_blobs(keys).await;
    }

    /// Rows are gone; their files follow, each original before its thumbnail (a thumbnail
    /// being made meanwhile looks for the original afterwards: `open_stored_file`).
    async fn forget_blobs(&self, media: &[Media]) {
        let keys: Vec<String> = media
            .iter()
            .flat_map(|m| std::iter::once(m.original_key()).chain(m.has_thumb.then(|| m.thumb_key())))
            .collect();
        self.delete_blobs(&keys).await;
    }

    /// `GET /api/media/{id}`.
    pub async fn get_media(&self, caller: &Caller, id: Uuid) -> Result<Media> {
        Ok(self.visible_media(caller, id).await?.0)
    }

    /// `GET /api/media/`.
    pub async fn list_media(&self, caller: &Caller, params: &ListParams) -> Result<Page<Media>> {
        self.store.list_media(visibility(caller), params).await
    }

    /// `GET /api/folders/{id}/media/`.
    pub async fn folder_media(&self, caller: &Caller, folder_id: Uuid) -> Result<Vec<Media>> {
        self.visible_folder(caller, folder_id).await?;
        self.store.media_of(&[folder_id]).await
    }

    /// `DELETE /api/media/{id}`: ADMIN, or CLIENT ADMIN in its company.
    pub async fn delete_media(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let (media, access) = self.visible_media(caller, id).await?;
        if access < Access::Manage {
            return Err(Error::Forbidden(None));
        }
        let change = media_created(&media);
        let change = ObjectChange { before: change.after, after: None, ..change };
        let events = self.object_events_of(Some(caller), "delete", "success", media.company_id, vec![change]);
        if !self.store.delete_media(id, &events).await? {
            return Err(Error::not_exist("Media"));
        }
        self.audit_committed(&events);
        self.forget_blobs(&[media]).await;
        Ok(())
    }

    /// `GET /static/{folder_id}/{file}`: `{media_id}.{ext}` or `{media_id}_thumb.jpg`.
    pub async fn open_media_file(&self, caller: &Caller, folder_id: Uuid, file: &str) -> Result<BlobDownload> {
        if let Some((analyse_id, media_id)) = parse_best_shot_file(file) {
            return self.open_best_shot(caller, folder_id, analyse_id, media_id).await.map_err(|_| missing_file());
        }
        let (media_id, thumb) = static_file_id(file).ok_or_else(missing_file)?;
        let (media, _) = self.visible_media(caller, media_id).await.map_err(|_| missing_file())?;
        if media.folder_id != folder_id {
            return Err(missing_file());
        }
        self.open_stored_file(file, thumb, &media).await
    }

    /// Stream one stored file of `stored`: its thumbnail, or its original when `file` is
    /// exactly `{media_id}.{ext}`.
    pub(in crate::domain) async fn open_stored_file(
        &self,
        file: &str,
        thumb: bool,
        stored: &(dyn StoredFile + Sync),
    ) -> Result<BlobDownload> {
        let (key, content_type) = if thumb {
            if !stored.has_thumb() {
                return Err(missing_file());
            }
            (stored.thumb_key(), "image/jpeg")
        } else {
            if file != format!("{}.{}", stored.media_id(), stored.extension()) {
                return Err(missing_file());
            }
            (stored.original_key(), content_type_of(stored.extension()))
        };
        let blobs = &self.media_services()?.blobs;
        if let Some((size, stream)) = blobs.get(&key).await? {
            return Ok(BlobDownload { content_type, size, stream });
        }
        if !thumb {
            return Err(missing_file());
        }
        // The first request for a thumbnail makes it from the original and keeps it. Two
        // requests at once both make it; the second write replaces the first with the same.
        let original = self.read_blob(&stored.original_key()).await?.ok_or_else(missing_file)?;
        let probe = self.media_services()?.probe.clone();
        let jpeg = tokio::task::spawn_blocking(move || probe.thumbnail(&original))
            .await
            .map_err(Error::internal)?
            .map_err(|reason| {
                tracing::warn!(media_id = %stored.media_id(), reason, "cannot make a thumbnail");
                missing_file()
            })?;
        let jpeg = bytes::Bytes::from(jpeg);
        blobs.put_bytes(&key, jpeg.to_vec()).await?;
        // A delete of the media that ran meanwhile removed its rows, then its original, then
        // its thumbnail, which may have been before this write: the original being gone says
        // so, and the thumbnail must go too, or it would be left behind with nothing to name it.
        if !blobs.exists(&stored.original_key()).await? {
            if let Err(e) = blobs.delete(&key).await {
                tracing::warn!(key, error = %e, "could not delete the thumbnail of a deleted file");
            }
            return Err(missing_file());
        }
        let size = jpeg.len() as u64;
        Ok(BlobDownload { content_type, size, stream: Box::pin(futures::stream::once(async move { Ok(jpeg) })) })
    }

    /// The whole stored original of a media.
    pub async fn read_media_bytes(&self, media: &Media) -> Result<Option<bytes::Bytes>> {
        self.read_blob(&media.original_key()).await
    }

    /// A whole blob in memory; `None` when it does not exist.
    pub(in crate::domain) async fn read_blob(&self, key: &str) -> Result<Option<bytes::Bytes>> {
        use futures::TryStreamExt;
        let Some((size, stream)) = self.media_services()?.blobs.get(key).await? else { return Ok(None) };
        let mut buf = Vec::with_capacity(size as usize);
        let mut stream = stream;
        while let Some(chunk) = stream.try_next().await.map_err(Error::internal)? {
            buf.extend_from_slice(&chunk);
        }
        Ok(Some(bytes::Bytes::from(buf)))
    }

    /// A best shot stored by an analysis, under its folder's static path.
    async fn open_best_shot(
        &self,
        caller: &Caller,
        folder_id: Uuid,
        analyse_id: Uuid,
        media_id: Uuid,
    ) -> Result<BlobDownload> {
        let a = self.store.get_analysis(analyse_id).await?.ok_or_else(|| Error::not_exist("File"))?;
        let key = best_shot_key(folder_id, analyse_id, media_id);
        if a.folder_id != folder_id
            || access(caller, a.company_id, a.user_id) == Access::Invisible
            || !a.stored_images().contains(&key)
        {
            return Err(Error::not_exist("File"));
        }
        let (size, stream) = self.media_services()?.blobs.get(&key).await?.ok_or_else(|| Error::not_exist("File"))?;
        Ok(BlobDownload { content_type: "image/jpeg", size, stream })
    }

    /// Store a best shot and return its key.
    pub async fn store_best_shot(&self, key: String, jpeg: Vec<u8>) -> Result<String> {
        self.media_services()?.blobs.put_bytes(&key, jpeg).await?;
        Ok(key)
    }

    /// `GET /api/statistics/unique_persons` (spec §16 [I]).
    pub async fn count_persons(
        &self,
        caller: &Caller,
        key: &str,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<PersonCount> {
        self.store.count_persons(visibility(caller), key, min, max).await
    }

    pub(in crate::domain) async fn folder_meta_access(
        &self,
        caller: &Caller,
        id: Uuid,
        write: bool,
    ) -> Result<(MetaData, Option<Uuid>)> {
        let (folder, access) = self.visible_folder(caller, id).await?;
        if write && access < Access::Write {
            return Err(Error::Forbidden(None));
        }
        Ok((folder.meta_data, folder.company_id))
    }

    pub(in crate::domain) async fn media_meta_access(
        &self,
        caller: &Caller,
        id: Uuid,
        write: bool,
    ) -> Result<(MetaData, Option<Uuid>)> {
        let (media, access) = self.visible_media(caller, id).await?;
        if write && access < Access::Write {
            return Err(Error::Forbidden(None));
        }
        Ok((media.meta_data, media.company_id))
    }
}

fn missing_file() -> Error {
    Error::not_exist("File")
}

/// The media id in a static file name, and whether the thumbnail is asked for:
/// `{media_id}.{ext}` or `{media_id}_thumb.jpg`.
pub(in crate::domain) fn static_file_id(file: &str) -> Option<(Uuid, bool)> {
    let (stem, thumb) = match file.strip_suffix("_thumb.jpg") {
        Some(stem) => (stem, true),
        None => (file.split_once('.').map(|(s, _)| s).unwrap_or(file), false),
    };
    Uuid::parse_str(stem).ok().map(|id| (id, thumb))
}

fn content_type_of(ext: &str) -> &'static str {
    match ext {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "heic" => "image/heic",
        "avif" => "image/avif",
        "mp4" | "m4v" => "video/mp4",
        "3gp" => "video/3gpp",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "mpg" => "video/mpeg",
        "ts" => "video/mp2t",
        "ogv" => "video/ogg",
        "wmv" => "video/x-ms-wmv",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A media row for an uploaded file of `folder`, with what the probe learned and the
/// payload's tags and metadata for its key.
pub(in crate::domain) fn new_media(
    folder: &Folder,
    file: &ReceivedFile,
    payload: &UploadPayload,
    probed: &Probed,
    t: f64,
) -> Media {
    let facts = file_facts(file, probed);
    Media {
        media_id: Uuid::new_v4(),
        folder_id: folder.folder_id,
        company_id: folder.company_id,
        user_id: folder.user_id,
        kind: probed.kind,
        original_name: file.original_name.clone(),
        extension: probed.extension.to_owned(),
        has_thumb: probed.thumbnail,
        size_bytes: file.size as i64,
        sha256: file.sha256.clone(),
        tags: payload.media_tags.get(&file.key).cloned().unwrap_or_default(),
        meta_data: payload.media_meta.get(&file.key).cloned().unwrap_or_default(),
        technical_meta_data: MetaData::from_stored(serde_json::Value::Object(facts)),
        time_created: t,
        time_updated: t,
    }
}
