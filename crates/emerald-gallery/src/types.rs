//! What goes in and out of the gallery: templates, queries, hits, filters and the configuration.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

/// Which embedding model produced a template. Templates of different models never meet:
/// a query only searches templates of its own model.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelId(Arc<str>);

impl ModelId {
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ModelId {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl fmt::Debug for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One face template to enrol. The vector need not be normalised; the gallery normalises it.
#[derive(Clone, Debug)]
pub struct Template<'a> {
    pub template_id: Uuid,
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub model_id: &'a str,
    pub vector: &'a [f32],
}

/// Restricts which persons may appear in the hits. The server evaluates metadata filters in SQL
/// and hands the result here; the gallery never sees metadata.
#[derive(Clone, Default)]
pub enum PersonFilter {
    #[default]
    Any,
    /// Only these persons. Scored directly from the person index (exact, whatever the size).
    Allow(Arc<HashSet<Uuid>>),
    /// Everyone but these persons.
    Deny(Arc<HashSet<Uuid>>),
    /// Any rule; called only for templates that would otherwise enter the results.
    Predicate(Arc<dyn Fn(Uuid) -> bool + Send + Sync>),
}

impl PersonFilter {
    pub fn allows(&self, person: Uuid) -> bool {
        match self {
            PersonFilter::Any => true,
            PersonFilter::Allow(set) => set.contains(&person),
            PersonFilter::Deny(set) => !set.contains(&person),
            PersonFilter::Predicate(f) => f(person),
        }
    }
}

impl fmt::Debug for PersonFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersonFilter::Any => f.write_str("Any"),
            PersonFilter::Allow(s) => write!(f, "Allow({} persons)", s.len()),
            PersonFilter::Deny(s) => write!(f, "Deny({} persons)", s.len()),
            PersonFilter::Predicate(_) => f.write_str("Predicate"),
        }
    }
}

/// How a search is carried out. `Auto` uses the HNSW index where a collection has one (at or
/// above `GalleryConfig::ann_threshold`) and the exact scan elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchMode {
    #[default]
    Auto,
    Exact,
    Ann,
}

/// What the HNSW search walk scores nodes with. Either way its candidates are re-scored with the
/// f32 query against the int8 codes before they are returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GraphWalk {
    /// One-bit codes of the rotated templates (64 bytes at 512-d, one cache line) against a
    /// four-bit query: a noisier estimate, but each step reads an eighth of the memory.
    #[default]
    Bits,
    /// The int8 codes (512 bytes at 512-d): the walk used to build the graph.
    Int8,
}

/// A 1:N search.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    pub vector: &'a [f32],
    pub model_id: &'a str,
    /// `None`: every collection that holds templates of `model_id`.
    pub collections: Option<Vec<Uuid>>,
    pub k: usize,
    /// Drop hits whose cosine is below this.
    pub min_score: Option<f32>,
    pub persons: PersonFilter,
    pub mode: SearchMode,
    /// Overrides `HnswParams::ef_search` for this query (recall against latency).
    pub ef_search: Option<usize>,
    /// Overrides `GalleryConfig::graph_walk` for this query.
    pub walk: Option<GraphWalk>,
}

impl<'a> Query<'a> {
    /// Top `k` over every collection of the model, no score floor, no person filter.
    pub fn new(vector: &'a [f32], model_id: &'a str, k: usize) -> Self {
        Self {
            vector,
            model_id,
            collections: None,
            k,
            min_score: None,
            persons: PersonFilter::Any,
            mode: SearchMode::Auto,
            ef_search: None,
            walk: None,
        }
    }
}

/// One search result; `score` is the cosine similarity (-1..=1) of the query and the template.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub template_id: Uuid,
    pub person_id: Uuid,
    pub collection_id: Uuid,
    pub score: f32,
}

/// HNSW parameters (Malkov & Yashunin 2016 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on the upper layers; layer 0 keeps `2·m`.
    pub m: usize,
    /// Candidate list length while inserting.
    pub ef_construction: usize,
    /// Candidate list length while searching (raised to `k + rerank` when that is larger).
    pub ef_search: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        // M=32 / ef_construction=200: on face-like probes (far from every stored template but
        // their own) M=16 lost recall as collections grew. ef_search 192: the one-bit walk's
        // coarser estimate needs about 1.5x the ef of the int8 walk for the same recall (0.998
        // at 1M at 192, as the int8 walk at 128); see docs/gallery.md.
        Self { m: 32, ef_construction: 200, ef_search: 192 }
    }
}

/// Gallery configuration; `Default` is the production setting for 512-d face templates.
#[derive(Clone, Debug)]
pub struct GalleryConfig {
    pub dim: usize,
    /// A collection gets an HNSW index when it reaches this many templates (exact scan below).
    pub ann_threshold: usize,
    pub hnsw: HnswParams,
    /// Templates per graph segment: a collection's graph is built and searched as segments of
    /// this many consecutive slots (see `segments.rs`).
    pub graph_segment: usize,
    /// What the HNSW search walk scores nodes with.
    pub graph_walk: GraphWalk,
    /// Extra candidates kept by the int8 pass and re-scored with the f32 query.
    pub rerank: usize,
    /// Threads one exact scan may use (1 = the caller's thread only).
    pub scan_threads: usize,
    /// An exact scan is split over threads only past this many templates.
    pub parallel_scan_min: usize,
}

impl Default for GalleryConfig {
    fn default() -> Self {
        Self {
            dim: 512,
            ann_threshold: 50_000,
            hnsw: HnswParams::default(),
            graph_segment: 262_144,
            graph_walk: GraphWalk::Bits,
            rerank: 32,
            scan_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            parallel_scan_min: 65_536,
        }
    }
}

/// One change for [`crate::Gallery::apply`]: the server replays these from its change feed.
#[derive(Clone, Debug)]
pub enum Change<'a> {
    Insert(Template<'a>),
    RemoveTemplate(Uuid),
    RemovePerson(Uuid),
    RemoveCollection(Uuid),
}

/// What [`crate::Gallery::apply`] did with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The batch was applied and the gallery is now at its version.
    Applied { version: u64 },
    /// The gallery was already at or past the batch's version; nothing changed.
    Stale { current: u64 },
}
