//! The 1:N search a COLLECTION analysis needs (spec §12), as the analyses see it. The
//! collections component implements it over its persons and the gallery; the analyses only
//! depend on this trait. When no implementation is plugged in, COLLECTION analyses are
//! accepted and finish FAILED with a clear reason.
//!
//! A search is read-only: Instant mode uses the same trait and must not write anything.

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::error::Result;
use crate::domain::model::face::Template;

/// One person found close to the probe face.
#[derive(Debug, Clone, PartialEq)]
pub struct BlacklistHit {
    pub person_id: Uuid,
    /// The enrolled photo that matched best, when the implementation knows it.
    pub person_image_id: Option<Uuid>,
    pub collection_id: Uuid,
    /// The collection's alias (COLLECTION analyses show `collection: {"alias": …}`).
    pub alias: String,
    /// Oz 0..1 confidence that the probe is this person (same scale as BIOMETRY).
    pub confidence: f64,
}

/// Read-only 1:N search over the persistent collections.
#[async_trait]
pub trait Blacklist: Send + Sync + 'static {
    /// The `k` best persons for `template`, best first, among the collections of `company_id`
    /// (None: every company's — ADMIN folders, or Instant mode without a caller), restricted to
    /// `collection_ids` when given. Collections outside `company_id` named in `collection_ids`
    /// are ignored. An unknown or empty collection gives no hits, not an error.
    async fn search(
        &self,
        company_id: Option<Uuid>,
        collection_ids: Option<Vec<Uuid>>,
        template: &Template,
        k: usize,
    ) -> Result<Vec<BlacklistHit>>;
}
