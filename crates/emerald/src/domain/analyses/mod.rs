//! Analyses (spec §8, §10, §11): requesting them (with a new folder in single request mode),
//! evaluating media on the face engine and the document reader, deciding, webhooks, and
//! Instant mode. May use [`super::model`], [`super::store`], [`super::identity`] and
//! [`super::folders`]; never [`super::collections`]: COLLECTION analyses search through the
//! [`super::model::blacklist::Blacklist`] port.

pub mod documents;
pub mod evaluate;
pub mod instant;
pub mod service;
pub mod single_request;
pub mod webhooks;
