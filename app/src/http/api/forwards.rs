//! `POST /api/v1/forwards`: forward candidates (by id or a whole segment) to companies.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talentpool_core::forwards::{self, Selection, Skipped};
use utoipa::ToSchema;

use super::auth::ApiCaller;
use crate::{http::problem::Problem, state::AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    pub company_ids: Vec<i64>,
    /// The candidates to forward; or give `segment_id` instead.
    #[serde(default)]
    pub candidate_ids: Option<Vec<i64>>,
    /// Forward the segment's members at this moment; or give `candidate_ids` instead.
    #[serde(default)]
    pub segment_id: Option<i64>,
    /// When the companies stop seeing these candidates (optional).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForwardResult {
    /// New (company, candidate) pairs.
    pub forwarded: u64,
    /// Candidates not forwarded, each with the reason (and the company when the reason
    /// concerns one company: `already_forwarded`).
    pub skipped: Vec<Skipped>,
    /// The forward records made, one per company that received someone.
    pub forward_ids: Vec<i64>,
}

/// Forward candidates to companies. Only confirmed candidates who consented to sharing
/// are forwarded; forwarding again changes nothing. Each company's users get one digest
/// email per request.
#[utoipa::path(post, path = "/api/v1/forwards", request_body = ForwardRequest,
    responses((status = 200, body = ForwardResult), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "forwards")]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<ForwardRequest>, JsonRejection>,
) -> Result<Json<ForwardResult>, Problem> {
    let Json(body) = body?;
    let selection = match (body.candidate_ids, body.segment_id) {
        (Some(ids), None) => Selection::Candidates(ids),
        (None, Some(id)) => Selection::Segment(id),
        _ => {
            return Err(Problem::validation(vec![
                (
                    "candidate_ids".into(),
                    "Give either candidate_ids or segment_id.".into(),
                ),
                (
                    "segment_id".into(),
                    "Give either candidate_ids or segment_id.".into(),
                ),
            ]));
        }
    };
    let outcome = forwards::forward(
        &state.db,
        &body.company_ids,
        selection,
        body.expires_at,
        caller.actor(),
    )
    .await?
    .map_err(Problem::validation)?;
    Ok(Json(ForwardResult {
        forwarded: outcome.forwarded,
        skipped: outcome.skipped,
        forward_ids: outcome.forward_ids,
    }))
}

/// Revoke a forward record: its candidates leave the company's portal.
#[utoipa::path(delete, path = "/api/v1/forwards/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "forwards")]
pub async fn revoke(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, Problem> {
    if forwards::revoke_forward(&state.db, id, caller.actor()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such forward in force",
        ))
    }
}
