//! `GET /api/v1/candidates` (filtered, keyset-paginated) and `GET /api/v1/candidates/{id}`.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use talentpool_core::{
    audit, candidates, consents,
    entities::candidate,
    pool::{self, Filter, ValidFilter},
};
use utoipa::ToSchema;

use super::auth::ApiCaller;
use crate::{http::problem::Problem, state::AppState};

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateItem {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    /// ISCO-08 code.
    pub profession: String,
    pub eu_status: String,
    pub residence_country: String,
    pub confirmed: bool,
    pub years_experience: i16,
    pub english_level: String,
    pub norwegian_level: String,
    pub has_partner: bool,
    pub consent_share: bool,
    pub consent_newsletter: bool,
    pub created_at: DateTime<Utc>,
}

impl From<candidate::Model> for CandidateItem {
    fn from(c: candidate::Model) -> Self {
        Self {
            id: c.id,
            email: c.email,
            full_name: c.full_name,
            profession: c.profession_code,
            eu_status: c.eu_status,
            residence_country: c.residence_country,
            confirmed: c.confirmed_at.is_some(),
            years_experience: c.years_experience,
            english_level: c.english_level,
            norwegian_level: c.norwegian_level,
            has_partner: c.has_partner,
            consent_share: c.consent_share,
            consent_newsletter: c.consent_newsletter,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidatePage {
    pub items: Vec<CandidateItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many candidates match the filter in all; when `total_exact` is false, more
    /// than this many match: counting stops at 10,000 (at 1,000 with free text `q`).
    pub total: u64,
    /// False when more than `total` candidates match: the count stopped at its cap.
    pub total_exact: bool,
}

/// The query string: the filter's fields, plus `limit` and `cursor`.
pub struct ListQuery {
    pub filter: Filter,
    pub limit: u64,
    pub cursor: Option<String>,
}

/// Parses a query string strictly: unknown keys and bad values are 422 problems.
pub fn parse_query(raw: Option<&str>) -> Result<ListQuery, Problem> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| Problem::validation(vec![("query".into(), e.to_string())]))?;
    let mut object = serde_json::Map::new();
    let mut limit = pool::DEFAULT_LIMIT;
    let mut cursor = None;
    let mut errors = Vec::new();
    for (key, value) in pairs {
        let value = value.trim().to_owned();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "limit" => match value.parse::<u64>() {
                Ok(n) if (1..=pool::MAX_LIMIT).contains(&n) => limit = n,
                _ => errors.push((
                    "limit".into(),
                    format!("Use a number from 1 to {}.", pool::MAX_LIMIT),
                )),
            },
            "cursor" => cursor = Some(value),
            "has_partner" | "confirmed" | "consent_share" | "consent_newsletter" => {
                match value.as_str() {
                    "true" | "1" => {
                        object.insert(key, json!(true));
                    }
                    "false" | "0" => {
                        object.insert(key, json!(false));
                    }
                    _ => errors.push((key, "Use true or false.".into())),
                }
            }
            "min_experience" => match value.parse::<i16>() {
                Ok(n) => {
                    object.insert(key, json!(n));
                }
                Err(_) => errors.push((key, "Use a whole number of years.".into())),
            },
            _ => {
                object.insert(key, json!(value));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let filter = filter_from_json(serde_json::Value::Object(object))?;
    Ok(ListQuery {
        filter,
        limit,
        cursor,
    })
}

/// A filter from JSON (query or segment): unknown keys are refused.
pub fn filter_from_json(value: serde_json::Value) -> Result<Filter, Problem> {
    serde_path_to_error::deserialize::<_, Filter>(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." || field.is_empty() {
            "filter".to_owned()
        } else {
            field
        };
        Problem::validation(vec![(field, e.inner().to_string())])
    })
}

pub async fn validate(state: &AppState, filter: &Filter) -> Result<ValidFilter, Problem> {
    filter
        .validate(&state.db)
        .await
        .map_err(Problem::validation)
}

pub async fn page_response(
    state: &AppState,
    filter: &ValidFilter,
    limit: u64,
    cursor: Option<&str>,
) -> Result<CandidatePage, Problem> {
    let cursor = pool::parse_cursor(cursor).map_err(|_| {
        Problem::validation(vec![("cursor".into(), "The cursor is not valid.".into())])
    })?;
    let page = pool::page(&state.db, filter, cursor, limit).await?;
    let total = pool::total(&state.db, filter, filter.total_cap()).await?;
    Ok(CandidatePage {
        items: page.items.into_iter().map(CandidateItem::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.encode()),
        total: total.count,
        total_exact: total.exact,
    })
}

/// List candidates matching the filter, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/candidates",
    params(Filter, ("limit" = Option<u64>, Query, description = "1–500, default 50"), ("cursor" = Option<String>, Query, description = "from `next_cursor`")),
    responses(
        (status = 200, body = CandidatePage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "candidates"
)]
pub async fn list(
    State(state): State<AppState>,
    _caller: ApiCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<CandidatePage>, Problem> {
    let query = parse_query(query.as_deref())?;
    let filter = validate(&state, &query.filter).await?;
    Ok(Json(
        page_response(&state, &filter, query.limit, query.cursor.as_deref()).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentItem {
    pub kind: String,
    pub text_version: i64,
    pub granted_at: DateTime<Utc>,
    pub granted_source: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateDetail {
    #[serde(flatten)]
    pub candidate: CandidateItem,
    pub citizenship: Vec<String>,
    pub phone: Option<String>,
    pub linkedin_url: Option<String>,
    pub education_level: Option<String>,
    pub work_permit_norway: bool,
    pub partner_profession: Option<String>,
    pub has_cv: bool,
    pub consents: Vec<ConsentItem>,
}

/// One candidate's whole profile. Every read is recorded in the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/candidates/{id}",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = CandidateDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "candidates"
)]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<CandidateDetail>, Problem> {
    let candidate = candidates::find(&state.db, id)
        .await?
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "not-found", "No such candidate"))?;
    let citizenship = candidates::citizenships(&state.db, id).await?;
    let consents = consents::for_candidate(&state.db, id)
        .await?
        .into_iter()
        .map(|c| ConsentItem {
            kind: c.kind,
            text_version: c.consent_text_id,
            granted_at: c.granted_at,
            granted_source: c.granted_source,
            withdrawn_at: c.withdrawn_at,
        })
        .collect();
    audit::record(
        &state.db,
        caller.actor(),
        "candidate.viewed",
        "candidate",
        Some(id),
        None,
    )
    .await?;
    Ok(Json(CandidateDetail {
        phone: candidate.phone.clone(),
        linkedin_url: candidate.linkedin_url.clone(),
        education_level: candidate.education_level.clone(),
        work_permit_norway: candidate.work_permit_norway,
        partner_profession: candidate.partner_profession.clone(),
        has_cv: candidate.cv_key.is_some(),
        citizenship,
        consents,
        candidate: candidate.into(),
    }))
}
