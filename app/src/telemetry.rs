//! Logging: human-readable in development, JSON in production; `RUST_LOG` filters.

use talentpool_core::config::Settings;
use tracing_subscriber::{EnvFilter, fmt};

pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,apalis=warn"));
    let result = if settings.is_development() {
        fmt().with_env_filter(filter).try_init()
    } else {
        fmt().json().with_env_filter(filter).try_init()
    };
    // Already initialised (tests start several apps in one process): keep the first.
    let _ = result;
}
