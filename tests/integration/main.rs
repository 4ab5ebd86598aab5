//! Integration tests: the real application on a random port, against SQLite and
//! PostgreSQL, with mail received by a real SMTP server.

mod helpers;

mod admin;

mod candidates_api;
mod confirmation;
mod emails;
mod newsletter_crash;
mod newsletters;
mod pages;
mod repeat_signup;
mod retention;
mod signup_api;
mod signup_form;
