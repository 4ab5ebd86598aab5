//! A candidate's rights exercised by the secretariat on their behalf: the data export
//! (right of access) and erasure (right to be forgotten). Both are audited.

use axum::{
    Form, Json,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use serde::Deserialize;
use serde_json::json;
use talentpool_core::{
    audit,
    privacy::{self, ErasureSource},
};

use super::Staff;
use crate::{
    http::{csrf, error::Error},
    state::AppState,
};

pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let export = privacy::export(&state.db, &state.catalog, id)
        .await?
        .ok_or(Error::NotFound)?;
    audit::record(
        &state.db,
        staff.actor(),
        "candidate.exported",
        "candidate",
        Some(id),
        Some(json!({ "by": "staff" })),
    )
    .await?;
    let disposition = format!("attachment; filename=\"candidate-{id}.json\"");
    Ok((
        [
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(export),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn erase(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<EraseForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    if form.confirm != "yes" {
        return Err(Error::BadRequest(
            "Tick the box to confirm the erasure.".into(),
        ));
    }
    if !privacy::erase(
        &state.db,
        state.files.as_ref(),
        id,
        staff.actor(),
        ErasureSource::Staff,
    )
    .await?
    {
        return Err(Error::NotFound);
    }
    Ok(Redirect::to("/admin?erased=1").into_response())
}
