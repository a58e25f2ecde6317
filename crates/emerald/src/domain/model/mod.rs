//! The plain layer every subsystem shares: objects, statuses and pure rules, and the ports
//! (traits) behind which engines sit. Nothing here reads the store or holds a [`super::Domain`]:
//! it may depend only on [`super::error`], [`super::time`] and other `model` modules.

pub mod account;
pub mod analysis;
pub mod audit;
pub mod blacklist;
pub mod caller;
pub mod collection;
pub mod face;
pub mod media;
pub mod metadata;
pub mod role;
pub mod upload;
