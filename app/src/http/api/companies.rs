//! Participating companies by API: create, list, get, update (and archive).

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talentpool_core::{
    audit,
    companies::{self, Company, CompanyInput},
    company_users,
};
use utoipa::ToSchema;

use super::auth::ApiCaller;
use crate::{http::problem::Problem, state::AppState};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CompanyBody {
    pub name: String,
    /// Norwegian organisation number: 9 digits, the last a modulus-11 check digit.
    pub org_number: String,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
    /// Ids of the campaigns the company takes part in.
    #[serde(default)]
    pub campaign_ids: Vec<i64>,
    /// Updates only: archive (`true`) or restore (`false`) the company.
    #[serde(default)]
    pub archived: Option<bool>,
}

impl CompanyBody {
    fn input(&self) -> CompanyInput {
        CompanyInput {
            name: self.name.clone(),
            org_number: self.org_number.clone(),
            website: self.website.clone(),
            contact_name: self.contact_name.clone(),
            contact_email: self.contact_email.clone(),
            campaign_ids: self.campaign_ids.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyView {
    pub id: i64,
    pub name: String,
    pub org_number: String,
    pub website: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub campaign_ids: Vec<i64>,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
}

async fn view(state: &AppState, company: Company) -> Result<CompanyView, Problem> {
    Ok(CompanyView {
        campaign_ids: companies::campaign_ids(&state.db, company.id).await?,
        id: company.id,
        name: company.name,
        org_number: company.org_number,
        website: company.website,
        contact_name: company.contact_name,
        contact_email: company.contact_email,
        archived: company.archived_at.is_some(),
        created_at: company.created_at,
    })
}

pub fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "No such company")
}

/// Register a participating company.
#[utoipa::path(post, path = "/api/v1/companies", request_body = CompanyBody,
    responses((status = 201, body = CompanyView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "companies")]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<CompanyBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CompanyView>), Problem> {
    let Json(body) = body?;
    let valid = body.input().validate().map_err(Problem::validation)?;
    let company = companies::create(&state.db, &valid)
        .await?
        .map_err(Problem::validation)?;
    if body.archived == Some(true) {
        companies::set_archived(&state.db, company.id, true).await?;
    }
    audit::record(
        &state.db,
        caller.actor(),
        "company.created",
        "company",
        Some(company.id),
        None,
    )
    .await?;
    let company = companies::find(&state.db, company.id)
        .await?
        .ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(view(&state, company).await?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyList {
    pub items: Vec<CompanyView>,
}

/// All companies by name, archived ones included.
#[utoipa::path(get, path = "/api/v1/companies",
    responses((status = 200, body = CompanyList), (status = 401, body = Problem)),
    security(("bearer" = [])), tag = "companies")]
pub async fn list(
    State(state): State<AppState>,
    _caller: ApiCaller,
) -> Result<Json<CompanyList>, Problem> {
    let mut items = Vec::new();
    for company in companies::list(&state.db, true).await? {
        items.push(view(&state, company).await?);
    }
    Ok(Json(CompanyList { items }))
}

#[utoipa::path(get, path = "/api/v1/companies/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = CompanyView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "companies")]
pub async fn get(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<CompanyView>, Problem> {
    let company = companies::find(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(view(&state, company).await?))
}

/// Replace a company's details (and optionally archive or restore it).
#[utoipa::path(put, path = "/api/v1/companies/{id}", params(("id" = i64, Path)), request_body = CompanyBody,
    responses((status = 200, body = CompanyView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "companies")]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<CompanyBody>, JsonRejection>,
) -> Result<Json<CompanyView>, Problem> {
    let Json(body) = body?;
    if companies::find(&state.db, id).await?.is_none() {
        return Err(not_found());
    }
    let valid = body.input().validate().map_err(Problem::validation)?;
    companies::update(&state.db, id, &valid)
        .await?
        .ok_or_else(not_found)?
        .map_err(Problem::validation)?;
    if let Some(archived) = body.archived {
        companies::set_archived(&state.db, id, archived).await?;
    }
    audit::record(
        &state.db,
        caller.actor(),
        "company.updated",
        "company",
        Some(id),
        None,
    )
    .await?;
    let company = companies::find(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(view(&state, company).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCompanyUser {
    pub email: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyUserView {
    pub id: i64,
    pub company_id: i64,
    pub email: String,
    pub name: String,
    /// `invited` until the password is set, then `active`; `disabled` when disabled.
    pub status: String,
}

impl From<company_users::CompanyUser> for CompanyUserView {
    fn from(user: company_users::CompanyUser) -> Self {
        let status = if user.disabled_at.is_some() {
            "disabled"
        } else if user.password_hash.is_some() {
            "active"
        } else {
            "invited"
        };
        Self {
            id: user.id,
            company_id: user.company_id,
            email: user.email,
            name: user.name,
            status: status.to_owned(),
        }
    }
}

/// Invite a recruiter: the address gets a single-use link to set a password. Inviting
/// a pending address again sends a new link.
#[utoipa::path(post, path = "/api/v1/companies/{id}/users", params(("id" = i64, Path)), request_body = NewCompanyUser,
    responses((status = 201, body = CompanyUserView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "companies")]
pub async fn invite_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<NewCompanyUser>, JsonRejection>,
) -> Result<(StatusCode, Json<CompanyUserView>), Problem> {
    let Json(body) = body?;
    let user = company_users::invite(&state.db, id, &body.email, &body.name, caller.actor())
        .await?
        .ok_or_else(not_found)?
        .map_err(Problem::validation)?;
    Ok((StatusCode::CREATED, Json(user.into())))
}
