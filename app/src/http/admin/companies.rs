//! Participating companies in the back office: list, create, edit, archive, and each
//! company's page (its recruiters, invitations, forwarded candidates and funnel).

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde_json::json;
use talentpool_core::{
    audit, campaigns,
    companies::{self, CompanyInput},
    company_users, forwards,
};

use super::Staff;
use crate::http::csrf;
use crate::views;
use crate::{http::error::Error, state::AppState};

/// A urlencoded form body as name/value pairs (repeated names kept).
pub fn pairs(body: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(body).unwrap_or_default()
}

/// The first value of `name`.
pub fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every value of `name` that is a number.
pub fn ids(pairs: &[(String, String)], name: &str) -> Vec<i64> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect()
}

fn input_from(pairs: &[(String, String)]) -> CompanyInput {
    let opt = |name: &str| Some(field(pairs, name)).filter(|v| !v.trim().is_empty());
    CompanyInput {
        name: field(pairs, "name"),
        org_number: field(pairs, "org_number"),
        website: opt("website"),
        contact_name: opt("contact_name"),
        contact_email: opt("contact_email"),
        campaign_ids: ids(pairs, "campaign_ids"),
    }
}

fn stage_label(stage: &str) -> &'static str {
    match stage {
        "forwarded" => "Forwarded",
        other => forwards::status_label(other),
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let rows: Vec<_> = companies::list(&state.db, true)
        .await?
        .into_iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "org_number": c.org_number, "archived": c.archived_at.is_some() }))
        .collect();
    let page = state.views.render(
        "admin_companies.html",
        context! { staff_email => staff.0.email, csrf_token => csrf::token(&csrf)?, companies => views::value(&rows) },
    )?;
    Ok((csrf, page).into_response())
}

async fn render_form(
    state: &AppState,
    staff: &Staff,
    csrf: &CsrfToken,
    id: Option<i64>,
    form: &CompanyInput,
    errors: &[(String, String)],
) -> Result<Html<String>, Error> {
    let error_map: serde_json::Map<String, serde_json::Value> =
        errors.iter().map(|(f, m)| (f.clone(), json!(m))).collect();
    let all_campaigns: Vec<_> = campaigns::list(&state.db)
        .await?
        .into_iter()
        .map(|c| json!({ "id": c.id, "title": c.title, "checked": form.campaign_ids.contains(&c.id) }))
        .collect();
    Ok(state.views.render(
        "admin_company_form.html",
        context! {
            staff_email => &staff.0.email, csrf_token => csrf::token(csrf)?, id,
            form => views::value(form), errors => views::value(&error_map),
            error_list => views::value(&errors.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>()),
            campaigns => views::value(&all_campaigns),
        },
    )?)
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let page = render_form(&state, &staff, &csrf, None, &CompanyInput::default(), &[]).await?;
    Ok((csrf, page).into_response())
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let company = companies::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let form = CompanyInput::from_model(&company, companies::campaign_ids(&state.db, id).await?);
    let page = render_form(&state, &staff, &csrf, Some(id), &form, &[]).await?;
    Ok((csrf, page).into_response())
}

async fn invalid(
    state: &AppState,
    staff: &Staff,
    csrf: CsrfToken,
    id: Option<i64>,
    form: &CompanyInput,
    errors: &[(String, String)],
) -> Result<Response, Error> {
    let page = render_form(state, staff, &csrf, id, form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response())
}

async fn save(
    state: AppState,
    staff: Staff,
    csrf: CsrfToken,
    id: Option<i64>,
    body: String,
) -> Result<Response, Error> {
    let pairs = pairs(&body);
    csrf::verify(&csrf, &field(&pairs, "authenticity_token"))?;
    if let Some(id) = id {
        companies::find(&state.db, id)
            .await?
            .ok_or(Error::NotFound)?;
    }
    let form = input_from(&pairs);
    let valid = match form.validate() {
        Ok(valid) => valid,
        Err(errors) => return invalid(&state, &staff, csrf, id, &form, &errors).await,
    };
    let saved = match id {
        Some(id) => companies::update(&state.db, id, &valid)
            .await?
            .ok_or(Error::NotFound)?,
        None => companies::create(&state.db, &valid).await?,
    };
    let company = match saved {
        Ok(company) => company,
        Err(errors) => return invalid(&state, &staff, csrf, id, &form, &errors).await,
    };
    let action = if id.is_some() {
        "company.updated"
    } else {
        "company.created"
    };
    audit::record(
        &state.db,
        staff.actor(),
        action,
        "company",
        Some(company.id),
        None,
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/companies/{}", company.id)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    body: String,
) -> Result<Response, Error> {
    save(state, staff, csrf, None, body).await
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    body: String,
) -> Result<Response, Error> {
    save(state, staff, csrf, Some(id), body).await
}

pub async fn archive(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    body: String,
) -> Result<Response, Error> {
    let pairs = pairs(&body);
    csrf::verify(&csrf, &field(&pairs, "authenticity_token"))?;
    let archived = field(&pairs, "archived") == "true";
    if !companies::set_archived(&state.db, id, archived).await? {
        return Err(Error::NotFound);
    }
    let action = if archived {
        "company.archived"
    } else {
        "company.restored"
    };
    audit::record(&state.db, staff.actor(), action, "company", Some(id), None).await?;
    Ok(Redirect::to(&format!("/admin/companies/{id}")).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Error> {
    let page = company_page(
        &state,
        &staff,
        &csrf,
        id,
        &serde_json::Map::new(),
        &json!({}),
        query.invited.is_some(),
    )
    .await?;
    Ok((csrf, page).into_response())
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    invited: Option<String>,
}

pub async fn invite(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    body: String,
) -> Result<Response, Error> {
    let pairs = pairs(&body);
    csrf::verify(&csrf, &field(&pairs, "authenticity_token"))?;
    let (email, name) = (field(&pairs, "email"), field(&pairs, "name"));
    match company_users::invite(&state.db, id, &email, &name, staff.actor())
        .await?
        .ok_or(Error::NotFound)?
    {
        Ok(_) => Ok(Redirect::to(&format!("/admin/companies/{id}?invited=1")).into_response()),
        Err(errors) => {
            let errors: serde_json::Map<String, serde_json::Value> =
                errors.into_iter().map(|(f, m)| (f, json!(m))).collect();
            let form = json!({ "email": email, "name": name });
            let page = company_page(&state, &staff, &csrf, id, &errors, &form, false).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response())
        }
    }
}

async fn company_page(
    state: &AppState,
    staff: &Staff,
    csrf: &CsrfToken,
    id: i64,
    invite_errors: &serde_json::Map<String, serde_json::Value>,
    invite_form: &serde_json::Value,
    invited: bool,
) -> Result<Html<String>, Error> {
    let company = companies::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let campaign_ids = companies::campaign_ids(&state.db, id).await?;
    let campaign_titles: Vec<String> = campaigns::list(&state.db)
        .await?
        .into_iter()
        .filter(|c| campaign_ids.contains(&c.id))
        .map(|c| c.title)
        .collect();
    let users: Vec<_> = company_users::for_company(&state.db, id)
        .await?
        .into_iter()
        .map(|u| {
            let status = if u.disabled_at.is_some() {
                "Disabled"
            } else if u.password_hash.is_none() {
                "Invited"
            } else if company_users::has_accepted_terms(&u) {
                "Active"
            } else {
                "Active, terms not yet accepted"
            };
            json!({ "name": u.name, "email": u.email, "status": status,
                    "terms_accepted_at": u.terms_accepted_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()) })
        })
        .collect();
    let (stages, not_a_fit) = forwards::funnel(&state.db, id).await?;
    let funnel: Vec<_> = stages
        .iter()
        .map(|(stage, count)| json!({ "stage": stage_label(stage), "count": count }))
        .collect();
    let now = chrono::Utc::now();
    let records: Vec<_> = forwards::forwards_of(&state.db, id)
        .await?
        .into_iter()
        .map(|f| {
            let state = if f.revoked_at.is_some() {
                "Revoked"
            } else if f.expires_at.is_some_and(|at| at <= now) {
                "Expired"
            } else {
                "In force"
            };
            json!({
                "id": f.id, "created": f.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "count": f.candidate_count, "by": format!("{} {}", f.actor_kind, f.actor_id.map(|i| i.to_string()).unwrap_or_default()),
                "expires": f.expires_at.map(|t| t.format("%Y-%m-%d").to_string()),
                "state": state, "revocable": state == "In force",
            })
        })
        .collect();
    let page = state.views.render(
        "admin_company.html",
        context! {
            staff_email => &staff.0.email, csrf_token => csrf::token(csrf)?,
            users => views::value(&users), invite_errors => views::value(&invite_errors),
            invite_form => views::value(&invite_form), invited => invited,
            funnel => views::value(&funnel), not_a_fit, forwards => views::value(&records),
            company => context! {
                id => company.id, name => &company.name, org_number => &company.org_number,
                website => &company.website, contact_name => &company.contact_name,
                contact_email => &company.contact_email, archived => company.archived_at.is_some(),
            },
            campaigns => views::value(&campaign_titles),
        },
    )?;
    Ok(page)
}
