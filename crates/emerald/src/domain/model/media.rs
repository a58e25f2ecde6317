//! Folders' media (spec §4.4, §4.5, §6): the objects, the media kinds, and what an upload
//! carries into the domain. Deciding a file's kind from its bytes is behind [`MediaProbe`], so
//! the face engine can replace the server's light probe later.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde_json::Value;
use uuid::Uuid;

use crate::domain::error::Error;
use crate::domain::model::metadata::MetaData;

/// What a media file is (spec §4.5 [I]): decided from the content, never from the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    /// A ZIP of frames, handled like a video.
    ShotsSet,
}

impl MediaKind {
    pub const ALL: [MediaKind; 3] = [MediaKind::Image, MediaKind::Video, MediaKind::ShotsSet];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "IMAGE_FOLDER",
            MediaKind::Video => "VIDEO_FOLDER",
            MediaKind::ShotsSet => "SHOTS_SET_FOLDER",
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaKind {
    type Err = Error;

    /// Case-insensitive; the documented short forms `IMAGE`, `VIDEO`, `SHOTS_SET` too.
    fn from_str(s: &str) -> Result<Self, Error> {
        let up = s.trim().to_ascii_uppercase();
        let up = up.strip_suffix("_FOLDER").unwrap_or(&up);
        MediaKind::ALL.into_iter().find(|k| k.as_str().strip_suffix("_FOLDER") == Some(up)).ok_or_else(|| {
            Error::invalid_value(
                format!("Invalid media_type value {s:?}"),
                serde_json::json!({ "key_path": "media_type" }),
            )
        })
    }
}

/// What a probe learned about one file.
#[derive(Debug, Clone)]
pub struct Probed {
    pub kind: MediaKind,
    /// Extension of the stored original, from the content (`jpg`, `png`, `mp4`, `zip` …).
    pub extension: &'static str,
    /// Whether the file has a JPEG thumbnail (images). It is made from the original on its
    /// first request and then kept beside it, so that uploads do not pay for decoding.
    pub thumbnail: bool,
    /// Facts worth keeping in `technical_meta_data` (size in pixels, frame count …).
    pub facts: serde_json::Map<String, Value>,
}

/// Decides a file's kind from its bytes and checks it is not corrupt. Blocking: called on
/// the blocking pool. `Err` is a client-facing reason (the file is rejected with code 4).
pub trait MediaProbe: Send + Sync {
    fn probe(&self, file: &Path) -> Result<Probed, String>;
    /// Kind and extension from the first bytes alone (no decoding): Instant mode, where the
    /// engine's decode is the check.
    fn sniff(&self, head: &[u8]) -> Result<(MediaKind, &'static str), String>;
    /// A JPEG thumbnail of a stored original (EXIF orientation applied).
    fn thumbnail(&self, original: &[u8]) -> Result<Vec<u8>, String>;
    /// A check fed a file's bytes as an upload receives them, so that the stored file need not
    /// be read back; `None` when this probe has none (every file is then probed whole).
    fn stream(&self) -> Option<Box<dyn StreamProbe>> {
        None
    }
}

/// [`MediaProbe::probe`] run on a file's bytes as they arrive, chunk by chunk, in order.
pub trait StreamProbe: Send {
    fn feed(&mut self, bytes: &[u8]);
    /// What [`MediaProbe::probe`] would say of the whole file, or `None` when the bytes seen do
    /// not settle it (a kind the stream check does not cover): the file is then probed whole.
    fn finish(self: Box<Self>) -> Option<Result<Probed, String>>;
}

/// Upload limits (spec §6.1: `OZ_ATTACHMENT_MAX_COUNT`, `OZ_ATTACHMENT_MAX_SIZE`).
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub max_files: usize,
    pub max_file_bytes: u64,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits { max_files: 10, max_file_bytes: 10 * 1024 * 1024 }
    }
}

/// Where a received file's bytes are.
#[derive(Debug)]
pub enum FileContent {
    /// Spooled to a temporary file (deleted when dropped): uploads that are stored.
    Spooled(tempfile::TempPath),
    /// Held in memory: Instant mode, which writes nothing anywhere.
    Memory(bytes::Bytes),
}

/// One received file part.
#[derive(Debug)]
pub struct ReceivedFile {
    /// The multipart part name ("file key"), which binds tags and metadata in the payload.
    pub key: String,
    pub original_name: String,
    pub content: FileContent,
    pub size: u64,
    pub sha256: String,
    /// The probe's verdict from the bytes as they were received ([`StreamProbe`]), if it gave one.
    pub streamed: Option<Result<Probed, String>>,
}

/// The `payload` part (spec §6.1, §12), validated; `analyses` makes a single request (spec §10).
#[derive(Debug, Default)]
pub struct UploadPayload {
    pub folder_meta: MetaData,
    pub media_tags: HashMap<String, Vec<String>>,
    pub media_meta: HashMap<String, MetaData>,
    pub analyses: Option<Vec<crate::domain::model::analysis::AnalysisRequest>>,
    pub resolution_endpoint: Option<String>,
    /// The Web SDK's `additional_info` form field, kept in `technical_meta_data`.
    pub additional_info: Option<Value>,
    /// `person:meta_data`: the new person's metadata (adding a person, spec §12).
    pub person_meta: MetaData,
    /// `persons`: several new persons in one request ([I], `…/persons/batch/`).
    pub persons: Option<Vec<PersonPart>>,
}

/// One person of a multi-person request: the file keys of its photos and its metadata.
#[derive(Debug, Clone, Default)]
pub struct PersonPart {
    pub files: Vec<String>,
    pub meta_data: MetaData,
}

/// A whole upload request: files and payload.
#[derive(Debug, Default)]
pub struct Upload {
    pub files: Vec<ReceivedFile>,
    pub payload: UploadPayload,
}

#[derive(Debug, Clone)]
pub struct Media {
    pub media_id: Uuid,
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Uuid,
    pub kind: MediaKind,
    pub original_name: String,
    pub extension: String,
    pub has_thumb: bool,
    pub size_bytes: i64,
    pub sha256: String,
    pub tags: Vec<String>,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}

impl Media {
    /// Blob key of the original: `{folder_id}/{media_id}.{ext}`.
    pub fn original_key(&self) -> String {
        format!("{}/{}.{}", self.folder_id, self.media_id, self.extension)
    }

    /// Blob key of the JPEG thumbnail: `{folder_id}/{media_id}_thumb.jpg`.
    pub fn thumb_key(&self) -> String {
        format!("{}/{}_thumb.jpg", self.folder_id, self.media_id)
    }
}

/// Folder processing status (spec §8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderStatus {
    Initial,
    Processing,
    Failed,
    Finished,
}

impl FolderStatus {
    pub const ALL: [FolderStatus; 4] =
        [FolderStatus::Initial, FolderStatus::Processing, FolderStatus::Failed, FolderStatus::Finished];

    pub fn as_str(self) -> &'static str {
        match self {
            FolderStatus::Initial => "INITIAL",
            FolderStatus::Processing => "PROCESSING",
            FolderStatus::Failed => "FAILED",
            FolderStatus::Finished => "FINISHED",
        }
    }

    pub fn parse_stored(s: &str) -> Result<Self, Error> {
        FolderStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| Error::internal(anyhow::anyhow!("stored resolution_status {s:?}")))
    }
}

#[derive(Debug, Clone)]
pub struct Folder {
    pub folder_id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Uuid,
    pub resolution_status: FolderStatus,
    /// SUCCESS | DECLINED | OPERATOR_REQUIRED | FAILED | PROCESSING; None before any result.
    pub system_resolution: Option<String>,
    pub resolution_comment: Option<String>,
    pub is_archive: bool,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}
