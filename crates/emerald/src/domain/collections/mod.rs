//! Collections (spec §12): collections, persons and their photos, the in-memory 1:N gallery,
//! the search COLLECTION analyses use ([`blacklist::GalleryBlacklist`]), and re-extraction of
//! templates. May use [`super::model`], [`super::store`], [`super::identity`] and
//! [`super::folders`] (the upload pipeline, stored files); never [`super::analyses`].

pub mod blacklist;
pub mod gallery;
pub mod persons;
pub mod reindex;
pub mod service;
