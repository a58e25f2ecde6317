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
//!
//! The console's import also takes a meta_data CSV beside the ZIP ([`MetaCsv`]): a header of
//! the person column then meta_data keys, one row per person folder; each row's non-empty
//! cells are merged over the folder's `person.json`. The CSV is checked whole before anything
//! is imported.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::collections::persons::EnrolMode;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;
use crate::domain::model::upload::{FileContent, ReceivedFile, Upload, UploadPayload};
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

/// What the import reports while it runs (the console streams it, person by person).
#[derive(Debug, Clone, PartialEq)]
pub enum ImportEvent {
    /// The checks passed (the collection, the face engine, the meta_data CSV's names): this
    /// many person folders are walked, in order.
    Started { persons: usize },
    /// One person folder done (`key` is its name, the person's `import_key`), with the files
    /// of it left out and why.
    Person { key: String, outcome: PersonOutcome, rejected: Vec<(PathBuf, String)> },
}

/// What became of one person folder.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonOutcome {
    /// Stored with this many photos.
    Imported { photos: usize },
    /// Imported before (its `import_key` is in the collection).
    Skipped,
    /// Not stored (no photo passed, a bad `person.json`, the person refused): why.
    NotImported(String),
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

/// Most persons (rows) a meta_data CSV may have.
pub const META_CSV_MAX_ROWS: usize = 100_000;

/// A meta_data CSV's rows: person folder name → the meta_data keys and values to merge into
/// that person's (text values; empty cells are left out).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetaCsv {
    pub rows: HashMap<String, serde_json::Map<String, serde_json::Value>>,
}

impl MetaCsv {
    /// Parse an RFC 4180 CSV (quoted cells, `""` escapes, CRLF or LF, an optional UTF-8 BOM):
    /// a header (the person column, then at least one meta_data key: non-empty, unique, not
    /// `import_key`), then one row per person (its folder name, unique; as many cells as the
    /// header). Every row's meta_data is checked as the API checks meta_data. The error says
    /// which line and why.
    pub fn parse(text: &str) -> Result<MetaCsv, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let records = csv_records(text)?;
        let mut records = records.into_iter().filter(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
        let Some((_, header)) = records.next() else { return Err("the meta_data CSV is empty".into()) };
        if header.len() < 2 {
            return Err("the meta_data CSV's header needs the person column, then at least one meta_data key".into());
        }
        let keys: Vec<String> = header[1..].iter().map(|k| k.trim().to_owned()).collect();
        let mut seen = HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if k.is_empty() {
                return Err(format!("line 1: column {} has no meta_data key", i + 2));
            }
            if k == IMPORT_KEY {
                return Err(format!("line 1: {IMPORT_KEY} is set by the import (the person folder's name)"));
            }
            if !seen.insert(k.as_str()) {
                return Err(format!("line 1: the key {k:?} is repeated"));
            }
        }
        let mut rows = HashMap::new();
        for (line, record) in records {
            if rows.len() >= META_CSV_MAX_ROWS {
                return Err(format!("more than {META_CSV_MAX_ROWS} persons in the meta_data CSV"));
            }
            if record.len() != header.len() {
                return Err(format!("line {line}: {} cells, the header has {}", record.len(), header.len()));
            }
            let name = record[0].trim();
            if clean_component(name) != Some(name) {
                return Err(format!("line {line}: {name:?} is not a person folder name"));
            }
            let mut map = serde_json::Map::new();
            for (k, v) in keys.iter().zip(&record[1..]) {
                if !v.is_empty() {
                    map.insert(k.clone(), serde_json::Value::String(v.clone()));
                }
            }
            MetaData::parse(serde_json::Value::Object(map.clone()), "meta_data")
                .map_err(|e| format!("line {line}: {e}"))?;
            if rows.insert(name.to_owned(), map).is_some() {
                return Err(format!("line {line}: the person {name:?} is repeated"));
            }
        }
        Ok(MetaCsv { rows })
    }
}

/// The records of an RFC 4180 CSV text (quoted cells, `""` escapes, CRLF or LF), each with
/// the line it starts on; a stray or unclosed quote is an error naming its line.
pub fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let (mut out, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut line, mut start, mut quoted, mut was_quoted) = (1usize, 1usize, false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                cell.push(c);
            }
            (false, '"') if cell.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, '"') => return Err(format!("line {line}: a quote inside an unquoted cell")),
            (false, ',') => {
                row.push(std::mem::take(&mut cell));
                was_quoted = false;
            }
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                out.push((start, std::mem::take(&mut row)));
                was_quoted = false;
                line += 1;
                start = line;
            }
            (false, c) => {
                if was_quoted {
                    return Err(format!("line {line}: text after a closing quote"));
                }
                cell.push(c);
            }
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted cell is not closed"));
    }
    if !cell.is_empty() || !row.is_empty() || was_quoted {
        row.push(cell);
        out.push((start, row));
    }
    Ok(out)
}

/// `person.json` as metadata (empty when absent) with `import_key` set to the folder name and
/// `extra` (a meta_data CSV's row) merged over it.
fn person_meta(
    folder: &Path,
    key: &str,
    extra: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<MetaData, String> {
    let file = folder.join(PERSON_FILE);
    let mut value = match std::fs::read(&file) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(|e| format!("{PERSON_FILE} is not valid JSON: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(format!("cannot read {PERSON_FILE}: {e}")),
    };
    let Some(map) = value.as_object_mut() else { return Err(format!("{PERSON_FILE} must hold a JSON object")) };
    for (k, v) in extra.into_iter().flatten() {
        map.insert(k.clone(), v.clone());
    }
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
    import_as(domain, &system_caller(), collection_id, dir, None, progress, &mut |_| {}).await
}

/// The console's bulk import: the same walk, as the signed-in user, whose rights the domain
/// checks on every person (`add_person`, what `POST /api/collections/{id}/persons/` runs),
/// with an optional meta_data CSV merged into the persons' meta_data. A CSV row naming no
/// person folder of `dir` is an error before anything is imported. `on_event` hears of the
/// start (once the checks passed) and of every person folder as it is done; an error after
/// the start (the engine or the store failing) ends the walk, the persons before it stored.
pub async fn import_persons_as(
    domain: &Domain,
    caller: &Caller,
    collection_id: Uuid,
    dir: &Path,
    meta: Option<&MetaCsv>,
    on_event: &mut (dyn FnMut(ImportEvent) + Send),
) -> anyhow::Result<ImportReport> {
    import_as(domain, caller, collection_id, dir, meta, false, on_event).await
}

async fn import_as(
    domain: &Domain,
    caller: &Caller,
    collection_id: Uuid,
    dir: &Path,
    meta: Option<&MetaCsv>,
    progress: bool,
    on_event: &mut (dyn FnMut(ImportEvent) + Send),
) -> anyhow::Result<ImportReport> {
    let collection = domain
        .get_collection(caller, collection_id)
        .await
        .map_err(|e| anyhow::anyhow!("collection {collection_id}: {e}"))?;
    domain.faces().map_err(|e| anyhow::anyhow!("{e}"))?;
    let done: HashSet<String> =
        domain.person_meta_values(caller, collection_id, IMPORT_KEY).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let folders = person_folders(dir)?;
    if let Some(meta) = meta {
        let names: HashSet<String> =
            folders.iter().filter_map(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
        let mut unknown: Vec<&str> = meta.rows.keys().filter(|k| !names.contains(*k)).map(String::as_str).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            anyhow::bail!("the meta_data CSV names persons the upload does not have: {}", unknown.join(", "));
        }
    }
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
    on_event(ImportEvent::Started { persons: folders.len() });
    for folder in folders {
        bar.inc(1);
        let key = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (outcome, rejected) =
            match import_one(domain, caller, collection_id, &folder, &key, &done, meta, &spool, max_bytes).await {
                Ok(x) => x,
                Err(e) => {
                    bar.abandon();
                    return Err(e);
                }
            };
        match &outcome {
            PersonOutcome::Imported { photos } => {
                report.persons_imported += 1;
                report.photos_imported += photos;
            }
            PersonOutcome::Skipped => report.persons_skipped += 1,
            PersonOutcome::NotImported(_) => {}
        }
        report.rejected.extend(rejected.iter().cloned());
        on_event(ImportEvent::Person { key, outcome, rejected });
    }
    bar.finish();
    Ok(report)
}

/// One person folder: skipped, stored, or not (with the files left out and why). An error is
/// the engine or the store failing (the walk stops there).
#[allow(clippy::too_many_arguments)]
async fn import_one(
    domain: &Domain,
    caller: &Caller,
    collection_id: Uuid,
    folder: &Path,
    key: &str,
    done: &HashSet<String>,
    meta: Option<&MetaCsv>,
    spool: &Path,
    max_bytes: u64,
) -> anyhow::Result<(PersonOutcome, Vec<(PathBuf, String)>)> {
    let mut rejected = Vec::new();
    if done.contains(key) {
        return Ok((PersonOutcome::Skipped, rejected));
    }
    let extra = meta.and_then(|m| m.rows.get(key));
    let meta = match person_meta(folder, key, extra) {
        Ok(m) => m,
        Err(why) => {
            rejected.push((folder.join(PERSON_FILE), why.clone()));
            return Ok((PersonOutcome::NotImported(why), rejected));
        }
    };
    let mut files = Vec::new();
    for photo in photo_files(folder)? {
        match spool_copy(&photo, spool, max_bytes) {
            Ok(f) => files.push(f),
            Err(why) => rejected.push((photo, why)),
        }
    }
    if files.is_empty() {
        let why = "no photo to enrol".to_owned();
        rejected.push((folder.to_path_buf(), why.clone()));
        return Ok((PersonOutcome::NotImported(why), rejected));
    }
    let tags: Vec<String> = PHOTO_TAGS.iter().map(|t| t.to_string()).collect();
    let media_tags = files.iter().map(|f| (f.key.clone(), tags.clone())).collect();
    let upload = Upload { files, payload: UploadPayload { person_meta: meta, media_tags, ..UploadPayload::default() } };
    match domain.add_person(caller, collection_id, upload, EnrolMode::SkipRejected).await {
        Ok(enrolled) => {
            let left_out = enrolled.rejected.len();
            rejected.extend(enrolled.rejected.into_iter().map(|r| (folder.join(&r.file_name), r.reason)));
            let outcome = match enrolled.persons.first() {
                Some(person) => PersonOutcome::Imported { photos: person.images.len() },
                None => PersonOutcome::NotImported(format!("none of its photos passed ({left_out} left out)")),
            };
            Ok((outcome, rejected))
        }
        // The engine or the store failing is fatal; a refused person is reported.
        Err(e @ (Error::InvalidValue { .. } | Error::InvalidStructure { .. } | Error::InvalidType { .. })) => {
            rejected.push((folder.to_path_buf(), e.to_string()));
            Ok((PersonOutcome::NotImported(e.to_string()), rejected))
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", folder.display())),
    }
}

/// Most files one uploaded ZIP may unpack to.
pub const ZIP_MAX_ENTRIES: usize = 10_000;
/// Most bytes one uploaded ZIP may unpack to.
pub const ZIP_MAX_UNPACKED_BYTES: u64 = 4 << 30;

/// A file name fit to be a person's key or a photo's name: one visible path component.
fn clean_component(name: &str) -> Option<&str> {
    let name = name.rsplit(['/', '\\']).next()?.trim();
    (!name.is_empty() && !name.starts_with('.') && name != "..").then_some(name)
}

/// Put one uploaded photo into the import layout under `dest`: `photo.jpg` becomes the person
/// `photo` (its `import_key`) with that one photo. The source is moved or copied.
pub fn place_photo(src: &Path, name: &str, dest: &Path) -> Result<(), String> {
    let name = clean_component(name).ok_or_else(|| format!("{name:?} is not a usable file name"))?;
    if name == PERSON_FILE {
        return Err(format!("{PERSON_FILE} belongs in a person's folder"));
    }
    let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name);
    let folder = dest.join(stem);
    std::fs::create_dir_all(&folder).map_err(|e| format!("unpacking: {e}"))?;
    std::fs::copy(src, folder.join(name)).map_err(|e| format!("unpacking: {e}"))?;
    Ok(())
}

/// Unpack an uploaded ZIP into the import layout under `dest`: `person/1.jpg` (and its
/// `person/person.json`) as the directory import reads them, a photo at the top (`bob.jpg`) as
/// a person of its own, one enclosing folder around everything dropped (`export/alice/1.jpg`).
/// Entries that would leave `dest`, hidden files, deeper folders and files over `max_entry_bytes`
/// are left out and reported; more than [`ZIP_MAX_ENTRIES`] files or
/// [`ZIP_MAX_UNPACKED_BYTES`] in all fail the whole archive.
pub fn unpack_zip(zip: &Path, dest: &Path, max_entry_bytes: u64) -> Result<Vec<(PathBuf, String)>, String> {
    let file = std::fs::File::open(zip).map_err(|e| format!("cannot read the archive: {e}"))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| format!("not a readable ZIP archive: {e}"))?;
    // Every file entry's path components (directories are implied by their files).
    let mut entries: Vec<(usize, Vec<String>)> = Vec::new();
    let mut rejected = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| format!("not a readable ZIP archive: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let Some(path) = entry.enclosed_name() else {
            rejected.push((PathBuf::from(entry.name()), "the path leaves the archive".to_owned()));
            continue;
        };
        let parts: Vec<String> = path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        if parts.iter().any(|p| p.starts_with('.') || p == "__MACOSX") {
            continue;
        }
        entries.push((i, parts));
    }
    if entries.len() > ZIP_MAX_ENTRIES {
        return Err(format!(
            "the archive holds {} files; at most {ZIP_MAX_ENTRIES} are imported at once",
            entries.len()
        ));
    }
    let root = entries.first().map(|(_, p)| p[0].clone());
    let wrapped = entries.iter().any(|(_, p)| p.len() >= 3)
        && entries.iter().all(|(_, p)| p.len() >= 2 && Some(&p[0]) == root.as_ref());
    let mut total = 0u64;
    for (i, mut parts) in entries {
        if wrapped {
            parts.remove(0);
        }
        let shown = PathBuf::from(parts.join("/"));
        let target = match parts.as_slice() {
            [name] if name.as_str() != PERSON_FILE => {
                let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name).to_owned();
                dest.join(stem).join(name)
            }
            [person, name] => dest.join(person).join(name),
            _ => {
                rejected.push((shown, "a photo belongs at the top or in a person's folder, not deeper".to_owned()));
                continue;
            }
        };
        let mut entry = archive.by_index(i).map_err(|e| format!("not a readable ZIP archive: {e}"))?;
        if entry.size() > max_entry_bytes {
            rejected.push((shown, format!("the file is larger than the limit of {max_entry_bytes} bytes")));
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("unpacking: {e}"))?;
        }
        let mut out = std::fs::File::create(&target).map_err(|e| format!("unpacking: {e}"))?;
        // The declared size may lie: copy at most one byte past the limit, and check.
        let copied = std::io::copy(&mut (&mut entry).take(max_entry_bytes + 1), &mut out)
            .map_err(|e| format!("unpacking {}: {e}", shown.display()))?;
        total += copied;
        if copied > max_entry_bytes {
            drop(out);
            let _ = std::fs::remove_file(&target);
            rejected.push((shown, format!("the file is larger than the limit of {max_entry_bytes} bytes")));
        }
        if total > ZIP_MAX_UNPACKED_BYTES {
            return Err(format!("the archive unpacks to more than {ZIP_MAX_UNPACKED_BYTES} bytes"));
        }
    }
    Ok(rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meta_data_csv_is_parsed_whole_or_refused_with_its_line() {
        let csv = "\u{feff}person,iin,note\r\nalice,770101,\"a, \"\"quoted\"\"\nline\"\r\nbob,,x\r\n\r\n";
        let m = MetaCsv::parse(csv).unwrap();
        assert_eq!(m.rows.len(), 2);
        assert_eq!(
            serde_json::Value::Object(m.rows["alice"].clone()),
            serde_json::json!({"iin": "770101", "note": "a, \"quoted\"\nline"})
        );
        assert_eq!(serde_json::Value::Object(m.rows["bob"].clone()), serde_json::json!({"note": "x"}));
        for (bad, why) in [
            ("", "empty"),
            ("person\nalice\n", "at least one meta_data key"),
            ("person,iin,iin\n", "repeated"),
            ("person,,x\n", "column 2"),
            ("person,import_key\n", "set by the import"),
            ("person,iin\nalice,1,2\n", "line 2: 3 cells"),
            ("person,iin\nalice,1\nalice,2\n", "line 3: the person \"alice\" is repeated"),
            ("person,iin\n../x,1\n", "not a person folder name"),
            ("person,iin\nalice,\"1\n", "not closed"),
            ("person,iin\nali\"ce,1\n", "quote inside"),
        ] {
            let e = MetaCsv::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_csv_row_is_merged_over_person_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PERSON_FILE), br#"{"iin": "1", "city": "Almaty"}"#).unwrap();
        let mut extra = serde_json::Map::new();
        extra.insert("iin".into(), "2".into());
        extra.insert(IMPORT_KEY.into(), "not this".into());
        assert_eq!(
            person_meta(dir.path(), "alice", Some(&extra)).unwrap().into_value(),
            serde_json::json!({"iin": "2", "city": "Almaty", "import_key": "alice"})
        );
    }

    #[test]
    fn person_json_becomes_meta_data_with_the_import_key() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            person_meta(dir.path(), "alice", None).unwrap().into_value(),
            serde_json::json!({"import_key": "alice"})
        );
        std::fs::write(dir.path().join(PERSON_FILE), r#"{"person_info": {"last_name": "Doe"}, "import_key": "x"}"#)
            .unwrap();
        assert_eq!(
            person_meta(dir.path(), "alice", None).unwrap().into_value(),
            serde_json::json!({"person_info": {"last_name": "Doe"}, "import_key": "alice"})
        );
        std::fs::write(dir.path().join(PERSON_FILE), "[1]").unwrap();
        assert!(person_meta(dir.path(), "alice", None).unwrap_err().contains("JSON object"));
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

    fn zip_of(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut z = zip::ZipWriter::new(std::fs::File::create(tmp.path()).unwrap());
        for (name, bytes) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
        tmp
    }

    fn files_under(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for person in person_folders(dir).unwrap() {
            for f in std::fs::read_dir(&person).unwrap() {
                let f = f.unwrap().path();
                out.push(f.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_zip_unpacks_to_one_folder_per_person_and_nothing_leaves_it() {
        let zip = zip_of(&[
            ("alice/1.jpg", &b"a1"[..]),
            ("alice/person.json", &b"{}"[..]),
            ("bob.jpg", &b"b"[..]),
            ("../evil.jpg", &b"x"[..]),
            ("deep/er/c.jpg", &b"c"[..]),
            ("__MACOSX/alice/._1.jpg", &b"junk"[..]),
            ("carol/big.jpg", &[0u8; 100][..]),
        ]);
        let dest = tempfile::tempdir().unwrap();
        let rejected = unpack_zip(zip.path(), dest.path(), 10).unwrap();
        assert_eq!(files_under(dest.path()), ["alice/1.jpg", "alice/person.json", "bob/bob.jpg"]);
        let reasons: Vec<String> = rejected.iter().map(|(p, why)| format!("{}: {why}", p.display())).collect();
        assert_eq!(rejected.len(), 3, "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("evil.jpg: the path leaves the archive")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.starts_with("deep/er/c.jpg: ")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.starts_with("carol/big.jpg: the file is larger")), "{reasons:?}");
        assert!(!dest.path().parent().unwrap().join("evil.jpg").exists());

        // One folder around everything (a zipped directory) is not a person.
        let wrapped = zip_of(&[("export/alice/1.jpg", &b"a"[..]), ("export/bob/2.jpg", &b"b"[..])]);
        let dest = tempfile::tempdir().unwrap();
        assert!(unpack_zip(wrapped.path(), dest.path(), 10).unwrap().is_empty());
        assert_eq!(files_under(dest.path()), ["alice/1.jpg", "bob/2.jpg"]);

        let not_zip = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(not_zip.path(), b"plain text").unwrap();
        assert!(unpack_zip(not_zip.path(), dest.path(), 10).unwrap_err().contains("not a readable ZIP"));
    }

    #[test]
    fn a_loose_photo_is_a_person_named_after_it() {
        let src = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(src.path(), b"x").unwrap();
        let dest = tempfile::tempdir().unwrap();
        place_photo(src.path(), "C:\\photos\\dave.jpg", dest.path()).unwrap();
        assert_eq!(files_under(dest.path()), ["dave/dave.jpg"]);
        assert!(place_photo(src.path(), "..", dest.path()).is_err());
        assert!(place_photo(src.path(), ".hidden.jpg", dest.path()).is_err());
        assert!(place_photo(src.path(), PERSON_FILE, dest.path()).is_err());
    }
}
