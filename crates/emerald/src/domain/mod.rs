//! The rules: objects, permissions, tenancy, statuses. No HTTP and no SQL here; persistence is
//! reached through the traits in [`store`].

pub mod auth;
pub mod caller;
pub mod collections;
pub mod companies;
pub mod error;
pub mod faces;
pub mod folders;
pub mod gallery;
pub mod media;
pub mod meta;
pub mod metadata;
pub mod model;
pub mod persons;
pub mod role;
pub mod store;
pub mod time;
pub mod upload;
pub mod users;

use std::sync::Arc;

pub use error::{Error, Result};

/// The domain services over one store. Cheap to clone.
#[derive(Clone)]
pub struct Domain {
    pub store: Arc<dyn store::Store>,
    pub auth: auth::AuthSettings,
    /// Blob store, probe and limits; None for tools that never touch media (`admin create`).
    pub media: Option<folders::MediaServices>,
    /// The face engine, or why it is not loaded (a missing model file and how to fetch it).
    pub faces: std::result::Result<Arc<dyn faces::FaceEngine>, String>,
    /// The in-memory 1:N gallery over the stored templates (see [`gallery`]).
    pub gallery: Arc<gallery::FaceGallery>,
}

impl Domain {
    pub fn new(store: Arc<dyn store::Store>, auth: auth::AuthSettings) -> Self {
        Domain {
            store,
            auth,
            media: None,
            faces: Err("the face engine is not loaded".to_owned()),
            gallery: Arc::new(gallery::FaceGallery::default()),
        }
    }

    pub fn with_faces(mut self, faces: std::result::Result<Arc<dyn faces::FaceEngine>, String>) -> Self {
        self.faces = faces;
        self
    }

    /// The face engine, or code 2 (not available on this server) saying which model is missing.
    pub fn faces(&self) -> Result<&Arc<dyn faces::FaceEngine>> {
        self.faces.as_ref().map_err(|why| Error::NotRealized(why.clone()))
    }

    pub fn with_media(mut self, media: folders::MediaServices) -> Self {
        self.media = Some(media);
        self
    }
}
