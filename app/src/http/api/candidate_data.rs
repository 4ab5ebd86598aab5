//! The candidate's rights through the API: `GET /api/v1/candidates/{id}/export` (right
//! of access) and `DELETE /api/v1/candidates/{id}` (erasure). Both are audited.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;
use talentpool_core::{
    audit,
    privacy::{self, ErasureSource, Export},
};

use super::auth::ApiCaller;
use crate::{http::problem::Problem, state::AppState};

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "No such candidate")
}

/// Everything held about one candidate: profile, citizenships, campaigns, consents with
/// their texts, emails sent, and the companies the profile was shared with.
#[utoipa::path(
    get,
    path = "/api/v1/candidates/{id}/export",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Export),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "candidates"
)]
pub async fn export(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<Export>, Problem> {
    let export = privacy::export(&state.db, &state.catalog, id)
        .await?
        .ok_or_else(not_found)?;
    audit::record(
        &state.db,
        caller.actor(),
        "candidate.exported",
        "candidate",
        Some(id),
        Some(json!({ "by": "api" })),
    )
    .await?;
    Ok(Json(export))
}

/// Erases a candidate everywhere (right to be forgotten). Only anonymous counts stay.
#[utoipa::path(
    delete,
    path = "/api/v1/candidates/{id}",
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Erased"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "candidates"
)]
pub async fn erase(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, Problem> {
    let erased = privacy::erase(
        &state.db,
        state.files.as_ref(),
        id,
        caller.actor(),
        ErasureSource::Api,
    )
    .await?;
    if !erased {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
