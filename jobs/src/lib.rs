//! Background jobs: their handlers and the workers that run them. Jobs are stored in the
//! application's own database by apalis (SQLite or PostgreSQL); the web app enqueues them
//! with `talentpool_core::queue::enqueue` inside its own transactions.

pub mod candidate_email;
pub mod company_email;
pub mod newsletter;
pub mod worker;

use talentpool_core::{config::Settings, mail::Mailer};

/// What every job handler may use.
#[derive(Clone)]
pub struct JobContext {
    pub db: sea_orm::DatabaseConnection,
    pub mailer: Mailer,
    pub settings: Settings,
    pub files: std::sync::Arc<dyn talentpool_core::storage::FileStore>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] talentpool_core::Error),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    #[error("job queue: {0}")]
    Queue(String),
}

pub use worker::{run_workers, setup_storage};
