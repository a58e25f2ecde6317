//! Collections' objects as stored (spec §4.7, §12): collections, persons, their enrolled photos
//! and templates, the matches COLLECTION analyses record, and the gallery's change feed. The
//! rules and services are in [`crate::domain::collections`].

use uuid::Uuid;

use crate::domain::model::face::Template;
use crate::domain::model::metadata::MetaData;

#[derive(Debug, Clone)]
pub struct Collection {
    pub collection_id: Uuid,
    pub company_id: Uuid,
    pub alias: String,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub company_id: Uuid,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}

/// An enrolled photo of a person: a stored file like a media file, addressed by its
/// `person_image_id` or its `media_id`. Its template is stored with it, read only for search.
#[derive(Debug, Clone)]
pub struct PersonImage {
    pub person_image_id: Uuid,
    pub media_id: Uuid,
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub company_id: Uuid,
    pub original_name: String,
    pub extension: String,
    pub has_thumb: bool,
    pub size_bytes: i64,
    pub sha256: String,
    pub tags: Vec<String>,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    /// The embedder that made the template.
    pub model_id: String,
    pub time_created: f64,
    pub time_updated: f64,
}

impl PersonImage {
    /// Blob key of the original: `collections/{collection_id}/{media_id}.{ext}`.
    pub fn original_key(&self) -> String {
        format!("collections/{}/{}.{}", self.collection_id, self.media_id, self.extension)
    }

    /// Blob key of the JPEG thumbnail: `collections/{collection_id}/{media_id}_thumb.jpg`.
    pub fn thumb_key(&self) -> String {
        format!("collections/{}/{}_thumb.jpg", self.collection_id, self.media_id)
    }
}

crate::domain::model::media::stored_file!(PersonImage);

/// A photo to store with its template.
#[derive(Debug, Clone)]
pub struct EnrolledImage {
    pub image: PersonImage,
    pub template: Template,
}

/// A stored template and whose it is (what the gallery holds).
#[derive(Debug, Clone)]
pub struct StoredTemplate {
    pub person_image_id: Uuid,
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub template: Template,
}

/// One row of `collection_matches`: a COLLECTION analysis matched this person (and photo).
/// Written when the analysis finishes; it blocks deleting the person or photo (spec §12). The
/// store files it under the collection's company.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionMatchRecord {
    pub analyse_id: Uuid,
    pub person_id: Uuid,
    pub person_image_id: Option<Uuid>,
    pub collection_id: Uuid,
}

/// What one row of the gallery change feed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GalleryFeedKind {
    /// A photo was enrolled: `id` is its `person_image_id`.
    Insert,
    /// A photo was deleted: `id` is its `person_image_id`.
    RemoveImage,
    /// A person was deleted with all its photos: `id` is its `person_id`.
    RemovePerson,
}

/// One row of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GalleryFeedItem {
    pub generation: i64,
    pub kind: GalleryFeedKind,
    pub id: Uuid,
}

/// The feed's changes after some generation, oldest first, up to `generation`.
#[derive(Debug, Clone)]
pub struct GalleryFeed {
    pub generation: i64,
    pub changes: Vec<GalleryFeedItem>,
}
