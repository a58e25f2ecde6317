//! The 1:N search over collections (spec §12; the COLLECTION analysis calls
//! [`Domain::search_collections`]). Templates live in the SQL store (the source of truth) and in
//! an in-memory [`emerald_gallery::Gallery`] for search.
//!
//! Keeping the two in step: every store transaction that adds or removes templates bumps one
//! stored counter, the gallery *generation*, records what it changed in the change feed
//! (`gallery_changes`) and returns the generation. This process applies its own change at once
//! when it is the next generation (so the very next search sees it). A search first reads the
//! stored generation; when it is ahead of the gallery — another node, or the
//! `emerald collections import` command, changed templates — the gallery replays the feed's
//! changes since its generation (reading only the inserted templates), or, when the feed no
//! longer reaches back that far, reloads everything from one consistent view of the store.
//!
//! Start-up: the gallery loads its snapshot file (codes and graphs, written after a full
//! load and then every few minutes when it changed) and replays the feed from the snapshot's
//! generation; without a usable snapshot it loads every template from the store.
//!
//! Hits from the gallery (int8 codes, approximate cosine) are confirmed against the stored f32
//! templates: the confidence reported is [`FaceEngine::confidence`] of the query and the stored
//! template, and a template deleted meanwhile drops out.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use emerald_gallery::{Applied, Change, Gallery, GalleryConfig, GalleryError, PersonFilter, Query, SearchMode};
use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::model::collection::{GalleryFeedKind, StoredTemplate};
use crate::domain::model::face::{FaceEngine, Template};
use crate::domain::Domain;

/// Gallery candidates fetched per requested match, since one person may have several photos
/// among the best templates, and some hits may have been deleted meanwhile.
const CANDIDATES_PER_MATCH: usize = 4;
/// Extra candidates on top of that.
const EXTRA_CANDIDATES: usize = 16;
/// The gallery's cosine floor sits this far below the exact one (its scores are approximate).
const APPROX_COSINE_SLACK: f32 = 0.02;

/// One person found by a 1:N search: its best-matching photo and the confidence of that match.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionMatch {
    pub person_id: Uuid,
    pub person_image_id: Uuid,
    pub collection_id: Uuid,
    pub alias: String,
    /// Oz 0..1 confidence that the query shows this person ([`FaceEngine::confidence`]).
    pub confidence: f32,
}

/// Feed rows replayed at most; a gallery further behind reloads (cheaper than many lookups).
pub const MAX_FEED_REPLAY: i64 = 200_000;

/// How the gallery reached the stored generation (logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GallerySync {
    UpToDate,
    /// Replayed this many feed rows.
    Replayed(usize),
    /// Loaded every template from the store.
    Reloaded,
}

/// A change to apply to the in-memory gallery after the store committed it.
#[derive(Debug, Clone)]
pub(in crate::domain) enum GalleryChange {
    Insert(Vec<StoredTemplate>),
    RemoveTemplate(Uuid),
    RemovePerson(Uuid),
}

/// The in-memory gallery and the stored generation it reflects.
pub struct FaceGallery {
    config: GalleryConfig,
    gallery: RwLock<Arc<Gallery>>,
    /// None until the first load. The lock also serialises reloads with applied changes.
    generation: tokio::sync::Mutex<Option<i64>>,
    /// The snapshot file, if the gallery keeps one, and the generation last written to it.
    snapshot: Option<PathBuf>,
    saved: tokio::sync::Mutex<Option<i64>>,
    /// Templates of another embedder than the running one may be stored (left from before a
    /// model change): searches then check their collections first. Starts true (unknown); the
    /// first check that finds none clears it; seeing such a template sets it again.
    foreign_possible: AtomicBool,
}

impl FaceGallery {
    pub fn new(config: GalleryConfig) -> Self {
        FaceGallery {
            gallery: RwLock::new(Arc::new(Gallery::new(config.clone()))),
            config,
            generation: tokio::sync::Mutex::new(None),
            snapshot: None,
            saved: tokio::sync::Mutex::new(None),
            foreign_possible: AtomicBool::new(true),
        }
    }

    /// A gallery that starts from, and keeps, a snapshot file at `path`.
    pub fn with_snapshot(config: GalleryConfig, path: PathBuf) -> Self {
        FaceGallery { snapshot: Some(path), ..FaceGallery::new(config) }
    }

    fn current(&self) -> Arc<Gallery> {
        self.gallery.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Live templates in memory.
    pub fn len(&self) -> usize {
        self.current().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for FaceGallery {
    fn default() -> Self {
        FaceGallery::new(GalleryConfig::default())
    }
}

fn gallery_template(t: &StoredTemplate) -> emerald_gallery::Template<'_> {
    emerald_gallery::Template {
        template_id: t.person_image_id,
        person_id: t.person_id,
        collection_id: t.collection_id,
        model_id: &t.template.model_id,
        vector: &t.template.vector,
    }
}

/// Insert templates, skipping (and logging) any the gallery refuses (a model of another size).
/// Templates of another model than the gallery's own are noted in `foreign`.
fn insert_all(gallery: &Gallery, templates: &[StoredTemplate], model_id: Option<&str>, foreign: &AtomicBool) {
    if let Some(m) = model_id {
        if templates.iter().any(|t| t.template.model_id != m) {
            foreign.store(true, Ordering::Relaxed);
        }
    }
    let batch: Vec<_> = templates.iter().map(gallery_template).collect();
    if gallery.insert_batch(&batch).is_ok() {
        return;
    }
    for t in batch {
        if let Err(e) = gallery.insert(t.clone()) {
            tracing::warn!(person_image_id = %t.template_id, model_id = t.model_id, error = %e, "template left out of the 1:N gallery");
        }
    }
}

fn gallery_error(e: GalleryError) -> Error {
    match e {
        e @ (GalleryError::DimensionMismatch { .. }
        | GalleryError::InvalidVector
        | GalleryError::ModelMismatch { .. }) => {
            Error::invalid_value(format!("The face template cannot be searched: {e}"), serde_json::json!({}))
        }
        e @ (GalleryError::NilTemplateId
        | GalleryError::CorruptSnapshot(_)
        | GalleryError::SnapshotDimension { .. }
        | GalleryError::Io(_)) => Error::internal(e),
    }
}

impl Domain {
    /// Bring the in-memory gallery to the stored generation: nothing when it is there; else
    /// replay the change feed from the gallery's generation (from the snapshot's at start-up);
    /// else reload every template. Called at start-up and before every search.
    pub async fn sync_gallery(&self) -> Result<GallerySync> {
        let mut known = self.gallery.generation.lock().await;
        let stored = self.store.gallery_generation().await?;
        if *known == Some(stored) {
            return Ok(GallerySync::UpToDate);
        }
        if known.is_none() {
            if let Some(g) = self.load_gallery_snapshot().await {
                *known = Some(g);
                if g == stored {
                    return Ok(GallerySync::UpToDate);
                }
            }
        }
        if let Some(k) = *known {
            if let Some(n) = self.replay_gallery_feed(k, &mut known).await? {
                return Ok(GallerySync::Replayed(n));
            }
        }
        let fresh = Gallery::new(self.gallery.config.clone());
        let model = self.faces().ok().map(|f| f.models().embedder);
        let foreign = &self.gallery.foreign_possible;
        let generation = self
            .store
            .load_templates(&mut |page: Vec<StoredTemplate>| insert_all(&fresh, &page, model.as_deref(), foreign))
            .await?;
        fresh.set_version(generation.max(0) as u64);
        tracing::info!(templates = fresh.len(), generation, "1:N gallery loaded from the store");
        *self.gallery.gallery.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        *known = Some(generation);
        drop(known);
        self.save_gallery_snapshot().await;
        Ok(GallerySync::Reloaded)
    }

    /// Replay the feed after generation `from` onto the current gallery. None when the feed
    /// cannot bring it up to date (pruned, too long, or a template the gallery refuses).
    async fn replay_gallery_feed(&self, from: i64, known: &mut Option<i64>) -> Result<Option<usize>> {
        let Some(feed) = self.store.gallery_changes_since(from, MAX_FEED_REPLAY).await? else { return Ok(None) };
        let inserted: Vec<Uuid> =
            feed.changes.iter().filter(|c| c.kind == GalleryFeedKind::Insert).map(|c| c.id).collect();
        // Photos deleted since they were enrolled are not found: their removal follows anyway.
        let templates: HashMap<Uuid, StoredTemplate> = if inserted.is_empty() {
            HashMap::new()
        } else {
            self.store.stored_templates(&inserted).await?.into_iter().map(|t| (t.person_image_id, t)).collect()
        };
        if let Ok(engine) = self.faces() {
            let model = engine.models().embedder;
            if templates.values().any(|t| t.template.model_id != model) {
                self.gallery.foreign_possible.store(true, Ordering::Relaxed);
            }
        }
        let changes: Vec<Change<'_>> = feed
            .changes
            .iter()
            .filter_map(|c| match c.kind {
                GalleryFeedKind::Insert => templates.get(&c.id).map(|t| Change::Insert(gallery_template(t))),
                GalleryFeedKind::RemoveImage => Some(Change::RemoveTemplate(c.id)),
                GalleryFeedKind::RemovePerson => Some(Change::RemovePerson(c.id)),
            })
            .collect();
        let gallery = self.gallery.current();
        // The gallery's own version may lag `from` (changes applied one by one); `apply` only
        // needs the feed's generation to be ahead of it.
        gallery.set_version(from.max(0) as u64);
        match gallery.apply(feed.generation.max(0) as u64, &changes) {
            Ok(Applied::Applied { .. }) => {}
            Ok(Applied::Stale { .. }) => {}
            Err(e) => {
                tracing::warn!(error = %e, "replaying the gallery change feed failed: reloading");
                return Ok(None);
            }
        }
        tracing::debug!(
            changes = changes.len(),
            from,
            to = feed.generation,
            "1:N gallery caught up from the change feed"
        );
        *known = Some(feed.generation);
        Ok(Some(feed.changes.len()))
    }

    /// The snapshot's gallery installed, and its generation; None when there is no usable file.
    async fn load_gallery_snapshot(&self) -> Option<i64> {
        let path = self.gallery.snapshot.clone()?;
        if !path.exists() {
            return None;
        }
        let config = self.gallery.config.clone();
        let t = std::time::Instant::now();
        let loaded = tokio::task::spawn_blocking(move || Gallery::load_snapshot(&path, config)).await;
        match loaded {
            Ok(Ok(g)) => {
                let generation = g.version() as i64;
                tracing::info!(
                    templates = g.len(),
                    generation,
                    ms = t.elapsed().as_millis() as u64,
                    "1:N gallery loaded from its snapshot"
                );
                *self.gallery.gallery.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(g);
                *self.gallery.saved.lock().await = Some(generation);
                Some(generation)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the 1:N gallery snapshot is unusable: loading from the store");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "loading the 1:N gallery snapshot failed");
                None
            }
        }
    }

    /// Write the snapshot when the gallery moved since the last one (no-op without a snapshot
    /// file). The server calls it after a full load and every few minutes.
    pub async fn save_gallery_snapshot(&self) {
        let Some(path) = self.gallery.snapshot.clone() else { return };
        // Lock order: `generation` is never held while waiting for `saved` here (a first sync
        // holds `generation` and then takes `saved`).
        let Some(generation) = *self.gallery.generation.lock().await else { return };
        let mut saved = self.gallery.saved.lock().await;
        if *saved == Some(generation) {
            return;
        }
        let gallery = self.gallery.current();
        gallery.set_version(generation.max(0) as u64);
        let written = tokio::task::spawn_blocking(move || gallery.save_snapshot(&path)).await;
        match written {
            Ok(Ok(())) => *saved = Some(generation),
            Ok(Err(e)) => tracing::warn!(error = %e, "writing the 1:N gallery snapshot failed"),
            Err(e) => tracing::warn!(error = %e, "writing the 1:N gallery snapshot failed"),
        }
    }

    /// Apply a change this process committed at `generation`. Applied when it is the next one;
    /// an older one is already in the gallery (a reload read it); after a gap (someone else
    /// committed in between) the next search reloads.
    pub(in crate::domain) async fn gallery_changed(&self, generation: i64, change: GalleryChange) {
        let mut known = self.gallery.generation.lock().await;
        match *known {
            Some(k) if generation == k + 1 => {}
            _ => return,
        }
        let gallery = self.gallery.current();
        match &change {
            GalleryChange::Insert(templates) => {
                let model = self.faces().ok().map(|f| f.models().embedder);
                insert_all(&gallery, templates, model.as_deref(), &self.gallery.foreign_possible)
            }
            GalleryChange::RemoveTemplate(id) => {
                gallery.remove_template(*id);
            }
            GalleryChange::RemovePerson(id) => {
                gallery.remove_person(*id);
            }
        }
        *known = Some(generation);
    }

    /// 1:N search for the COLLECTION analysis: the persons whose photos best match `template`,
    /// best first, at most `k`, each with its best photo, none below `min_confidence`.
    ///
    /// `company_id`: search that company's collections (None: every company's — for callers
    /// that see all). `collection_ids`: only these (each must belong to the company, else
    /// code 10). Errors: code 2 when the face engine is not loaded; code 4 when `min_confidence`
    /// is outside 0..=1 or the template's model cannot be searched.
    pub async fn search_collections(
        &self,
        company_id: Option<Uuid>,
        collection_ids: Option<&[Uuid]>,
        template: &Template,
        k: usize,
        min_confidence: Option<f32>,
    ) -> Result<Vec<CollectionMatch>> {
        let engine = self.faces()?.clone();
        if let Some(c) = min_confidence.filter(|c| !(0.0..=1.0).contains(c)) {
            return Err(Error::invalid_value(
                format!("min_confidence {c} is outside 0..1"),
                serde_json::json!({ "key_path": "min_confidence" }),
            ));
        }
        let aliases: HashMap<Uuid, String> = self.store.collection_aliases(company_id).await?.into_iter().collect();
        let targets: Vec<Uuid> = match collection_ids {
            Some(ids) => {
                if ids.iter().any(|id| !aliases.contains_key(id)) {
                    return Err(Error::not_exist("Collection"));
                }
                ids.to_vec()
            }
            None => aliases.keys().copied().collect(),
        };
        if targets.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        self.sync_gallery().await?;
        self.refuse_foreign_templates(&template.model_id, &targets, &aliases).await?;
        let gallery = self.gallery.current();
        // The confidence of a 1:N hit depends on how many templates were searched.
        let searched = gallery.count(&template.model_id, Some(&targets));
        let min_cosine = min_confidence.filter(|c| *c > 0.0).map(|c| engine.search_cosine(c, searched).unwrap_or(1.0));
        let query_vector = template.vector.clone();
        let model_id = template.model_id.clone();
        let wanted = k.saturating_mul(CANDIDATES_PER_MATCH).saturating_add(EXTRA_CANDIDATES);
        let hits = tokio::task::spawn_blocking(move || {
            gallery.search(&Query {
                vector: &query_vector,
                model_id: &model_id,
                collections: Some(targets),
                k: wanted,
                min_score: min_cosine.map(|c| c - APPROX_COSINE_SLACK),
                persons: PersonFilter::Any,
                mode: SearchMode::Auto,
                ef_search: None,
                walk: None,
            })
        })
        .await
        .map_err(Error::internal)?
        .map_err(gallery_error)?;
        let ids: Vec<Uuid> = hits.iter().map(|h| h.template_id).collect();
        let stored = if ids.is_empty() { Vec::new() } else { self.store.stored_templates(&ids).await? };
        Ok(best_per_person(engine.as_ref(), template, stored, searched, &aliases, k, min_confidence))
    }

    /// A 1:N search must not silently miss people: when any of `collections` still holds
    /// templates made by another model than `model_id` (enrolled before an embedder change),
    /// the search is refused (code 4) until `emerald collections reindex` has remade them.
    async fn refuse_foreign_templates(
        &self,
        model_id: &str,
        collections: &[Uuid],
        aliases: &HashMap<Uuid, String>,
    ) -> Result<()> {
        if !self.gallery.foreign_possible.load(Ordering::Relaxed) {
            return Ok(());
        }
        let Some((collection, model, count)) =
            self.store.foreign_templates(model_id, Some(collections)).await?.into_iter().next()
        else {
            // None here; none anywhere (two index probes) ends the checks until one is seen.
            if self.store.foreign_templates(model_id, None).await?.is_empty() {
                self.gallery.foreign_possible.store(false, Ordering::Relaxed);
            }
            return Ok(());
        };
        let alias = aliases.get(&collection).map(String::as_str).unwrap_or("?");
        Err(Error::invalid_value(
            format!(
                "collection {alias} ({collection}) holds {count} face templates made by the model {model}, not by the \
                 running one ({model_id}): a search would miss those people. Run `emerald collections reindex` to \
                 remake them from the stored photos"
            ),
            serde_json::json!({ "collection_id": collection, "model_id": model, "templates": count }),
        ))
    }
}

/// Exact confidences of the candidates; the best photo of each person; best persons first.
fn best_per_person(
    engine: &dyn FaceEngine,
    query: &Template,
    candidates: Vec<StoredTemplate>,
    searched: usize,
    aliases: &HashMap<Uuid, String>,
    k: usize,
    min_confidence: Option<f32>,
) -> Vec<CollectionMatch> {
    let mut best: HashMap<Uuid, CollectionMatch> = HashMap::new();
    for c in candidates {
        let Some(cosine) = query.cosine(&c.template) else { continue };
        let confidence = engine.search_confidence(cosine, searched);
        if min_confidence.is_some_and(|m| confidence < m) {
            continue;
        }
        let Some(alias) = aliases.get(&c.collection_id) else { continue };
        if !matches!(best.get(&c.person_id), Some(b) if b.confidence >= confidence) {
            best.insert(
                c.person_id,
                CollectionMatch {
                    person_id: c.person_id,
                    person_image_id: c.person_image_id,
                    collection_id: c.collection_id,
                    alias: alias.clone(),
                    confidence,
                },
            );
        }
    }
    let mut out: Vec<CollectionMatch> = best.into_values().collect();
    out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.person_id.cmp(&b.person_id)));
    out.truncate(k);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::face::{AnalyzeOptions, EngineModels, Enrolment, FaceError, MediaFaces};

    /// Confidence = the cosine, i.e. the stored one-component template's value against the
    /// query [1.0] (a stand-in calibration).
    struct FirstComponent;

    impl FaceEngine for FirstComponent {
        fn models(&self) -> EngineModels {
            EngineModels { detector: "d".into(), embedder: "m".into(), liveness: "l".into() }
        }
        fn analyze(&self, _: &[u8], _: &AnalyzeOptions) -> std::result::Result<MediaFaces, FaceError> {
            Err(FaceError::NoFace)
        }
        fn template_dim(&self) -> usize {
            1
        }
        fn enrol(&self, _: &[u8]) -> std::result::Result<Enrolment, FaceError> {
            Err(FaceError::NoFace)
        }
        fn dominant_face(&self, _: &image::RgbImage) -> std::result::Result<Option<([f32; 4], f32)>, FaceError> {
            Ok(None)
        }
        fn confidence(&self, a: &Template, b: &Template) -> Option<f32> {
            a.cosine(b)
        }
        fn search_confidence(&self, cosine: f32, _gallery: usize) -> f32 {
            cosine
        }
        fn search_cosine(&self, c: f32, _gallery: usize) -> Option<f32> {
            Some(c)
        }
    }

    fn stored(person: Uuid, collection: Uuid, model: &str, conf: f32) -> StoredTemplate {
        StoredTemplate {
            person_image_id: Uuid::new_v4(),
            person_id: person,
            collection_id: collection,
            template: Template { model_id: model.into(), vector: vec![conf] },
        }
    }

    #[test]
    fn one_match_per_person_best_first_above_the_floor() {
        let (c, p1, p2, p3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let aliases: HashMap<Uuid, String> = [(c, "blacklist".to_owned())].into();
        let query = Template { model_id: "m".into(), vector: vec![1.0] };
        let best_of_p1 = stored(p1, c, "m", 0.9);
        let candidates = vec![
            stored(p1, c, "m", 0.7),
            best_of_p1.clone(),
            stored(p2, c, "m", 0.95),
            stored(p3, c, "m", 0.3),
            stored(p3, c, "other", 0.99),
        ];
        let out = best_per_person(&FirstComponent, &query, candidates.clone(), 5, &aliases, 5, Some(0.5));
        assert_eq!(out.iter().map(|m| (m.person_id, m.confidence)).collect::<Vec<_>>(), [(p2, 0.95), (p1, 0.9)]);
        assert_eq!(out[1].person_image_id, best_of_p1.person_image_id);
        assert_eq!(out[1].alias, "blacklist");
        let top = best_per_person(&FirstComponent, &query, candidates, 5, &aliases, 1, None);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].person_id, p2);
    }
}
