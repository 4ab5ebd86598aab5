//! Small pages: the front page, the privacy notice, the stylesheet, health checks and
//! the page for unknown addresses.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use minijinja::context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use talentpool_core::{campaigns, entities::campaign};

use super::error::Error;
use crate::{
    state::AppState,
    views::{CAMPAIGN_PREVIEW_JS, STYLESHEET},
};

pub async fn home(State(state): State<AppState>) -> Result<Response, Error> {
    let now = Utc::now();
    let open: Vec<_> = campaign::Entity::find()
        .filter(campaign::Column::Status.eq("open"))
        .order_by_desc(campaign::Column::CreatedAt)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|c| campaigns::availability(c, now) == campaigns::Availability::Open)
        .map(|c| context! { slug => c.slug, title => c.title, summary => c.summary })
        .collect();
    Ok(state
        .views
        .render("home.html", context! { campaigns => open })?
        .into_response())
}

pub async fn privacy(State(state): State<AppState>) -> Result<Response, Error> {
    let settings = &state.settings;
    Ok(state
        .views
        .render(
            "privacy.html",
            context! {
                controller_name => settings.controller_name.clone(),
                controller_email => settings.controller_email.clone(),
                unconfirmed_days => settings.unconfirmed_retention_days,
            },
        )?
        .into_response())
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        source,
    )
        .into_response()
}

/// The back office's live Markdown preview (pages work without it).
pub async fn campaign_preview_script() -> Response {
    script(CAMPAIGN_PREVIEW_JS)
}

/// The script that refreshes a newsletter's progress (served from here: the CSP allows
/// scripts from this origin only).
pub async fn newsletter_script() -> Response {
    script(crate::views::NEWSLETTER_SCRIPT)
}

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

pub async fn not_found() -> Error {
    Error::NotFound
}
