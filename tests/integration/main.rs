//! Integration tests: the real application on a random port, against SQLite and
//! PostgreSQL, with mail received by a real SMTP server.

mod helpers;

mod admin;

mod candidates_api;
mod companies;
mod confirmation;
mod emails;
mod forwards;
mod isolation;
mod newsletter_crash;
mod newsletters;
mod pages;
mod portal;
mod repeat_signup;
mod retention;
mod schema;
mod secretariat;
mod self_service;
mod signup_api;
mod signup_batches;
mod signup_form;
