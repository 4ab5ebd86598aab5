//! What the web app and the background workers share: configuration, the database
//! connection and entities, domain types, reference data, tokens, file storage and mail.

pub mod api_tokens;
pub mod audit;
pub mod campaigns;
pub mod candidates;
pub mod companies;
pub mod company_users;
pub mod config;
pub mod consents;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod forwards;
pub mod mail;
pub mod markdown;
pub mod newsletters;
pub mod pool;
pub mod portal;
pub mod privacy;
pub mod professions;
pub mod queue;
pub mod retention;
pub mod seed;
pub mod segments;
pub mod signup_writer;
pub mod sql;
pub mod staff;
pub mod storage;
pub mod tokens;

pub use error::{Error, Result};
