//! `emerald collections import --collection ID DIR`: bulk enrolment from a directory tree,
//! straight into the store (no HTTP), through the same domain rules as the API.
//!
//! ```text
//! DIR/
//!   alice/            one folder per person; its name is the person's `import_key`
//!     person.json     optional: the person's meta_data (a JSON object)
//!     1.jpg 2.png …   the photos (every other file is tried, and reported if it is no photo)
//!   bob/ …
//! ```
//!
//! Resumable: a person whose `meta_data.import_key` equals the folder name is already in the
//! collection and is skipped, so an interrupted run is simply started again. A person is stored
//! with the photos that pass the face check; the others are reported at the end with their
//! reasons, and a person none of whose photos pass is not created (and is retried next run).

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::caller::Caller;
use crate::domain::media::{FileContent, ReceivedFile, Upload, UploadPayload};
use crate::domain::metadata::MetaData;
use crate::domain::persons::EnrolMode;
use crate::domain::role::UserType;
use crate::domain::{Domain, Error};

/// The person metadata key that records which folder a person came from.
pub const IMPORT_KEY: &str = "import_key";
/// The optional metadata file in a person's folder.
pub const PERSON_FILE: &str = "person.json";
/// Tags given to imported photos (how the collection guide tags person photos, spec §6.7).
pub const PHOTO_TAGS: [&str; 2] = ["photo_selfie", "orientation_portrait"];
/// Prefix of the import's temporary copies in the spool dir (not the uploads' prefix, which a
/// starting server clears).
const SPOOL_PREFIX: &str = "import-";

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub persons_imported: usize,
    pub photos_imported: usize,
    /// Folders whose person was already imported.
    pub persons_skipped: usize,
    /// Photos (or folders) left out, with the reason.
    pub rejected: Vec<(PathBuf, String)>,
}

/// The import acts with ADMIN rights: whoever can run it can read the database anyway.
fn system_caller() -> Caller {
    Caller { user_id: Uuid::nil(), session_id: Uuid::nil(), user_type: UserType::Admin, company_id: None }
}

/// Person folders of `dir`, by name.
fn person_folders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() && !is_hidden(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
}

/// The candidate photos of a person folder: every visible file but `person.json`, by name.
fn photo_files(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder).with_context(|| format!("reading {}", folder.display()))? {
        let path = entry?.path();
        if path.is_file() && !is_hidden(&path) && path.file_name().and_then(|n| n.to_str()) != Some(PERSON_FILE) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// `person.json` as metadata (empty when absent) with `import_key` set to the folder name.
fn person_meta(folder: &Path, key: &str) -> Result<MetaData, String> {
    let file = folder.join(PERSON_FILE);
    let mut value = match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(|e| format!("{PERSON_FILE} is not valid JSON: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(format!("cannot read {PERSON_FILE}: {e}")),
    };
    let Some(map) = value.as_object_mut() else { return Err(format!("{PERSON_FILE} must hold a JSON object")) };
    map.insert(IMPORT_KEY.into(), key.into());
    MetaData::parse(value, PERSON_FILE).map_err(|e| e.to_string())
}

/// Copy a photo into the spool dir (the upload path's temporary files), hashing it.
fn spool_copy(src: &Path, spool: &Path, max_bytes: u64) -> Result<ReceivedFile, String> {
    let name = src.file_name().and_then(|n| n.to_str()).map(str::to_owned).unwrap_or_else(|| src.display().to_string());
    let mut input = std::fs::File::open(src).map_err(|e| format!("cannot read the file: {e}"))?;
    let tmp = tempfile::Builder::new().prefix(SPOOL_PREFIX).tempfile_in(spool).map_err(|e| format!("spooling: {e}"))?;
    let (mut out, path) = tmp.into_parts();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf).map_err(|e| format!("cannot read the file: {e}"))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > max_bytes {
            return Err(format!("the file is larger than the limit of {max_bytes} bytes"));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| format!("spooling: {e}"))?;
    }
    Ok(ReceivedFile {
        key: name.clone(),
        original_name: name,
        content: FileContent::Spooled(path),
        size,
        sha256: hex::encode(hasher.finalize()),
        streamed: None,
    })
}

/// Import every person folder of `dir` into `collection_id`; `progress` draws a bar on stderr.
pub async fn import_persons(
    domain: &Domain,
    collection_id: Uuid,
    dir: &Path,
    progress: bool,
) -> anyhow::Result<ImportReport> {
    let caller = system_caller();
    let collection = domain
        .get_collection(&caller, collection_id)
        .await
        .map_err(|e| anyhow::anyhow!("collection {collection_id}: {e}"))?;
    domain.faces().map_err(|e| anyhow::anyhow!("{e}"))?;
    let done: HashSet<String> =
        domain.person_meta_values(&caller, collection_id, IMPORT_KEY).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let folders = person_folders(dir)?;
    let spool = domain.spool_dir().map_err(|e| anyhow::anyhow!("{e}"))?.to_path_buf();
    let max_bytes = domain.upload_limits().max_file_bytes;
    let bar =
        if progress { indicatif::ProgressBar::new(folders.len() as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} persons  {elapsed_precise} (eta {eta})  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(format!("into {:?}", collection.alias));
    let mut report = ImportReport::default();
    for folder in folders {
        bar.inc(1);
        let key = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if done.contains(&key) {
            report.persons_skipped += 1;
            continue;
        }
        let meta = match person_meta(&folder, &key) {
            Ok(m) => m,
            Err(why) => {
                report.rejected.push((folder.join(PERSON_FILE), why));
                continue;
            }
        };
        let mut files = Vec::new();
        for photo in photo_files(&folder)? {
            match spool_copy(&photo, &spool, max_bytes) {
                Ok(f) => files.push(f),
                Err(why) => report.rejected.push((photo, why)),
            }
        }
        if files.is_empty() {
            report.rejected.push((folder.clone(), "no photo to enrol".into()));
            continue;
        }
        let tags: Vec<String> = PHOTO_TAGS.iter().map(|t| t.to_string()).collect();
        let media_tags = files.iter().map(|f| (f.key.clone(), tags.clone())).collect();
        let upload =
            Upload { files, payload: UploadPayload { person_meta: meta, media_tags, ..UploadPayload::default() } };
        match domain.add_person(&caller, collection_id, upload, EnrolMode::SkipRejected).await {
            Ok(enrolled) => {
                report.rejected.extend(enrolled.rejected.into_iter().map(|r| (folder.join(&r.file_name), r.reason)));
                if let Some(person) = enrolled.persons.first() {
                    report.persons_imported += 1;
                    report.photos_imported += person.images.len();
                }
            }
            // The engine or the store failing is fatal; a refused person is reported.
            Err(e @ (Error::InvalidValue { .. } | Error::InvalidStructure { .. } | Error::InvalidType { .. })) => {
                report.rejected.push((folder.clone(), e.to_string()))
            }
            Err(e) => {
                bar.abandon();
                return Err(anyhow::anyhow!("{}: {e}", folder.display()));
            }
        }
    }
    bar.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_json_becomes_meta_data_with_the_import_key() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(person_meta(dir.path(), "alice").unwrap().into_value(), serde_json::json!({"import_key": "alice"}));
        std::fs::write(dir.path().join(PERSON_FILE), r#"{"person_info": {"last_name": "Doe"}, "import_key": "x"}"#)
            .unwrap();
        assert_eq!(
            person_meta(dir.path(), "alice").unwrap().into_value(),
            serde_json::json!({"person_info": {"last_name": "Doe"}, "import_key": "alice"})
        );
        std::fs::write(dir.path().join(PERSON_FILE), "[1]").unwrap();
        assert!(person_meta(dir.path(), "alice").unwrap_err().contains("JSON object"));
    }

    #[test]
    fn photos_exclude_person_json_and_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b.jpg", "a.png", PERSON_FILE, ".DS_Store"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let names: Vec<String> = photo_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.png", "b.jpg"]);
    }
}
