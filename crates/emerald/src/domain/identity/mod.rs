//! Identity (spec §2, §7): companies, users, credentials, sign-in (tokens and sessions) and the
//! abuse controls (login throttling, quotas, the auth audit; docs/abuse.md). May use
//! [`super::model`] and [`super::store`] only; every other subsystem may use it.

pub mod abuse;
pub mod auth;
pub mod companies;
pub mod credentials;
pub mod users;
