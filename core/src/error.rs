//! The one error type of the core crate.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    #[error("mail: {0}")]
    Mail(String),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("storage: {0}")]
    Storage(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
