//! The collections' implementation of the 1:N search port ([`crate::domain::model::blacklist`])
//! that COLLECTION analyses and Instant mode use: [`crate::domain::Domain::search_collections`]
//! over the gallery.

use async_trait::async_trait;
use uuid::Uuid;

use std::collections::HashSet;

use crate::domain::error::Result;
use crate::domain::model::blacklist::{Blacklist, BlacklistHit};
use crate::domain::model::face::Template;
use crate::domain::Domain;

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
