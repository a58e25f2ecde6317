//! Persons of a collection and their photos (spec §12 steps 3–7): enrolment, reading, deletion.
//!
//! Enrolment takes photos only, and each must show exactly one usable face (the face engine's
//! rule, run on the blocking pool). A request is all or nothing: when any photo is rejected,
//! nothing is stored — no row, no file — and the error lists every rejected photo with its
//! reason. Otherwise the files are written, then every row in one transaction, then the
//! in-memory gallery learns the new templates, so the very next search sees them.
//! (The bulk import command may keep a person's good photos instead: [`EnrolMode::SkipRejected`].)
//!
//! A person or photo that a COLLECTION analysis matched cannot be deleted until those analyses
//! are deleted; the refusal names them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;

use crate::domain::collections::gallery::GalleryChange;
use crate::domain::collections::service::{has_related_analyses, Access, PersonDetails};
use crate::domain::error::{Error, Result};
use crate::domain::folders::service::{static_file_id, BlobDownload};
use crate::domain::folders::upload::{spooled_path, BlobPut, ProbedFile};
use crate::domain::model::audit::{person_change, person_image_change};
use crate::domain::model::caller::Caller;
use crate::domain::model::collection::{Collection, EnrolledImage, Person, PersonImage, StoredTemplate};
use crate::domain::model::face::{Enrolment, FaceEngine, FaceError};
use crate::domain::model::media::MediaKind;
use crate::domain::model::metadata::MetaData;
use crate::domain::model::upload::{PersonPart, ReceivedFile, Upload, UploadPayload};
use crate::domain::store::{ListParams, Page};
use crate::domain::time::now;
use crate::domain::Domain;

/// A photo that was not enrolled, and why (client-facing).
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedPhoto {
    /// The multipart part name.
    pub key: String,
    pub file_name: String,
    pub reason: String,
}

/// What to do when some photos of a request are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolMode {
    /// The API: store nothing, answer code 4 listing every rejected photo.
    AllOrNothing,
    /// Bulk import: store each person with its accepted photos (persons with none are
    /// skipped) and report the rejected ones.
    SkipRejected,
}

/// New persons and the photos left out (always empty in [`EnrolMode::AllOrNothing`]).
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub persons: Vec<PersonDetails>,
    pub rejected: Vec<RejectedPhoto>,
}

/// A photo that passed the engine's check.
struct Accepted {
    file: ProbedFile,
    enrolment: Enrolment,
}

fn rejected_error(rejected: &[RejectedPhoto]) -> Error {
    let message = rejected
        .iter()
        .map(|r| format!("File {:?} (part {:?}) is rejected: {}", r.file_name, r.key, r.reason))
        .collect::<Vec<_>>()
        .join("; ");
    let first = &rejected[0];
    let list: Vec<serde_json::Value> = rejected
        .iter()
        .map(|r| serde_json::json!({ "key": r.key, "file_name": r.file_name, "reason": r.reason }))
        .collect();
    Error::invalid_value(
        message,
        serde_json::json!({ "key_path": first.key, "file_name": first.file_name, "rejected": list }),
    )
}

fn invalid_persons(message: String, key_path: &str) -> Error {
    Error::invalid_value(message, serde_json::json!({ "key_path": key_path }))
}

/// Check a multi-person payload against the files: every person names at least one file key
/// that was sent, and every file belongs to exactly one person.
fn check_person_parts(parts: &[PersonPart], files: &[ReceivedFile]) -> Result<()> {
    if parts.is_empty() {
        return Err(invalid_persons("payload.persons lists no person".into(), "payload.persons"));
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, part) in parts.iter().enumerate() {
        if part.files.is_empty() {
            return Err(invalid_persons(
                format!("payload.persons.{i} names no file"),
                &format!("payload.persons.{i}.files"),
            ));
        }
        for key in &part.files {
            if !files.iter().any(|f| &f.key == key) {
                return Err(invalid_persons(
                    format!("payload.persons.{i} names the file key {key:?}, but no file was sent under that name"),
                    &format!("payload.persons.{i}.files"),
                ));
            }
            if let Some(j) = owner.insert(key, i) {
                if j != i {
                    return Err(invalid_persons(
                        format!("the file key {key:?} is given to persons {j} and {i}"),
                        &format!("payload.persons.{i}.files"),
                    ));
                }
            }
        }
    }
    if let Some(f) = files.iter().find(|f| !owner.contains_key(f.key.as_str())) {
        return Err(invalid_persons(
            format!("the file {:?} (part {:?}) belongs to no person in payload.persons", f.original_name, f.key),
            "payload.persons",
        ));
    }
    Ok(())
}

fn no_photo() -> Error {
    Error::invalid_value(
        "No photo was sent: a person needs at least one photo",
        serde_json::json!({ "key_path": "files" }),
    )
}

impl Domain {
    async fn visible_person(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        person_id: Uuid,
    ) -> Result<(Collection, Person, Access)> {
        let (collection, access) = self.visible_collection(caller, collection_id).await?;
        match self.store.get_person(person_id).await? {
            Some(p) if p.collection_id == collection_id => Ok((collection, p, access)),
            _ => Err(Error::not_exist("Person")),
        }
    }

    async fn managed_person(&self, caller: &Caller, collection_id: Uuid, person_id: Uuid) -> Result<Person> {
        let (_, person, access) = self.visible_person(caller, collection_id, person_id).await?;
        if access < Access::Manage {
            return Err(Error::Forbidden(None));
        }
        Ok(person)
    }

    /// Probe each file, then let the engine check it (exactly one usable face) → the accepted
    /// photos with their templates, and the rejected ones with reasons.
    async fn enrol_photos(
        &self,
        engine: &Arc<dyn FaceEngine>,
        files: Vec<ReceivedFile>,
    ) -> Result<(Vec<Accepted>, Vec<RejectedPhoto>)> {
        let mut accepted = Vec::with_capacity(files.len());
        let mut rejected = Vec::new();
        for file in files {
            let reject =
                |reason: String| RejectedPhoto { key: file.key.clone(), file_name: file.original_name.clone(), reason };
            let probed = match self.probe_file(&file).await? {
                Err(reason) => {
                    rejected.push(reject(reason));
                    continue;
                }
                Ok(p) => p,
            };
            match probed.kind {
                MediaKind::Image => {}
                MediaKind::Video | MediaKind::ShotsSet => {
                    rejected
                        .push(reject(format!("enrolment takes photos (JPEG, PNG, WebP, BMP), not {}", probed.kind)));
                    continue;
                }
            }
            let engine = engine.clone();
            let path = spooled_path(&file)?;
            let outcome = tokio::task::spawn_blocking(move || {
                let bytes =
                    std::fs::read(&path).map_err(|e| FaceError::Engine(format!("reading the spooled photo: {e}")))?;
                engine.enrol(&bytes)
            })
            .await
            .map_err(Error::internal)?;
            match outcome {
                Ok(enrolment) => accepted.push(Accepted { file: ProbedFile { file, probed }, enrolment }),
                // Our fault, not the photo's: the whole request fails with code 0.
                Err(e @ (FaceError::Engine(_) | FaceError::Unavailable(_))) => return Err(e.into()),
                Err(
                    e @ (FaceError::NoFace
                    | FaceError::ManyFaces(_)
                    | FaceError::Unusable(_)
                    | FaceError::Unsupported(_)
                    | FaceError::Corrupt(_)
                    | FaceError::TooLarge(_)),
                ) => rejected.push(reject(e.to_string())),
            }
        }
        Ok((accepted, rejected))
    }

    /// The row of an accepted photo of `person`.
    fn person_image(person: &Person, a: &Accepted, payload: &UploadPayload, t: f64) -> EnrolledImage {
        let ProbedFile { file, probed } = &a.file;
        let mut facts = a.file.facts();
        let e = &a.enrolment;
        facts.insert("model_id".into(), e.template.model_id.clone().into());
        // Where the enrolled face is, and the faces left aside (smaller or off-centre).
        facts.insert("face_box".into(), serde_json::json!(e.face_box));
        if !e.other_faces.is_empty() {
            facts.insert("other_faces".into(), serde_json::json!(e.other_faces));
        }
        EnrolledImage {
            image: PersonImage {
                person_image_id: Uuid::new_v4(),
                media_id: Uuid::new_v4(),
                person_id: person.person_id,
                collection_id: person.collection_id,
                company_id: person.company_id,
                original_name: file.original_name.clone(),
                extension: probed.extension.to_owned(),
                has_thumb: probed.thumbnail,
                size_bytes: file.size as i64,
                sha256: file.sha256.clone(),
                tags: payload.media_tags.get(&file.key).cloned().unwrap_or_default(),
                meta_data: payload.media_meta.get(&file.key).cloned().unwrap_or_default(),
                technical_meta_data: MetaData::from_stored(serde_json::Value::Object(facts)),
                model_id: e.template.model_id.clone(),
                time_created: t,
                time_updated: t,
            },
            template: e.template.clone(),
        }
    }

    /// The original blobs of these photos.
    fn image_blobs<'a>(accepted: impl Iterator<Item = (&'a Accepted, &'a EnrolledImage)>) -> Vec<BlobPut<'a>> {
        accepted.map(|(a, e)| a.file.blob(&e.image)).collect()
    }

    /// The checks of every enrolment request: at least one photo, the upload limits and payload
    /// keys, the engine loaded; then each photo enrolled. In [`EnrolMode::AllOrNothing`] any
    /// rejected photo fails the request.
    async fn enrol_request(
        &self,
        files: Vec<ReceivedFile>,
        payload: &UploadPayload,
        mode: EnrolMode,
    ) -> Result<(Vec<Accepted>, Vec<RejectedPhoto>)> {
        if files.is_empty() {
            return Err(no_photo());
        }
        self.check_upload(&files, payload)?;
        let engine = self.faces()?.clone();
        let (accepted, rejected) = self.enrol_photos(&engine, files).await?;
        if !rejected.is_empty() && mode == EnrolMode::AllOrNothing {
            return Err(rejected_error(&rejected));
        }
        Ok((accepted, rejected))
    }

    /// `POST /api/collections/{id}/persons/` (spec §12 step 3): one new person with every
    /// photo of the request and `person:meta_data`.
    pub async fn add_person(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        upload: Upload,
        mode: EnrolMode,
    ) -> Result<Enrolled> {
        let Upload { files, mut payload } = upload;
        let keys: Vec<String> = files.iter().map(|f| f.key.clone()).collect();
        let part = PersonPart { files: keys, meta_data: std::mem::take(&mut payload.person_meta) };
        self.enrol_persons(caller, collection_id, Upload { files, payload }, vec![part], mode).await
    }

    /// `POST /api/collections/{id}/persons/batch/` ([I]): several new persons in one request,
    /// `payload.persons` saying which file keys are whose.
    pub async fn add_persons(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        mut upload: Upload,
    ) -> Result<Vec<PersonDetails>> {
        self.managed_collection(caller, collection_id).await?;
        let parts = upload.payload.persons.take().ok_or_else(|| Error::missing_field("payload.persons"))?;
        check_person_parts(&parts, &upload.files)?;
        Ok(self.enrol_persons(caller, collection_id, upload, parts, EnrolMode::AllOrNothing).await?.persons)
    }

    async fn enrol_persons(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        upload: Upload,
        parts: Vec<PersonPart>,
        mode: EnrolMode,
    ) -> Result<Enrolled> {
        let collection = self.managed_collection(caller, collection_id).await?;
        let Upload { files, payload } = upload;
        let (accepted, rejected) = self.enrol_request(files, &payload, mode).await?;
        let t = now();
        let mut persons: Vec<(Person, Vec<EnrolledImage>)> = Vec::with_capacity(parts.len());
        let mut sources: Vec<Vec<&Accepted>> = Vec::with_capacity(parts.len());
        for part in parts {
            let mine: Vec<&Accepted> = accepted.iter().filter(|a| part.files.contains(&a.file.file.key)).collect();
            if mine.is_empty() {
                continue; // every photo of this person was rejected (SkipRejected only)
            }
            let person = Person {
                person_id: Uuid::new_v4(),
                collection_id,
                company_id: collection.company_id,
                meta_data: part.meta_data,
                technical_meta_data: MetaData::default(),
                time_created: t,
                time_updated: t,
            };
            let images = mine.iter().map(|a| Self::person_image(&person, a, &payload, t)).collect();
            persons.push((person, images));
            sources.push(mine);
        }
        if persons.is_empty() {
            return Ok(Enrolled { persons: Vec::new(), rejected });
        }
        let pairs = sources.iter().zip(&persons).flat_map(|(srcs, (_, images))| srcs.iter().copied().zip(images));
        // Each person, then its photos, as one request's changes, in the rows' transaction.
        let changes = persons
            .iter()
            .flat_map(|(person, images)| {
                std::iter::once(person_change(person, images.len()))
                    .chain(images.iter().map(|e| person_image_change(&e.image)))
            })
            .collect();
        let events = self.object_events_of(Some(caller), "create", "success", Some(collection.company_id), changes);
        let generation =
            self.store_blobs_then(Self::image_blobs(pairs), || self.store.insert_persons(&persons, &events)).await?;
        self.audit_committed(&events);
        let templates = persons.iter().flat_map(|(_, images)| images.iter().map(stored_template)).collect();
        self.gallery_changed(generation, GalleryChange::Insert(templates)).await;
        let persons = persons
            .into_iter()
            .map(|(person, images)| PersonDetails { person, images: images.into_iter().map(|e| e.image).collect() })
            .collect();
        Ok(Enrolled { persons, rejected })
    }

    /// `POST /api/collections/{cid}/persons/{pid}/images/` (spec §12 step 4).
    pub async fn add_person_images(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        person_id: Uuid,
        upload: Upload,
    ) -> Result<Vec<PersonImage>> {
        let person = self.managed_person(caller, collection_id, person_id).await?;
        let Upload { files, payload } = upload;
        let (accepted, _) = self.enrol_request(files, &payload, EnrolMode::AllOrNothing).await?;
        let t = now();
        let images: Vec<EnrolledImage> = accepted.iter().map(|a| Self::person_image(&person, a, &payload, t)).collect();
        let changes = images.iter().map(|e| person_image_change(&e.image)).collect();
        let events = self.object_events_of(Some(caller), "create", "success", Some(person.company_id), changes);
        let generation = self
            .store_blobs_then(Self::image_blobs(accepted.iter().zip(&images)), || async {
                self.store
                    .insert_person_images(person_id, &images, t, &events)
                    .await?
                    .ok_or_else(|| Error::not_exist("Person"))
            })
            .await?;
        self.audit_committed(&events);
        self.gallery_changed(generation, GalleryChange::Insert(images.iter().map(stored_template).collect())).await;
        Ok(images.into_iter().map(|e| e.image).collect())
    }

    /// `GET /api/collections/{id}/persons/` (spec §12 step 5): a page of persons with photos.
    pub async fn list_persons(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        params: &ListParams,
    ) -> Result<Page<PersonDetails>> {
        self.visible_collection(caller, collection_id).await?;
        let page = self.store.list_persons(collection_id, params).await?;
        let ids: Vec<Uuid> = page.items.iter().map(|p| p.person_id).collect();
        let mut images: HashMap<Uuid, Vec<PersonImage>> = HashMap::new();
        if !ids.is_empty() {
            for image in self.store.images_of(&ids).await? {
                images.entry(image.person_id).or_default().push(image);
            }
        }
        let items = page
            .items
            .into_iter()
            .map(|person| {
                let mine = images.remove(&person.person_id).unwrap_or_default();
                PersonDetails { person, images: mine }
            })
            .collect();
        Ok(Page { total: page.total, offset: page.offset, limit: page.limit, items })
    }

    /// `GET /api/collections/{cid}/persons/{pid}`.
    pub async fn get_person(&self, caller: &Caller, collection_id: Uuid, person_id: Uuid) -> Result<PersonDetails> {
        let (_, person, _) = self.visible_person(caller, collection_id, person_id).await?;
        let images = self.store.images_of(&[person_id]).await?;
        Ok(PersonDetails { person, images })
    }

    /// `GET /api/collections/{cid}/persons/{pid}/images/` (spec §12 step 5).
    pub async fn person_images(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        person_id: Uuid,
    ) -> Result<Vec<PersonImage>> {
        self.visible_person(caller, collection_id, person_id).await?;
        self.store.images_of(&[person_id]).await
    }

    /// One photo, by `person_image_id` or `media_id`.
    pub async fn get_person_image(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        person_id: Uuid,
        id: Uuid,
    ) -> Result<PersonImage> {
        self.visible_person(caller, collection_id, person_id).await?;
        self.store.find_person_image(person_id, id).await?.ok_or_else(|| Error::not_exist("Person image"))
    }

    /// `DELETE /api/collections/{cid}/persons/{pid}` (spec §12 step 6): the person and all its
    /// photos, refused while COLLECTION analyses reference it.
    pub async fn delete_person(&self, caller: &Caller, collection_id: Uuid, person_id: Uuid) -> Result<()> {
        let person = self.managed_person(caller, collection_id, person_id).await?;
        let analyses = self.store.analyses_matching_person(person_id).await?;
        if !analyses.is_empty() {
            return Err(has_related_analyses("Person", &analyses));
        }
        // The person, then its photos as read just before the deletion (the events go in its
        // transaction).
        let photos = self.store.images_of(&[person_id]).await?;
        let changes = std::iter::once(person_change(&person, photos.len()))
            .chain(photos.iter().map(person_image_change))
            .collect();
        let events = self.object_events_of(Some(caller), "delete", "success", Some(person.company_id), changes);
        let (images, generation) =
            self.store.delete_person(person_id, &events).await?.ok_or_else(|| Error::not_exist("Person"))?;
        self.audit_committed(&events);
        self.gallery_changed(generation, GalleryChange::RemovePerson(person_id)).await;
        self.forget_images(&images).await;
        Ok(())
    }

    /// The console's "delete these N analyses, then the person" (console spec §4.6): the
    /// COLLECTION analyses that matched the person are deleted one by one through
    /// [`Domain::delete_analysis`] (what `DELETE /api/analyses/{id}` runs, each audited), then
    /// the person through [`Domain::delete_person`]. `confirmed` are the analyses the user was
    /// shown: when the person's matches differ now, nothing is deleted (code 4, the current
    /// ones in `details.analyse_ids`). Every analysis is checked deletable by the caller before
    /// the first is deleted (403 / 404 otherwise, nothing deleted). → how many were deleted.
    pub async fn delete_person_with_analyses(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        person_id: Uuid,
        confirmed: &[Uuid],
    ) -> Result<usize> {
        self.managed_person(caller, collection_id, person_id).await?;
        let mut now_matching = self.store.analyses_matching_person(person_id).await?;
        let mut shown = confirmed.to_vec();
        now_matching.sort();
        now_matching.dedup();
        shown.sort();
        shown.dedup();
        if now_matching != shown {
            let list: Vec<String> = now_matching.iter().map(Uuid::to_string).collect();
            return Err(Error::Conflict {
                message: format!(
                    "The analyses that matched this person changed ({} now, {} confirmed); nothing was deleted",
                    now_matching.len(),
                    shown.len()
                ),
                details: serde_json::json!({ "analyse_ids": list }),
            });
        }
        for id in &now_matching {
            self.check_analysis_deletable(caller, *id).await?;
        }
        for id in &now_matching {
            self.delete_analysis(caller, *id).await?;
        }
        self.delete_person(caller, collection_id, person_id).await?;
        Ok(now_matching.len())
    }

    /// `DELETE /api/collections/{cid}/persons/{pid}/images/{id}/` (spec §12 step 7): one photo,
    /// addressed by `media_id` or `person_image_id`, refused while analyses reference it.
    pub async fn delete_person_image(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        person_id: Uuid,
        id: Uuid,
    ) -> Result<()> {
        let person = self.managed_person(caller, collection_id, person_id).await?;
        let image =
            self.store.find_person_image(person_id, id).await?.ok_or_else(|| Error::not_exist("Person image"))?;
        let analyses = self.store.analyses_matching_image(image.person_image_id).await?;
        if !analyses.is_empty() {
            return Err(has_related_analyses("Person image", &analyses));
        }
        let change = person_image_change(&image);
        let events = self.object_events_of(Some(caller), "delete", "success", Some(person.company_id), vec![change]);
        let generation = self
            .store
            .delete_person_image(image.person_image_id, &events)
            .await?
            .ok_or_else(|| Error::not_exist("Person image"))?;
        self.audit_committed(&events);
        self.gallery_changed(generation, GalleryChange::RemoveTemplate(image.person_image_id)).await;
        self.forget_images(std::slice::from_ref(&image)).await;
        Ok(())
    }

    /// Each original before its thumbnail, as `forget_blobs`.
    async fn forget_images(&self, images: &[PersonImage]) {
        let keys: Vec<String> = images
            .iter()
            .flat_map(|i| std::iter::once(i.original_key()).chain(i.has_thumb.then(|| i.thumb_key())))
            .collect();
        self.delete_blobs(&keys).await;
    }

    /// `GET /static/collections/{collection_id}/{file}`: a photo or its thumbnail, for whoever
    /// may see the collection.
    pub async fn open_person_image_file(
        &self,
        caller: &Caller,
        collection_id: Uuid,
        file: &str,
    ) -> Result<BlobDownload> {
        let missing = || Error::not_exist("File");
        let (media_id, thumb) = static_file_id(file).ok_or_else(missing)?;
        let image = self
            .store
            .person_image_by_media(media_id)
            .await?
            .filter(|i| i.collection_id == collection_id)
            .ok_or_else(missing)?;
        self.visible_collection(caller, collection_id).await.map_err(|_| missing())?;
        self.open_stored_file(file, thumb, &image).await
    }

    /// Values of a person metadata key in a collection (the import command's `import_key`).
    pub async fn person_meta_values(&self, caller: &Caller, collection_id: Uuid, key: &str) -> Result<HashSet<String>> {
        self.visible_collection(caller, collection_id).await?;
        Ok(self.store.person_meta_values(collection_id, key).await?.into_iter().collect())
    }

    /// Metadata access of a person; `collection_id` is the collection named in the path.
    pub(in crate::domain) async fn person_meta_access(
        &self,
        caller: &Caller,
        collection_id: Option<Uuid>,
        person_id: Uuid,
        write: bool,
    ) -> Result<(MetaData, Option<Uuid>)> {
        let collection_id = match collection_id {
            Some(c) => c,
            None => self.store.get_person(person_id).await?.ok_or_else(|| Error::not_exist("Person"))?.collection_id,
        };
        let person = if write {
            self.managed_person(caller, collection_id, person_id).await?
        } else {
            self.visible_person(caller, collection_id, person_id).await?.1
        };
        Ok((person.meta_data, Some(person.company_id)))
    }
}

fn stored_template(e: &EnrolledImage) -> StoredTemplate {
    StoredTemplate {
        person_image_id: e.image.person_image_id,
        person_id: e.image.person_id,
        collection_id: e.image.collection_id,
        template: e.template.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(key: &str) -> ReceivedFile {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        ReceivedFile {
            key: key.into(),
            original_name: format!("{key}.jpg"),
            content: crate::domain::model::upload::FileContent::Spooled(tmp.into_temp_path()),
            size: 0,
            sha256: String::new(),
            streamed: None,
        }
    }

    fn part(keys: &[&str]) -> PersonPart {
        PersonPart { files: keys.iter().map(|k| k.to_string()).collect(), meta_data: MetaData::default() }
    }

    #[test]
    fn every_file_belongs_to_exactly_one_person() {
        let files = vec![file("a"), file("b"), file("c")];
        assert!(check_person_parts(&[part(&["a", "b"]), part(&["c"])], &files).is_ok());
        let msg = |parts: &[PersonPart]| check_person_parts(parts, &files).unwrap_err().to_string();
        assert!(msg(&[part(&["a", "b"])]).contains("belongs to no person"));
        assert!(msg(&[part(&["a", "b"]), part(&["b", "c"])]).contains("given to persons 0 and 1"));
        assert!(msg(&[part(&["a", "b", "c"]), part(&[])]).contains("names no file"));
        assert!(msg(&[part(&["a", "b", "c", "zz"])]).contains("\"zz\""));
        assert!(msg(&[]).contains("no person"));
    }

    #[test]
    fn rejections_are_all_listed() {
        let r = |k: &str, why: &str| RejectedPhoto { key: k.into(), file_name: format!("{k}.jpg"), reason: why.into() };
        let e =
            rejected_error(&[r("p1", "no face found in the media"), r("p2", "2 faces found; exactly one is required")]);
        assert_eq!(
            e.to_string(),
            "File \"p1.jpg\" (part \"p1\") is rejected: no face found in the media; File \"p2.jpg\" (part \"p2\") is rejected: 2 faces found; exactly one is required"
        );
        let Error::InvalidValue { details, .. } = e else { panic!() };
        assert_eq!(details["rejected"].as_array().unwrap().len(), 2);
    }
}
