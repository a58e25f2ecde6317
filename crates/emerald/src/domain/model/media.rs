//! Folders' media (spec §4.4, §4.5, §6): the objects, the media kinds and the files' blob keys.
//! What an upload carries is in [`super::upload`]. Deciding a file's kind from its bytes is behind [`MediaProbe`], so
//! the face engine can replace the server's light probe later.

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

/// A stored original with an optional JPEG thumbnail: folder media and person images.
pub trait StoredFile {
    fn media_id(&self) -> Uuid;
    fn extension(&self) -> &str;
    fn has_thumb(&self) -> bool;
    fn original_key(&self) -> String;
    fn thumb_key(&self) -> String;
}

/// `StoredFile` for a type with `media_id`, `extension`, `has_thumb` and key methods.
macro_rules! stored_file {
    ($t:ty) => {
        impl $crate::domain::model::media::StoredFile for $t {
            fn media_id(&self) -> uuid::Uuid {
                self.media_id
            }
            fn extension(&self) -> &str {
                &self.extension
            }
            fn has_thumb(&self) -> bool {
                self.has_thumb
            }
            fn original_key(&self) -> String {
                <$t>::original_key(self)
            }
            fn thumb_key(&self) -> String {
                <$t>::thumb_key(self)
            }
        }
    };
}
pub(in crate::domain) use stored_file;

stored_file!(Media);
