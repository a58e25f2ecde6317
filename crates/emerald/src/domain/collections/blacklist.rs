//! The 1:N search a COLLECTION analysis needs (spec §12), as the analyses see it. The
//! collections component implements it over its persons and the gallery; the analyses only
//! depend on this trait. When no implementation is plugged in, COLLECTION analyses are
//! accepted and finish FAILED with a clear reason.
//!
//! A search is read-only: Instant mode uses the same trait and must not write anything.

use async_trait::async_trait;
use uuid::Uuid;

use std::collections::HashSet;

use crate::domain::error::Result;
use crate::domain::model::face::Template;
use crate::domain::Domain;

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

/// The collections component's [`Blacklist`]: [`Domain::search_collections`] over the 1:N
/// gallery. It holds its own handle on the domain (store, engine and gallery are shared), so
/// the domain that holds this blacklist is not referenced from it.
pub struct GalleryBlacklist {
    domain: Domain,
}

impl GalleryBlacklist {
    pub fn new(domain: Domain) -> Self {
        GalleryBlacklist { domain }
    }
}

#[async_trait]
impl Blacklist for GalleryBlacklist {
    async fn search(
        &self,
        company_id: Option<Uuid>,
        collection_ids: Option<Vec<Uuid>>,
        template: &Template,
        k: usize,
    ) -> Result<Vec<BlacklistHit>> {
        // Unknown collections and other companies' are ignored, not an error (the trait's rule);
        // `search_collections` refuses them, so keep only the caller's own.
        let wanted = match collection_ids {
            None => None,
            Some(ids) => {
                let known: HashSet<Uuid> =
                    self.domain.store.collection_aliases(company_id).await?.into_iter().map(|(id, _)| id).collect();
                let mut seen = HashSet::new();
                let ids: Vec<Uuid> = ids.into_iter().filter(|id| known.contains(id) && seen.insert(*id)).collect();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                Some(ids)
            }
        };
        let found = self.domain.search_collections(company_id, wanted.as_deref(), template, k, None).await?;
        Ok(found
            .into_iter()
            .map(|m| BlacklistHit {
                person_id: m.person_id,
                person_image_id: Some(m.person_image_id),
                collection_id: m.collection_id,
                alias: m.alias,
                confidence: f64::from(m.confidence),
            })
            .collect())
    }
}
