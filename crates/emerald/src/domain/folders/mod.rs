//! Folders and media: the upload pipeline (probe, blobs, rows), reading, downloading and
//! deleting, and who may see what. Depends on [`super::model`], [`super::store`] and
//! [`super::identity`]; never on analyses or collections.

pub mod service;
pub mod upload;
