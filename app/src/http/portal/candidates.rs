//! The company's forwarded candidates.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;

use super::Recruiter;
use crate::{
    http::{csrf, error::Error},
    state::AppState,
};

pub async fn list(
    State(state): State<AppState>,
    recruiter: Recruiter,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let page = state.views.render(
        "portal_candidates.html",
        context! {
            csrf_token => csrf::token(&csrf)?, company_name => &recruiter.company.name,
            user_email => &recruiter.user.email,
        },
    )?;
    Ok((csrf, page).into_response())
}
