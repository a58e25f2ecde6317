//! The rules: objects, permissions, tenancy, statuses. No HTTP and no SQL here; persistence is
//! reached through the traits in [`store`].

pub mod auth;
pub mod caller;
pub mod companies;
pub mod error;
pub mod folders;
pub mod media;
pub mod meta;
pub mod metadata;
pub mod model;
pub mod role;
pub mod store;
pub mod time;
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
}

impl Domain {
    pub fn new(store: Arc<dyn store::Store>, auth: auth::AuthSettings) -> Self {
        Domain { store, auth, media: None }
    }

    pub fn with_media(mut self, media: folders::MediaServices) -> Self {
        self.media = Some(media);
        self
    }
}
