//! The state every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use axum_csrf::CsrfConfig;
use sea_orm::DatabaseConnection;
use talentpool_core::{
    config::Settings, professions::Catalog, signup_writer::SignupWriter, storage::FileStore,
};

use crate::views::Views;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub catalog: Arc<Catalog>,
    pub files: Arc<dyn FileStore>,
    pub views: Views,
    pub csrf: CsrfConfig,
    pub login_limits: Arc<crate::http::admin::LoginLimits>,
    /// Open campaigns by slug, for the landing pages and sign-ups.
    pub campaigns: crate::campaign_cache::CampaignCache,
    /// Newsletters' sending rates, from their progress as it is read.
    pub send_rates: crate::send_rates::SendRates,
    /// Sign-ups are written in group commits through this.
    pub signup_writer: SignupWriter,
}

impl FromRef<AppState> for CsrfConfig {
    fn from_ref(state: &AppState) -> Self {
        state.csrf.clone()
    }
}
