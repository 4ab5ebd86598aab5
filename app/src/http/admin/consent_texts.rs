//! Consent texts in the back office: every published version with how many candidates
//! hold it, publishing a new version, and emailing the holders of older versions a link
//! to accept the new one.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use talentpool_core::{
    audit,
    consents::{self, Kind},
};

use super::Staff;
use crate::{
    http::{csrf, error::Error},
    state::AppState,
    views,
};

#[derive(Deserialize)]
pub struct Notice {
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    queued: Option<u64>,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    csrf: CsrfToken,
    notice: Option<String>,
    error: Option<&str>,
    draft: (&str, &str),
) -> Result<Response, Error> {
    let versions = consents::holders_by_version(&state.db, "en").await?;
    let kinds: Vec<_> = Kind::ALL
        .iter()
        .map(|kind| {
            let of_kind: Vec<_> = versions
                .iter()
                .filter(|v| v.text.kind == kind.as_str())
                .map(|v| {
                    json!({
                        "version": v.text.version, "body": v.text.body, "holders": v.holders,
                        "current": v.current,
                        "published": v.text.published_at.format("%Y-%m-%d").to_string(),
                    })
                })
                .collect();
            let older: i64 = versions
                .iter()
                .filter(|v| v.text.kind == kind.as_str() && !v.current)
                .map(|v| v.holders)
                .sum();
            json!({ "kind": kind.as_str(), "versions": of_kind, "older_holders": older })
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = state.views.render(
        "admin_consents.html",
        context! {
            staff_email => &staff.0.email, csrf_token => csrf::token(&csrf)?,
            kinds => views::value(&kinds), notice, error,
            draft_kind => draft.0, draft_body => draft.1,
        },
    )?;
    Ok((status, csrf, page).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Query(notice): Query<Notice>,
) -> Result<Response, Error> {
    let notice = match (notice.published, notice.queued) {
        (Some(kind), _) => Some(format!(
            "A new version of the {kind} consent text is published."
        )),
        (_, Some(n)) => Some(format!(
            "{n} candidates will get an email asking them to accept the new text."
        )),
        _ => None,
    };
    render(&state, &staff, csrf, notice, None, ("", "")).await
}

#[derive(Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Form(form): Form<PublishForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let Some(kind) = Kind::parse(&form.kind) else {
        return render(
            &state,
            &staff,
            csrf,
            None,
            Some("Choose which consent the text is for."),
            (&form.kind, &form.body),
        )
        .await;
    };
    let length = form.body.trim().chars().count();
    if length == 0 || length > consents::MAX_TEXT_CHARS {
        let message = format!(
            "Write the new text (at most {} characters).",
            consents::MAX_TEXT_CHARS
        );
        return render(
            &state,
            &staff,
            csrf,
            None,
            Some(&message),
            (&form.kind, &form.body),
        )
        .await;
    }
    let text = consents::publish(&state.db, kind, "en", &form.body).await?;
    audit::record(
        &state.db,
        staff.actor(),
        "consent_text.published",
        "consent_text",
        Some(text.id),
        Some(json!({ "kind": kind.as_str(), "version": text.version })),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/consents?published={}", kind.as_str())).into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    authenticity_token: String,
}

pub async fn notify(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(kind): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let kind = Kind::parse(&kind).ok_or(Error::NotFound)?;
    let texts = consents::current_texts(&state.db, "en").await?;
    let queued = consents::email_older_holders(&state.db, kind, texts.get(kind)).await?;
    audit::record(
        &state.db,
        staff.actor(),
        "consent_text.holders_emailed",
        "consent_text",
        Some(texts.get(kind).id),
        Some(json!({ "kind": kind.as_str(), "candidates": queued })),
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/consents?queued={queued}")).into_response())
}
