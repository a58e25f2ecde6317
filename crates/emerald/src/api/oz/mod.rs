//! Every Oz wire convention in one place: JSON rendering, the error envelope, body and query
//! extraction, token headers, ids, and the trailing-slash / request-id / metrics layers.

pub mod analysis_request;
pub mod base_url;
pub mod body;
pub mod caller;
pub mod client;
pub mod error;
pub mod ids;
pub mod json;
pub mod layers;
pub mod multipart;
pub mod query;
