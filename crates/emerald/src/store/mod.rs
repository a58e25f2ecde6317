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
mod users;

pub use blob::ObjectBlobs;
pub use sql::{connect, SqlStore};
