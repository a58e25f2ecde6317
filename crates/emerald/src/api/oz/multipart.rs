//! The upload body of `POST /api/folders/`, `POST /api/folders/{id}/media/` (spec §6.1) and of
//! the collection photo uploads (spec §12, same contract, plus `person:meta_data` / `persons`):
//! multipart with any number of file parts under any names, in any order relative to the
//! `payload` part (JSON text, with or without a filename or content type). Files are streamed
//! chunk by chunk into temporary files (`crate::spool`), counted against the limits, hashed
//! and, for JPEGs, checked as they arrive
//! ([`MediaProbe::stream`](crate::domain::model::media::MediaProbe::stream)); nothing is held
//! whole in memory. A body that is not multipart is an empty upload (old clients create empty
//! folders with a bare POST), or a JSON payload.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::analysis_request::parse_analyses;
use super::body::{from_value, parse_json_bytes, JSON_BODY_MAX_BYTES};
use crate::api::AppState;
use crate::domain::folders::service::{TAGS_MAX, TAG_MAX_CHARS};
use crate::domain::folders::upload::too_many_files;
use crate::domain::model::metadata::MetaData;
use crate::domain::model::upload::{FileContent, PersonPart, ReceivedFile, Upload, UploadPayload};
use crate::domain::Error;
use crate::spool::SpoolWriter;

/// The multipart part that carries the JSON payload (Lamb's `LAMB_REQUEST_MULTIPART_PAYLOAD_KEY`).
pub const PAYLOAD_PART: &str = "payload";
/// The Web SDK's client-environment part, kept in the folder's `technical_meta_data`.
pub const ADDITIONAL_INFO_PART: &str = "additional_info";

/// A parsed upload request, its files spooled to temporary files.
pub struct OzUpload(pub Upload);

/// A parsed upload request, its files held in memory (Instant mode: nothing touches the disk).
pub struct OzMemoryUpload(pub Upload);

/// A console form upload: the files spooled as for `POST /api/folders/`, plus the form's other
/// text fields (which the Oz API ignores), in order. File inputs left empty by the browser
/// (no file name, no bytes) are dropped.
pub struct FormUpload(pub Upload, pub Vec<(String, String)>);

/// Most text fields a console form upload may carry.
const FORM_FIELDS_MAX: usize = 200;

/// Where file parts go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    Spool,
    Memory,
}

/// The `payload` part of an upload (spec §6.1, §10, §12).
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = UploadPayload, example = json!({"folder:meta_data": {"transaction_id": "abc-123"}, "media:tags": {"photo1": ["photo_selfie"]}, "media:meta_data": {"photo1": {"source": "mobile"}}}))]
pub(crate) struct PayloadWire {
    /// The new folder's metadata.
    #[serde(rename = "folder:meta_data")]
    #[schema(value_type = Option<Object>)]
    folder_meta: Option<Value>,
    /// Tags per file key (at most 64 per file, each 1 to 128 characters; spec §6.7).
    #[serde(rename = "media:tags")]
    media_tags: Option<HashMap<String, Option<Vec<String>>>>,
    /// Metadata per file key.
    #[serde(rename = "media:meta_data")]
    #[schema(value_type = Option<HashMap<String, Object>>)]
    media_meta: Option<HashMap<String, Option<Value>>>,
    /// Single request mode (spec §10): analyses to run, answered with their results.
    #[schema(value_type = Option<Vec<super::analysis_request::AnalysisWire>>)]
    analyses: Option<Value>,
    /// A webhook for the analyses' results (spec §11.2).
    resolution_endpoint: Option<String>,
    /// Adding a person: its metadata.
    #[serde(rename = "person:meta_data")]
    #[schema(value_type = Option<Object>)]
    person_meta: Option<Value>,
    /// `…/persons/batch`: the persons, each with its photos' file keys.
    persons: Option<Vec<PersonWire>>,
}

/// One person of a multi-person request ([I]): its photos' file keys and its metadata.
#[derive(Deserialize, ToSchema)]
#[schema(as = PersonPart)]
pub(crate) struct PersonWire {
    files: Vec<String>,
    /// Also accepted as `meta_data`.
    #[serde(rename = "person:meta_data", alias = "meta_data")]
    #[schema(value_type = Option<Object>)]
    meta_data: Option<Value>,
}

impl TryFrom<PayloadWire> for UploadPayload {
    type Error = Error;

    fn try_from(w: PayloadWire) -> Result<Self, Error> {
        let PayloadWire { folder_meta, media_tags, media_meta, analyses, resolution_endpoint, person_meta, persons } =
            w;
        let mut tags = HashMap::new();
        for (key, list) in media_tags.unwrap_or_default() {
            let list = list.unwrap_or_default();
            let key_path = format!("payload.media:tags.{key}");
            if list.len() > TAGS_MAX {
                return Err(Error::invalid_value(
                    format!("{key_path} has more than {TAGS_MAX} tags"),
                    serde_json::json!({ "key_path": key_path }),
                ));
            }
            let mut clean: Vec<String> = Vec::with_capacity(list.len());
            for t in list {
                let t = t.trim().to_owned();
                if t.is_empty() || t.chars().count() > TAG_MAX_CHARS {
                    return Err(Error::invalid_value(
                        format!("Invalid tag {t:?} in {key_path}: a tag has 1 to {TAG_MAX_CHARS} characters"),
                        serde_json::json!({ "key_path": key_path }),
                    ));
                }
                if !clean.contains(&t) {
                    clean.push(t);
                }
            }
            tags.insert(key, clean);
        }
        let mut metas = HashMap::new();
        for (key, meta) in media_meta.unwrap_or_default() {
            if let Some(m) = meta {
                metas.insert(key.clone(), MetaData::parse(m, &format!("payload.media:meta_data.{key}"))?);
            }
        }
        Ok(UploadPayload {
            folder_meta: folder_meta
                .map(|m| MetaData::parse(m, "payload.folder:meta_data"))
                .transpose()?
                .unwrap_or_default(),
            media_tags: tags,
            media_meta: metas,
            analyses: match analyses {
                None | Some(Value::Null) => None,
                Some(v) => Some(parse_analyses(v, "payload.analyses")?),
            },
            resolution_endpoint: resolution_endpoint.filter(|u| !u.trim().is_empty()),
            additional_info: None,
            person_meta: person_meta
                .map(|m| MetaData::parse(m, "payload.person:meta_data"))
                .transpose()?
                .unwrap_or_default(),
            persons: persons
                .map(|list| {
                    list.into_iter()
                        .enumerate()
                        .map(|(i, PersonWire { files, meta_data })| {
                            let meta_data = meta_data
                                .map(|m| MetaData::parse(m, &format!("payload.persons.{i}.person:meta_data")))
                                .transpose()?
                                .unwrap_or_default();
                            Ok(PersonPart { files, meta_data })
                        })
                        .collect::<Result<Vec<_>, Error>>()
                })
                .transpose()?,
        })
    }
}

fn parse_payload(bytes: &[u8]) -> Result<UploadPayload, Error> {
    let value = parse_json_bytes(bytes)?;
    if !value.is_object() {
        return Err(Error::InvalidStructure {
            message: "payload must be a JSON object".into(),
            details: serde_json::json!({ "key_path": PAYLOAD_PART }),
        });
    }
    UploadPayload::try_from(from_value::<PayloadWire>(value)?)
}

fn unreadable(e: impl std::fmt::Display) -> Error {
    Error::InvalidStructure { message: format!("Could not read the multipart body: {e}"), details: Value::Null }
}

fn too_big(file: &str, limit: u64) -> Error {
    Error::invalid_value(
        format!("File {file:?} is larger than the limit of {limit} bytes"),
        serde_json::json!({ "key_path": file, "limit": limit }),
    )
}

impl FromRequest<AppState> for OzUpload {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        read_upload(req, state, Sink::Spool, None).await.map(OzUpload)
    }
}

impl FromRequest<AppState> for OzMemoryUpload {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        read_upload(req, state, Sink::Memory, None).await.map(OzMemoryUpload)
    }
}

impl FromRequest<AppState> for FormUpload {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let mut fields = Vec::new();
        let upload = read_upload(req, state, Sink::Spool, Some(&mut fields)).await?;
        Ok(FormUpload(upload, fields))
    }
}

async fn read_upload(
    req: Request,
    state: &AppState,
    sink: Sink,
    mut form: Option<&mut Vec<(String, String)>>,
) -> Result<Upload, Error> {
    {
        let is_multipart = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
        if !is_multipart {
            let urlencoded = req
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
            let bytes = axum::body::to_bytes(req.into_body(), JSON_BODY_MAX_BYTES)
                .await
                .map_err(|_| Error::BodyTooBig { limit: JSON_BODY_MAX_BYTES })?;
            let payload = if urlencoded || bytes.iter().all(u8::is_ascii_whitespace) {
                UploadPayload::default()
            } else {
                parse_payload(&bytes)?
            };
            return Ok(Upload { files: Vec::new(), payload });
        }
        let limits = state.domain.upload_limits();
        let direct = state.domain.spool_direct();
        let spool = match sink {
            Sink::Spool => Some(state.domain.spool_dir()?.to_path_buf()),
            Sink::Memory => None,
        };
        let mut multipart = Multipart::from_request(req, state).await.map_err(unreadable)?;
        let mut files = Vec::new();
        let mut payload: Option<UploadPayload> = None;
        let mut additional_info = None;
        while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_ascii_lowercase);
            let is_file = name != PAYLOAD_PART
                && name != ADDITIONAL_INFO_PART
                && (file_name.is_some()
                    || content_type.as_deref().is_some_and(|c| !c.starts_with("text/") && c != "application/json"));
            if !is_file {
                // A small text part: read it whole, bounded.
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if text.len() + chunk.len() > JSON_BODY_MAX_BYTES {
                        return Err(Error::BodyTooBig { limit: JSON_BODY_MAX_BYTES });
                    }
                    text.extend_from_slice(&chunk);
                }
                match name.as_str() {
                    PAYLOAD_PART => payload = Some(parse_payload(&text)?),
                    ADDITIONAL_INFO_PART => {
                        let s = String::from_utf8_lossy(&text).into_owned();
                        additional_info = Some(serde_json::from_str(&s).unwrap_or(Value::String(s)));
                    }
                    // Other form fields have no meaning in the Oz API; a console form keeps them.
                    _ => {
                        if let Some(form) = form.as_deref_mut() {
                            if form.len() >= FORM_FIELDS_MAX {
                                return Err(unreadable("too many form fields"));
                            }
                            form.push((name, String::from_utf8_lossy(&text).into_owned()));
                        }
                    }
                }
                continue;
            }
            // A console form's file input left empty (no file name): nothing to spool.
            if form.is_some() && file_name.as_deref() == Some("") {
                while field.chunk().await.map_err(unreadable)?.is_some() {}
                continue;
            }
            if files.len() >= limits.max_files {
                return Err(too_many_files(limits.max_files));
            }
            let original_name = file_name.unwrap_or_else(|| name.clone());
            let mut hasher = Sha256::new();
            let mut size: u64 = 0;
            // Stored files are probed as they arrive, so the spool file is not read back.
            let mut check = if spool.is_some() { state.domain.stream_probe() } else { None };
            let mut streamed = None;
            let content = match &spool {
                Some(dir) => {
                    let (mut spool, path) = SpoolWriter::create(dir.clone(), direct).await.map_err(Error::internal)?;
                    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                        size += chunk.len() as u64;
                        if size > limits.max_file_bytes {
                            return Err(too_big(&original_name, limits.max_file_bytes));
                        }
                        hasher.update(&chunk);
                        if let Some(check) = &mut check {
                            check.feed(&chunk);
                        }
                        spool.push(&chunk).await.map_err(Error::internal)?;
                    }
                    spool.finish().await.map_err(Error::internal)?;
                    streamed = check.and_then(|c| c.finish());
                    FileContent::Spooled(path)
                }
                None => {
                    let mut buf = Vec::new();
                    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                        size += chunk.len() as u64;
                        if size > limits.max_file_bytes {
                            return Err(too_big(&original_name, limits.max_file_bytes));
                        }
                        hasher.update(&chunk);
                        buf.extend_from_slice(&chunk);
                    }
                    FileContent::Memory(bytes::Bytes::from(buf))
                }
            };
            files.push(ReceivedFile {
                key: name,
                original_name,
                content,
                size,
                sha256: hex::encode(hasher.finalize()),
                streamed,
            });
        }
        let mut payload = payload.unwrap_or_default();
        payload.additional_info = additional_info;
        Ok(Upload { files, payload })
    }
}
