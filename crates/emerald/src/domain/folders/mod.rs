//! Folders and media (spec §6): the one upload pipeline (probe, blobs, rows) that collection
//! photos share, reading, downloading and deleting, and who may see which folder. May use
//! [`super::model`], [`super::store`] and [`super::identity`]; analyses and collections build
//! on it, never the other way round.

pub mod claims;
pub mod service;
pub mod statistics;
pub mod upload;
