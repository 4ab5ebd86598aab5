//! `/confirm/{token}`: the double opt-in link, and asking for a new one.

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde::Deserialize;
use talentpool_core::{
    candidates::{self, Confirmation},
    consents,
};

use super::error::Error;
use crate::http::csrf;
use crate::state::AppState;

pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let texts = consents::current_texts(&state.db, "en").await?;
    // Its own task: a client that hangs up cannot cut the transaction short.
    let (db, catalog) = (state.db.clone(), state.catalog.clone());
    let outcome =
        tokio::spawn(async move { candidates::confirm(&db, &token, &catalog, &texts).await })
            .await
            .map_err(|e| Error::Unexpected(anyhow::anyhow!("confirmation task: {e}")))??;
    let (status, ctx) = match outcome {
        Confirmation::Confirmed {
            applied_changes, ..
        } => (
            StatusCode::OK,
            context! { outcome => "confirmed", title => "Thank you!", applied_changes },
        ),
        Confirmation::AlreadyUsed => (
            StatusCode::GONE,
            context! { outcome => "used", title => "This link was used already",
            detail => "Each link works once. If you confirmed before, you are all set. Otherwise, ask for a new link below." },
        ),
        Confirmation::Expired => (
            StatusCode::GONE,
            context! { outcome => "expired", title => "This link has expired",
            detail => "For your security, links work only for a limited time. Ask for a new one below." },
        ),
        Confirmation::Unknown => (
            StatusCode::NOT_FOUND,
            context! { outcome => "unknown", title => "This link does not work",
            detail => "Check that you copied the whole link from the email, or ask for a new one below." },
        ),
    };
    let csrf_token = csrf::token(&csrf)?;
    let page = state
        .views
        .render("confirm.html", context! { csrf_token, ..ctx })?;
    Ok((status, csrf, page).into_response())
}

pub async fn resend_form(
    State(state): State<AppState>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let csrf_token = csrf::token(&csrf)?;
    let page = state.views.render(
        "confirm.html",
        context! { outcome => "ask", title => "Get a new confirmation link",
            detail => "Enter the email address you signed up with. If it is waiting for confirmation, we send it a new link.", csrf_token },
    )?;
    Ok((csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn resend(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Form(form): Form<ResendForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    candidates::resend_confirmation(&state.db, &form.email).await?;
    let page = state.views.render(
        "confirm.html",
        context! { outcome => "sent", title => "Check your email" },
    )?;
    Ok(page.into_response())
}
