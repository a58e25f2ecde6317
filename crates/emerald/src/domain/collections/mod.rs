//! Collections: collections, persons and their photos, the in-memory 1:N gallery, the search
//! COLLECTION analyses use, and re-extraction of templates. Depends on [`super::model`],
//! [`super::store`], [`super::identity`] and [`super::folders`] (stored photos); never on
//! analyses.

pub mod blacklist;
pub mod gallery;
pub mod persons;
pub mod reindex;
pub mod service;
