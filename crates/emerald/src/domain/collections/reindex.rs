//! Remaking face templates after an embedder change (`emerald collections reindex`).
//!
//! Every stored template records the model that made it; templates of another model than the
//! running one are never compared with new ones (1:N searches over a collection holding them
//! are refused, see `gallery.rs`). The reindex reads each such photo's stored original, finds
//! its dominant face with the running engine and replaces the template in one transaction that
//! also announces the change to every node's gallery. Resumable by construction: what is left
//! to do is exactly the templates of other models, so an interrupted run is started again.

use uuid::Uuid;

use crate::domain::collections::gallery::GalleryChange;
use crate::domain::error::{Error, Result};
use crate::domain::model::collection::StoredTemplate;
use crate::domain::model::face::FaceError;
use crate::domain::Domain;

/// Photos read and re-embedded per page.
const PAGE: i64 = 64;

/// What a reindex did.
#[derive(Debug, Default)]
pub struct ReindexReport {
    /// Templates remade with the running model.
    pub remade: usize,
    /// Photos whose template could not be remade (no usable face with the new model, original
    /// missing…), with the reason; they keep their old template (and keep the searches of
    /// their collection refused) until deleted or replaced.
    pub failed: Vec<(Uuid, String)>,
}

impl Domain {
    /// Templates of other models than the running engine's, in all collections.
    pub async fn templates_to_reindex(&self) -> Result<u64> {
        let model = self.faces()?.models().embedder;
        Ok(self.store.foreign_templates(&model, None).await?.iter().map(|(_, _, n)| *n as u64).sum())
    }

    /// Remake every template made by another model than the running engine's; `progress` is
    /// called after each photo with the number handled so far.
    pub async fn reindex_templates(&self, mut progress: impl FnMut(u64)) -> Result<ReindexReport> {
        let engine = self.faces()?.clone();
        let model = engine.models().embedder;
        let mut report = ReindexReport::default();
        let mut after = Uuid::nil();
        let mut handled = 0u64;
        loop {
            let page = self.store.foreign_template_images(&model, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.person_image_id;
            for image in page {
                handled += 1;
                let bytes = match self.read_blob(&image.original_key()).await? {
                    Some(b) => b,
                    None => {
                        report.failed.push((image.person_image_id, "the stored photo is missing".into()));
                        progress(handled);
                        continue;
                    }
                };
                let engine = engine.clone();
                let outcome =
                    tokio::task::spawn_blocking(move || engine.enrol(&bytes)).await.map_err(Error::internal)?;
                match outcome {
                    Ok(enrolment) => {
                        let id = image.person_image_id;
                        if let Some(generation) = self.store.replace_template(id, &enrolment.template).await? {
                            let stored = StoredTemplate {
                                person_image_id: id,
                                person_id: image.person_id,
                                collection_id: image.collection_id,
                                template: enrolment.template,
                            };
                            self.gallery_changed(generation, GalleryChange::Insert(vec![stored])).await;
                            report.remade += 1;
                        }
                    }
                    Err(e @ FaceError::Engine(_)) => return Err(e.into()),
                    Err(e) => report.failed.push((image.person_image_id, e.to_string())),
                }
                progress(handled);
            }
        }
        Ok(report)
    }
}
