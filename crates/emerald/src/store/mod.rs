//! Persistence: [`SqlStore`] implements the domain's store traits on SQLite (embedded default)
//! and PostgreSQL (scale-out). One source for both: each query is written once with `$N`
//! placeholders and compiled against each backend's pool by the [`on_db!`] macro; where the
//! dialects differ, the difference is spelled out next to the query.

#[macro_use]
mod sql;
mod analyses;
mod blob;
mod collections;
mod companies;
mod folders;
mod guard;
mod jobs;
mod meta;
pub mod seed;
mod sessions;
mod statistics;
mod users;

pub use blob::ObjectBlobs;

/// What each list endpoint accepts (the tables its parser reads), for the OpenAPI document.
pub(crate) mod lists {
    pub(crate) use super::analyses::{ANALYSIS_LIST as ANALYSES, STATE_VALUES as ANALYSIS_STATE_FILTER};
    pub(crate) use super::collections::{COLLECTION_LIST as COLLECTIONS, PERSON_LIST as PERSONS};
    pub(crate) use super::companies::LIST as COMPANIES;
    pub(crate) use super::folders::{FOLDER_LIST as FOLDERS, FOLDER_RESULTS, FOLDER_STATUSES, MEDIA_LIST as MEDIA};
    pub(crate) use super::guard::LIST as AUTH_EVENTS;
    pub(crate) use super::users::LIST as USERS;
}
pub use sql::{connect, SqlStore};
