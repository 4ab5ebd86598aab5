//! Segments by API: create, list (with live counts), get, delete, and their candidates.

use axum::{
    Json,
    extract::{Path, RawQuery, State, rejection::JsonRejection},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use talentpool_core::{audit, pool, segments};
use utoipa::ToSchema;

use super::{
    auth::ApiCaller,
    candidates::{CandidatePage, filter_from_json, page_response, parse_query, validate},
};
use crate::{http::problem::Problem, state::AppState};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewSegment {
    pub name: String,
    /// The same keys as the candidate list's query parameters.
    #[serde(default)]
    #[schema(value_type = pool::Filter)]
    pub filter: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentView {
    pub id: i64,
    pub name: String,
    pub filter: pool::Filter,
    /// Candidates matching now.
    pub count: u64,
    pub created_at: DateTime<Utc>,
}

async fn view(state: &AppState, segment: segments::Segment) -> Result<SegmentView, Problem> {
    let filter = segments::filter_of(&segment)?;
    let valid = validate(state, &filter).await?;
    Ok(SegmentView {
        id: segment.id,
        name: segment.name,
        count: pool::count(&state.db, &valid).await?,
        filter,
        created_at: segment.created_at,
    })
}

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "No such segment")
}

/// Save a filter as a named segment.
#[utoipa::path(post, path = "/api/v1/segments", request_body = NewSegment,
    responses((status = 201, body = SegmentView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "segments")]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<NewSegment>, JsonRejection>,
) -> Result<(StatusCode, Json<SegmentView>), Problem> {
    let Json(new) = body?;
    let filter = filter_from_json(if new.filter.is_null() {
        json!({})
    } else {
        new.filter
    })?;
    validate(&state, &filter).await?;
    if new.name.trim().is_empty() || new.name.chars().count() > 200 {
        return Err(Problem::validation(vec![(
            "name".into(),
            "Give a name of 1 to 200 characters.".into(),
        )]));
    }
    let segment = segments::create(&state.db, &new.name, &filter, None).await?;
    audit::record(
        &state.db,
        caller.actor(),
        "segment.created",
        "segment",
        Some(segment.id),
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&state, segment).await?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentList {
    pub items: Vec<SegmentView>,
}

/// All segments with their live counts.
#[utoipa::path(get, path = "/api/v1/segments",
    responses((status = 200, body = SegmentList), (status = 401, body = Problem)),
    security(("bearer" = [])), tag = "segments")]
pub async fn list(
    State(state): State<AppState>,
    _caller: ApiCaller,
) -> Result<Json<SegmentList>, Problem> {
    let mut items = Vec::new();
    for segment in segments::list(&state.db).await? {
        items.push(view(&state, segment).await?);
    }
    Ok(Json(SegmentList { items }))
}

#[utoipa::path(get, path = "/api/v1/segments/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SegmentView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "segments")]
pub async fn get(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<SegmentView>, Problem> {
    let segment = segments::find(&state.db, id).await?.ok_or_else(not_found)?;
    Ok(Json(view(&state, segment).await?))
}

#[utoipa::path(delete, path = "/api/v1/segments/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "segments")]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, Problem> {
    if !segments::delete(&state.db, id).await? {
        return Err(not_found());
    }
    audit::record(
        &state.db,
        caller.actor(),
        "segment.deleted",
        "segment",
        Some(id),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The segment's candidates now, paginated like the candidate list.
#[utoipa::path(get, path = "/api/v1/segments/{id}/candidates",
    params(("id" = i64, Path), ("limit" = Option<u64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = CandidatePage), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "segments")]
pub async fn candidates(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Json<CandidatePage>, Problem> {
    let segment = segments::find(&state.db, id).await?.ok_or_else(not_found)?;
    let paging = parse_query(query.as_deref())?;
    if paging.filter != pool::Filter::default() {
        return Err(Problem::validation(vec![(
            "query".into(),
            "Only limit and cursor apply to a segment's candidates.".into(),
        )]));
    }
    let filter = validate(&state, &segments::filter_of(&segment)?).await?;
    Ok(Json(
        page_response(&state, &filter, paging.limit, paging.cursor.as_deref()).await?,
    ))
}
