//! The rules: objects, permissions, tenancy, statuses. No HTTP and no SQL here; persistence is
//! reached through the traits in [`store`].
//!
//! Layered, bottom up (docs/architecture.md; the `layers` test below checks it): [`error`] and
//! [`time`]; [`model`], the plain objects, pure rules and engine ports; [`store`]; the
//! subsystems [`identity`], then [`folders`], then [`analyses`] and [`collections`] side by
//! side; then [`meta`] and [`lite`]. This file holds [`Domain`], the composition root: each
//! subsystem keeps its state here and adds its operations in its own `impl Domain` block.

pub mod analyses;
pub mod collections;
pub mod error;
pub mod folders;
pub mod identity;
pub mod lite;
pub mod meta;
pub mod model;
pub mod store;
pub mod system;
pub mod time;

use std::sync::Arc;

pub use error::{Error, Result};

/// The domain services over one store. Cheap to clone.
#[derive(Clone)]
pub struct Domain {
    pub store: Arc<dyn store::Store>,
    pub auth: identity::auth::AuthSettings,
    /// Blob store, probe and limits; None for tools that never touch media (`admin create`).
    pub media: Option<folders::upload::MediaServices>,
    /// The face engine, or why it is not loaded (a missing model file and how to fetch it).
    pub faces: std::result::Result<Arc<dyn model::face::FaceEngine>, String>,
    /// The 1:N search of COLLECTION analyses; None when the collections component is absent.
    pub blacklist: Option<Arc<dyn model::blacklist::Blacklist>>,
    pub thresholds: model::analysis::Thresholds,
    /// Concurrent face-engine calls (workers and Instant requests share them).
    pub engine_slots: Arc<tokio::sync::Semaphore>,
    pub queue: analyses::service::QueueSettings,
    pub signals: analyses::service::Signals,
    /// The in-memory 1:N gallery over the stored templates (see [`collections::gallery`]).
    pub gallery: Arc<collections::gallery::FaceGallery>,
    /// Engine results of media that several analyses of one request use.
    pub face_cache: analyses::evaluate::FaceCache,
    /// Engine passes run by this process (also the `emerald_engine_runs_total` metric).
    pub engine_runs: Arc<std::sync::atomic::AtomicU64>,
    /// The OCR of documents' visual zone (PP-OCRv4 in process or Tesseract), or why there is
    /// none (DOCUMENTS then reads the MRZ only and says so).
    pub ocr: std::result::Result<emerald_documents::VisualOcr, String>,
    /// Login throttling, quotas and audit settings (docs/abuse.md).
    pub abuse: identity::abuse::AbuseSettings,
    /// This node's quota buckets.
    pub quotas: identity::abuse::SharedQuotas,
    /// Seconds a review claim holds a case (GAP-10, `EMERALD_REVIEW_CLAIM_TIMEOUT`).
    pub review_claim_secs: f64,
}

impl Domain {
    pub fn new(store: Arc<dyn store::Store>, auth: identity::auth::AuthSettings) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Domain {
            store,
            auth,
            media: None,
            faces: Err("the face engine is not loaded".to_owned()),
            blacklist: None,
            thresholds: model::analysis::Thresholds::default(),
            engine_slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            queue: analyses::service::QueueSettings::default(),
            signals: analyses::service::Signals::default(),
            gallery: Arc::new(collections::gallery::FaceGallery::default()),
            face_cache: analyses::evaluate::FaceCache::default(),
            engine_runs: Arc::default(),
            ocr: Err("no document OCR is configured".to_owned()),
            abuse: identity::abuse::AbuseSettings::default(),
            quotas: Arc::default(),
            review_claim_secs: folders::claims::CLAIM_SECS_DEFAULT,
        }
    }

    pub fn with_review_claim(mut self, secs: f64) -> Self {
        self.review_claim_secs = secs.max(1.0);
        self
    }

    pub fn with_abuse(mut self, abuse: identity::abuse::AbuseSettings) -> Self {
        self.abuse = abuse;
        self
    }

    pub fn with_blacklist(mut self, blacklist: Option<Arc<dyn model::blacklist::Blacklist>>) -> Self {
        self.blacklist = blacklist;
        self
    }

    /// Thresholds, queue settings and the number of concurrent engine calls.
    pub fn with_analysis_settings(
        mut self,
        thresholds: model::analysis::Thresholds,
        queue: analyses::service::QueueSettings,
        engine_slots: usize,
    ) -> Self {
        self.thresholds = thresholds;
        self.queue = queue;
        self.engine_slots = Arc::new(tokio::sync::Semaphore::new(engine_slots.max(1)));
        self
    }

    pub fn with_gallery(mut self, gallery: collections::gallery::FaceGallery) -> Self {
        self.gallery = Arc::new(gallery);
        self
    }

    pub fn with_ocr(mut self, ocr: std::result::Result<emerald_documents::VisualOcr, String>) -> Self {
        self.ocr = ocr;
        self
    }

    pub fn with_faces(mut self, faces: std::result::Result<Arc<dyn model::face::FaceEngine>, String>) -> Self {
        self.faces = faces;
        self
    }

    /// The face engine, or code 2 (not available on this server) saying which model is missing.
    pub fn faces(&self) -> Result<&Arc<dyn model::face::FaceEngine>> {
        self.faces.as_ref().map_err(|why| Error::NotRealized(why.clone()))
    }

    pub fn with_media(mut self, media: folders::upload::MediaServices) -> Self {
        self.media = Some(media);
        self
    }
}

/// The layers of `domain/` (docs/architecture.md, "The domain's layout"): a file may name only
/// modules of its own layer or below, and `analyses` and `collections` never name each other.
/// `mod.rs` (the composition root) is exempt. Calls of another subsystem's `impl Domain`
/// methods are not seen here; they follow the same rule.
#[cfg(test)]
mod layers {
    fn rank(module: &str) -> u8 {
        match module {
            "error" | "time" => 0,
            "model" => 1,
            "store" => 2,
            "identity" => 3,
            "folders" => 4,
            "analyses" | "collections" => 5,
            "meta" | "lite" | "system" => 6,
            other => panic!("domain/{other}: give it a layer here and in docs/architecture.md"),
        }
    }

    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_file_names_only_its_layer_and_below() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
        let mut all = Vec::new();
        files(&root, &mut all);
        let mut wrong = Vec::new();
        for path in all {
            let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            if rel == "mod.rs" {
                continue;
            }
            let own = rel.split(['/', '.']).next().unwrap().to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for used in line.split("crate::domain::").skip(1) {
                    let target: String = used.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    if target.is_empty() || target == own {
                        continue; // `Domain`, `Error`, `Result`, or its own subsystem
                    }
                    if rank(&target) >= rank(&own) {
                        wrong.push(format!("domain/{rel} uses domain::{target}: {}", line.trim()));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
    }
}
