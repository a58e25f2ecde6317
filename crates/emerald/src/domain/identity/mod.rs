//! Identity: companies, users, sign-in (tokens, sessions, passwords) and the abuse controls
//! (login throttling, quotas, the auth audit). Depends on [`super::model`] and [`super::store`]
//! only; every other subsystem may use it.

pub mod abuse;
pub mod auth;
pub mod companies;
pub mod users;
