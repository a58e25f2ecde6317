//! One integration-test binary (one link): every test starts the real server and speaks HTTP.

mod helpers;

mod auth;
mod companies;
mod meta;
mod users;
mod wire;
