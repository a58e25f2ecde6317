//! One integration-test binary (one link): every test starts the real server and speaks HTTP.

mod helpers;

mod abuse;
mod analyses;
mod auth;
mod cli;
mod collections;
mod companies;
mod console;
mod documents;
mod folders;
mod lite;
mod media;
mod meta;
mod ops;
mod reports;
mod s3;
mod statistics;
mod users;
mod videos;
mod wire;
