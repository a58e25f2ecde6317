//! The one way uploaded files are checked and stored, for folder media (spec §6.1) and
//! collection photos (spec §12) alike: every file is probed before anything is stored; then the
//! blobs are written; then the rows, by the caller's `commit`; if any step fails, the blobs
//! already written are deleted again, so no row dangles and no file is left behind.

use std::path::Path;
use std::sync::Arc;

use crate::domain::error::{Error, Result};
use crate::domain::model::media::{MediaProbe, Probed, StoredFile, UploadLimits};
use crate::domain::model::upload::{FileContent, ReceivedFile, UploadPayload};
use crate::domain::store::Blobs;
use crate::domain::Domain;

/// How media are stored and checked. Cheap to clone.
#[derive(Clone)]
pub struct MediaServices {
    pub blobs: Arc<dyn Blobs>,
    pub probe: Arc<dyn MediaProbe>,
    pub limits: UploadLimits,
    /// Where incoming files are spooled before they are checked (under the data dir).
    pub spool_dir: std::path::PathBuf,
    /// Whether spool files are written with direct I/O where the filesystem allows it.
    pub spool_direct: bool,
}

/// A received file and what the probe learned about it.
pub(in crate::domain) struct ProbedFile {
    pub file: ReceivedFile,
    pub probed: Probed,
}

impl ProbedFile {
    /// What a stored file's `technical_meta_data` starts with: the probe's facts (pixel size,
    /// frame count …), the byte size and the SHA-256.
    pub fn facts(&self) -> serde_json::Map<String, serde_json::Value> {
        file_facts(&self.file, &self.probed)
    }

    /// The blob of this file once stored as `stored`: the original (a thumbnail is made on
    /// its first request).
    pub fn blob(&self, stored: &dyn StoredFile) -> BlobPut<'_> {
        match &self.file.content {
            FileContent::Spooled(path) => BlobPut::File { key: stored.original_key(), path },
            FileContent::Memory(bytes) => BlobPut::Bytes { key: stored.original_key(), bytes: bytes.to_vec() },
        }
    }
}

/// One blob to write: a spooled file streamed in, or bytes held in memory.
pub(in crate::domain) enum BlobPut<'a> {
    File { key: String, path: &'a Path },
    Bytes { key: String, bytes: Vec<u8> },
}

impl Domain {
    pub(in crate::domain) fn media_services(&self) -> Result<&MediaServices> {
        self.media.as_ref().ok_or_else(|| Error::NotRealized("Media storage is not configured on this server".into()))
    }

    /// Check the count limit and that every file key the payload names was sent, then probe
    /// each file. The first bad file rejects the whole request.
    pub(in crate::domain) async fn probe_upload(
        &self,
        files: Vec<ReceivedFile>,
        payload: &UploadPayload,
    ) -> Result<Vec<ProbedFile>> {
        self.check_upload(&files, payload)?;
        let mut probed = Vec::with_capacity(files.len());
        for file in files {
            match self.probe_file(&file).await? {
                Ok(p) => probed.push(ProbedFile { file, probed: p }),
                Err(reason) => return Err(bad_file(&file, &reason)),
            }
        }
        Ok(probed)
    }

    /// The count limit, and every file key named in `media:tags` / `media:meta_data` was sent.
    pub(in crate::domain) fn check_upload(&self, files: &[ReceivedFile], payload: &UploadPayload) -> Result<()> {
        let svc = self.media_services()?;
        if files.len() > svc.limits.max_files {
            return Err(too_many_files(svc.limits.max_files));
        }
        check_file_keys(files, payload)
    }

    /// Probe one file on the blocking pool: `Ok(Err(reason))` when the file is not acceptable.
    pub(in crate::domain) async fn probe_file(
        &self,
        file: &ReceivedFile,
    ) -> Result<std::result::Result<Probed, String>> {
        if let Some(verdict) = &file.streamed {
            return Ok(verdict.clone());
        }
        let probe = self.media_services()?.probe.clone();
        let path = spooled_path(file)?;
        tokio::task::spawn_blocking(move || probe.probe(&path)).await.map_err(Error::internal)
    }

    /// Write `blobs` in order, then run `commit`; on any failure delete what was written.
    pub(in crate::domain) async fn store_blobs_then<T, F, Fut>(&self, blobs: Vec<BlobPut<'_>>, commit: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let svc = self.media_services()?.clone();
        let mut written: Vec<String> = Vec::with_capacity(blobs.len());
        let mut outcome: Result<()> = Ok(());
        for blob in blobs {
            let (key, put) = match blob {
                BlobPut::File { key, path } => {
                    let r = svc.blobs.put_file(&key, path).await;
                    (key, r)
                }
                BlobPut::Bytes { key, bytes } => {
                    let r = svc.blobs.put_bytes(&key, bytes).await;
                    (key, r)
                }
            };
            if let Err(e) = put {
                outcome = Err(e);
                break;
            }
            written.push(key);
        }
        let result = match outcome {
            Ok(()) => commit().await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.delete_blobs(&written).await;
        }
        result
    }

    /// Delete blobs whose rows are gone (or were never written). A failure only leaves an
    /// unreachable file, so it is logged, not returned.
    pub(in crate::domain) async fn delete_blobs(&self, keys: &[String]) {
        let Ok(svc) = self.media_services() else { return };
        for key in keys {
            if let Err(e) = svc.blobs.delete(key).await {
                tracing::warn!(key, error = %e, "could not delete a stored file");
            }
        }
    }
}

pub fn too_many_files(max: usize) -> Error {
    Error::invalid_value(
        format!("Too many files: at most {max} files per request"),
        serde_json::json!({ "key_path": "files", "limit": max }),
    )
}

/// A file the server will not take, named by file name and part name.
pub(in crate::domain) fn bad_file(file: &ReceivedFile, reason: &str) -> Error {
    Error::invalid_value(
        format!("File {:?} (part {:?}) is rejected: {reason}", file.original_name, file.key),
        serde_json::json!({ "key_path": file.key, "file_name": file.original_name }),
    )
}

/// The spooled file of an upload that is to be stored (in-memory parts are Instant mode's).
pub(in crate::domain) fn spooled_path(file: &ReceivedFile) -> Result<std::path::PathBuf> {
    match &file.content {
        FileContent::Spooled(path) => Ok(path.to_path_buf()),
        FileContent::Memory(_) => Err(Error::internal(anyhow::anyhow!("an in-memory upload cannot be stored"))),
    }
}

/// The technical metadata of a stored file: what the probe learned, its size and sha256.
pub(in crate::domain) fn file_facts(
    file: &ReceivedFile,
    probed: &Probed,
) -> serde_json::Map<String, serde_json::Value> {
    let mut facts = probed.facts.clone();
    facts.insert("size".into(), file.size.into());
    facts.insert("sha256".into(), file.sha256.clone().into());
    facts
}

/// Every file key named in `media:tags` and `media:meta_data` must have been sent.
pub(in crate::domain) fn check_file_keys(files: &[ReceivedFile], payload: &UploadPayload) -> Result<()> {
    for (what, keys) in [
        ("media:tags", payload.media_tags.keys().collect::<Vec<_>>()),
        ("media:meta_data", payload.media_meta.keys().collect()),
    ] {
        if let Some(k) = keys.into_iter().find(|k| !files.iter().any(|f| &f.key == *k)) {
            return Err(Error::invalid_value(
                format!("{what} names the file key {k:?}, but no file was sent under that name"),
                serde_json::json!({ "key_path": format!("payload.{what}.{k}") }),
            ));
        }
    }
    Ok(())
}
