//! What an upload request carries into the domain: the received files (spooled or in memory)
//! and the validated `payload` part (spec §6.1, §10, §12).

use std::collections::HashMap;

use serde_json::Value;

use crate::domain::model::analysis::AnalysisRequest;
use crate::domain::model::media::Probed;
use crate::domain::model::metadata::MetaData;

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
    /// The probe's verdict from the bytes as they were received ([`crate::domain::model::media::StreamProbe`]), if it gave one.
    pub streamed: Option<Result<Probed, String>>,
}

/// The `payload` part (spec §6.1, §12), validated; `analyses` makes a single request (spec §10).
#[derive(Debug, Default)]
pub struct UploadPayload {
    pub folder_meta: MetaData,
    pub media_tags: HashMap<String, Vec<String>>,
    pub media_meta: HashMap<String, MetaData>,
    pub analyses: Option<Vec<AnalysisRequest>>,
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
