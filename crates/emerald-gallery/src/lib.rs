//! 1:N face search over millions of templates on one node.
//!
//! # Model
//! Templates live in per-(model, collection) *shards*. A template is normalised and stored once,
//! as an int8 code with a per-vector scale (516 bytes for 512-d); no f32 copy is kept, which is
//! what keeps a million templates under 1.2 GB with the graph. A search:
//! 1. picks the shards of its model (and its collections, if named);
//! 2. finds candidates per shard: an exact int8 × int8 SIMD scan (split over `scan_threads`; it
//!    reads a 4-bit plane of the codes first and a full code only where a bound says it could
//!    rank, `coarse.rs`),
//!    or the HNSW graph when the shard has reached `ann_threshold`, or, for a person allow-list,
//!    the listed persons' templates directly;
//! 3. re-scores the best `k + rerank` candidates with the f32 query against the int8 codes (no
//!    query quantisation error), applies `min_score`, and returns the top `k` as cosine scores.
//!
//! Insert and remove are visible to the next search. Removal zeroes the code at once; in a shard
//! with a graph the slot stays as a routing tombstone until half the shard is dead, then the
//! shard rebuilds. The SQL store stays the source of truth: the server fills the gallery with
//! [`Gallery::insert_batch`] or [`Gallery::load_snapshot`], then replays its change feed through
//! [`Gallery::apply`], whose monotonically increasing version makes replays idempotent.
//!
//! ```
//! use emerald_gallery::{Gallery, GalleryConfig, Query, Template};
//! use uuid::Uuid;
//! let g = Gallery::new(GalleryConfig { dim: 4, ..GalleryConfig::default() });
//! let (t, p, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
//! g.insert(Template { template_id: t, person_id: p, collection_id: c, model_id: "m1",
//!                     vector: &[0.1, 0.2, 0.3, 0.4] }).unwrap();
//! let hits = g.search(&Query::new(&[0.1, 0.2, 0.3, 0.4], "m1", 5)).unwrap();
//! assert_eq!(hits[0].template_id, t);
//! assert!((hits[0].score - 1.0).abs() < 1e-2);
//! ```
//!
//! No HTTP, no SQL, no models here; errors are [`GalleryError`]. See docs/gallery.md.

mod bits;
mod coarse;
mod codes;
mod error;
mod gallery;
mod hnsw;
mod mem;
mod quant;
mod segments;
mod shard;
pub mod simd;
mod snapshot;
mod types;

pub use error::GalleryError;
pub use gallery::{Gallery, GalleryStats};
pub use types::{
    Applied, Change, GalleryConfig, GraphWalk, Hit, HnswParams, ModelId, PersonFilter, Query, SearchMode, Template,
};
