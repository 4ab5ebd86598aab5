//! Forwarding from the back office: the selected rows of the pool page, or a whole
//! segment, to one or more companies.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use chrono::NaiveDate;
use minijinja::context;
use serde_json::json;
use talentpool_core::{
    companies,
    forwards::{self, Selection, SkipReason},
};

use super::{
    Staff,
    companies::{field, ids, pairs},
};
use crate::{http::csrf, http::error::Error, state::AppState, views};

fn reason_text(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::NotFound => "no such candidate",
        SkipReason::NotConfirmed => "has not confirmed the email address",
        SkipReason::NoConsentShare => "did not consent to being shared with companies",
        SkipReason::AlreadyForwarded => "already forwarded",
    }
}

/// The companies to offer in a forwarding form.
pub async fn company_options(state: &AppState) -> Result<Vec<serde_json::Value>, Error> {
    Ok(companies::list(&state.db, false)
        .await?
        .into_iter()
        .map(|c| json!({ "id": c.id, "name": c.name }))
        .collect())
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    body: String,
) -> Result<Response, Error> {
    let pairs = pairs(&body);
    csrf::verify(&csrf, &field(&pairs, "authenticity_token"))?;
    let company_ids = ids(&pairs, "company_ids");
    let selection = match field(&pairs, "segment_id").trim().parse::<i64>() {
        Ok(id) => Selection::Segment(id),
        Err(_) => Selection::Candidates(ids(&pairs, "candidate_ids")),
    };
    let expires_on = field(&pairs, "expires_on");
    let expires_at = match expires_on.trim() {
        "" => None,
        raw => Some(
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
                .ok_or_else(|| Error::BadRequest("The expiry date is not a date.".into()))?,
        ),
    };
    let result = forwards::forward(
        &state.db,
        &company_ids,
        selection,
        expires_at,
        staff.actor(),
    )
    .await?;
    let names: std::collections::HashMap<i64, String> = companies::list(&state.db, true)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let (status, outcome, errors) = match result {
        Ok(outcome) => {
            let skipped: Vec<_> = outcome
                .skipped
                .iter()
                .map(|s| {
                    json!({
                        "candidate_id": s.candidate_id,
                        "company": s.company_id.and_then(|c| names.get(&c).cloned()),
                        "reason": reason_text(s.reason),
                    })
                })
                .collect();
            (
                StatusCode::OK,
                Some(json!({ "forwarded": outcome.forwarded, "skipped": skipped })),
                Vec::new(),
            )
        }
        Err(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            errors
                .into_iter()
                .map(|(_, message)| message)
                .collect::<Vec<_>>(),
        ),
    };
    let page = state.views.render(
        "admin_forward_result.html",
        context! {
            staff_email => staff.0.email, csrf_token => csrf::token(&csrf)?,
            outcome => views::value(&outcome), errors => views::value(&errors),
        },
    )?;
    Ok((status, csrf, page).into_response())
}

pub async fn revoke_candidate(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path((candidate_id, company_id)): Path<(i64, i64)>,
    body: String,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &field(&pairs(&body), "authenticity_token"))?;
    if !forwards::revoke(&state.db, company_id, candidate_id, staff.actor()).await? {
        return Err(Error::NotFound);
    }
    Ok(Redirect::to(&format!("/admin/candidates/{candidate_id}")).into_response())
}

pub async fn revoke_forward(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(forward_id): Path<i64>,
    body: String,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &field(&pairs(&body), "authenticity_token"))?;
    let record = forwards::find_forward(&state.db, forward_id)
        .await?
        .ok_or(Error::NotFound)?;
    forwards::revoke_forward(&state.db, forward_id, staff.actor()).await?;
    Ok(Redirect::to(&format!("/admin/companies/{}", record.company_id)).into_response())
}
