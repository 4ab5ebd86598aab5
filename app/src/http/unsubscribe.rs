//! One-click unsubscribe (RFC 8058). The signed token in the link is the authority, so
//! there is no login and no CSRF token: `POST /u/{token}` with the body
//! `List-Unsubscribe=One-Click` (what mail clients send) unsubscribes and answers
//! without a page; `GET /u/{token}` shows a page whose button posts the same form.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use minijinja::context;
use serde::Deserialize;
use talentpool_core::newsletters::{self, UnsubscribeToken, Unsubscribed};

use super::error::Error;
use crate::state::AppState;

fn verify(state: &AppState, token: &str) -> Result<UnsubscribeToken, Error> {
    UnsubscribeToken::verify(token, &state.settings.secret_key).ok_or(Error::NotFound)
}

pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    verify(&state, &token)?;
    Ok(state
        .views
        .render("unsubscribe.html", context! { token, done => false })?
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct UnsubscribeForm {
    #[serde(rename = "List-Unsubscribe", default)]
    list_unsubscribe: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let parsed = verify(&state, &token)?;
    // Whatever the body, the signed token decides; the body tells a mail client's
    // one-click post from the page's button.
    let form: UnsubscribeForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let from_page = form.page.is_some();
    let source = if form.list_unsubscribe.as_deref() == Some("One-Click") && !from_page {
        "one-click"
    } else {
        "unsubscribe-page"
    };
    match newsletters::unsubscribe(&state.db, parsed, source, Utc::now()).await? {
        Unsubscribed::Done | Unsubscribed::Unknown => {}
    }
    if from_page {
        Ok(state
            .views
            .render("unsubscribe.html", context! { token, done => true })?
            .into_response())
    } else {
        Ok((StatusCode::OK, "Unsubscribed.").into_response())
    }
}
