//! The rules: objects, permissions, tenancy, statuses. No HTTP and no SQL here; persistence is
//! reached through the traits in [`store`].

pub mod auth;
pub mod caller;
pub mod companies;
pub mod error;
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
}

impl Domain {
    pub fn new(store: Arc<dyn store::Store>, auth: auth::AuthSettings) -> Self {
        Domain { store, auth }
    }
}
