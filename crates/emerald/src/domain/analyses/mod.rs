//! Analyses: requesting them (with a new folder in single request mode), running them on the
//! face engine and the document reader, deciding, webhooks, and Instant mode. Depends on
//! [`super::model`], [`super::store`], [`super::identity`] and [`super::folders`]; reaches the
//! collections only through the [`crate::domain::model`] search port.

pub mod documents;
pub mod evaluate;
pub mod instant;
pub mod service;
pub mod webhooks;
