//! The company's forwarded candidates: the list with filters, profiles, CVs, the
//! company's status and notes per candidate, and the CSV export. The company id always
//! comes from the recruiter's session (`Recruiter`); the core functions scope by it.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use talentpool_core::{
    audit, candidates, company_users,
    domain::Country,
    forwards::{STATUSES, status_label},
    portal::{self, PortalFilter, Row, View},
};

use super::Recruiter;
use crate::{
    http::{admin::pool::neutralise, csrf, error::Error},
    state::AppState,
    views,
};

fn eu_label(code: &str) -> &'static str {
    if code == "eu_eea" { "EU/EEA" } else { "Non-EU" }
}

fn country_name(code: &str) -> String {
    Country::parse(code).map_or_else(|| code.to_owned(), |c| c.name().to_owned())
}

fn row_json(state: &AppState, row: &Row) -> serde_json::Value {
    let c = &row.candidate;
    json!({
        "id": c.id, "full_name": c.full_name,
        "profession": state.catalog.get(&c.profession_code).map_or(c.profession_code.clone(), |p| p.title.clone()),
        "eu_status": eu_label(&c.eu_status),
        "residence_country": country_name(&c.residence_country),
        "years_experience": c.years_experience,
        "status": status_label(&row.entry.status),
        "forwarded": row.entry.created_at.format("%Y-%m-%d").to_string(),
    })
}

fn filter_query(filter: &PortalFilter) -> String {
    let pairs: Vec<(&str, &str)> = [
        ("profession", &filter.profession),
        ("eu_status", &filter.eu_status),
        ("residence_country", &filter.residence_country),
        ("status", &filter.status),
        ("forwarded_from", &filter.forwarded_from),
        ("forwarded_to", &filter.forwarded_to),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (k, v))
    })
    .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn status_options() -> Vec<serde_json::Value> {
    STATUSES
        .iter()
        .map(|s| json!({ "code": s, "label": status_label(s) }))
        .collect()
}

pub async fn list(
    State(state): State<AppState>,
    recruiter: Recruiter,
    csrf: CsrfToken,
    Query(filter): Query<PortalFilter>,
) -> Result<Response, Error> {
    let company_id = recruiter.company.id;
    let query = filter_query(&filter);
    let (result, errors) = match filter.validate() {
        Ok(valid) => {
            let page = portal::list(&state.db, company_id, &valid, portal::PAGE_SIZE).await?;
            let rows: Vec<_> = page.rows.iter().map(|r| row_json(&state, r)).collect();
            let next = page.next_before.map(|before| {
                let sep = if query.is_empty() { "" } else { "&" };
                format!("/portal?{query}{sep}before={before}")
            });
            (Some(json!({ "rows": rows, "next": next })), Vec::new())
        }
        Err(errors) => (
            None,
            errors
                .into_iter()
                .map(|(field, message)| json!({ "field": field, "message": message }))
                .collect(),
        ),
    };
    let withdrawn: Vec<_> = portal::withdrawn(&state.db, company_id)
        .await?
        .iter()
        .map(|e| {
            json!({
                "forwarded": e.created_at.format("%Y-%m-%d").to_string(),
                "withdrawn": e.withdrawn_at.map(|t| t.format("%Y-%m-%d").to_string()),
                "status": status_label(&e.status),
            })
        })
        .collect();
    let countries: Vec<_> = Country::all()
        .into_iter()
        .map(|c| json!({ "code": c.code(), "name": c.name() }))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = state.views.render(
        "portal_candidates.html",
        context! {
            csrf_token => csrf::token(&csrf)?, company_name => &recruiter.company.name,
            user_email => &recruiter.user.email,
            filter => views::value(&filter), query, result => views::value(&result),
            errors => views::value(&errors), withdrawn => views::value(&withdrawn),
            statuses => views::value(&status_options()),
            countries => views::value(&countries),
            profession_groups => views::value(state.catalog.groups()),
        },
    )?;
    Ok((status, csrf, page).into_response())
}

async fn visible_row(state: &AppState, recruiter: &Recruiter, id: i64) -> Result<Row, Error> {
    portal::find(&state.db, recruiter.company.id, id)
        .await?
        .ok_or(Error::NotFound)
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    recruiter: Recruiter,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Error> {
    let row = visible_row(&state, &recruiter, id).await?;
    portal::record_view(&state.db, &row, recruiter.user.id, View::Profile).await?;
    let page = profile_page(
        &state,
        &recruiter,
        &csrf,
        &row,
        query.saved.as_deref(),
        None,
    )
    .await?;
    Ok((csrf, page).into_response())
}

async fn profile_page(
    state: &AppState,
    recruiter: &Recruiter,
    csrf: &CsrfToken,
    row: &Row,
    saved: Option<&str>,
    error: Option<&str>,
) -> Result<axum::response::Html<String>, Error> {
    let c = &row.candidate;
    let citizenships: Vec<String> = candidates::citizenships(&state.db, c.id)
        .await?
        .iter()
        .map(|code| country_name(code))
        .collect();
    let colleagues: std::collections::HashMap<i64, String> =
        company_users::for_company(&state.db, recruiter.company.id)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
    let history: Vec<_> = portal::history(&state.db, &row.entry)
        .await?
        .into_iter()
        .filter(|e| e.kind == "status" || e.kind == "note" || e.kind == "forwarded")
        .rev()
        .map(|e| {
            let author = (e.actor_kind == "company_user")
                .then(|| e.actor_id.and_then(|id| colleagues.get(&id).cloned()))
                .flatten();
            json!({
                "at": e.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "kind": e.kind,
                "status": e.status.as_deref().map(status_label),
                "body": e.body,
                "author": author,
            })
        })
        .collect();
    let profession = state
        .catalog
        .get(&c.profession_code)
        .map_or(c.profession_code.clone(), |p| {
            format!("{} ({})", p.title, p.code)
        });
    Ok(state.views.render(
        "portal_candidate.html",
        context! {
            csrf_token => csrf::token(csrf)?, company_name => &recruiter.company.name,
            user_email => &recruiter.user.email,
            c => context! {
                id => c.id, full_name => &c.full_name, email => &c.email, phone => &c.phone,
                linkedin_url => &c.linkedin_url, profession, years_experience => c.years_experience,
                eu_status => eu_label(&c.eu_status), residence_country => country_name(&c.residence_country),
                english_level => &c.english_level, norwegian_level => &c.norwegian_level,
                education_level => &c.education_level, work_permit_norway => c.work_permit_norway,
                has_partner => c.has_partner, partner_profession => &c.partner_profession,
                has_cv => c.cv_key.is_some(),
            },
            citizenships => views::value(&citizenships),
            status => &row.entry.status, statuses => views::value(&status_options()),
            forwarded => row.entry.created_at.format("%Y-%m-%d").to_string(),
            history => views::value(&history), saved, error,
        },
    )?)
}

pub async fn cv(
    State(state): State<AppState>,
    recruiter: Recruiter,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let row = visible_row(&state, &recruiter, id).await?;
    let key = row.candidate.cv_key.clone().ok_or(Error::NotFound)?;
    let bytes = state.files.get(&key).await?.ok_or(Error::NotFound)?;
    portal::record_view(&state.db, &row, recruiter.user.id, View::Cv).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"cv-{}.pdf\"", row.candidate.id),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    recruiter: Recruiter,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    match portal::set_status(
        &state.db,
        recruiter.company.id,
        id,
        recruiter.user.id,
        &form.status,
    )
    .await?
    .ok_or(Error::NotFound)?
    {
        Ok(()) => {
            Ok(Redirect::to(&format!("/portal/candidates/{id}?saved=status")).into_response())
        }
        Err(errors) => invalid(&state, &recruiter, csrf, id, &errors).await,
    }
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn add_note(
    State(state): State<AppState>,
    recruiter: Recruiter,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<NoteForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    match portal::add_note(
        &state.db,
        recruiter.company.id,
        id,
        recruiter.user.id,
        &form.body,
    )
    .await?
    .ok_or(Error::NotFound)?
    {
        Ok(()) => Ok(Redirect::to(&format!("/portal/candidates/{id}?saved=note")).into_response()),
        Err(errors) => invalid(&state, &recruiter, csrf, id, &errors).await,
    }
}

async fn invalid(
    state: &AppState,
    recruiter: &Recruiter,
    csrf: CsrfToken,
    id: i64,
    errors: &[(String, String)],
) -> Result<Response, Error> {
    let row = visible_row(state, recruiter, id).await?;
    let message = errors.first().map(|(_, m)| m.as_str());
    let page = profile_page(state, recruiter, &csrf, &row, None, message).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response())
}

const EXPORT_COLUMNS: [&str; 15] = [
    "id",
    "full_name",
    "email",
    "phone",
    "linkedin_url",
    "profession",
    "years_experience",
    "eu_status",
    "residence_country",
    "english_level",
    "norwegian_level",
    "education_level",
    "has_partner",
    "status",
    "forwarded_at",
];

/// The company's own list (with the current filters) as CSV, formulas neutralised.
pub async fn export(
    State(state): State<AppState>,
    recruiter: Recruiter,
    Query(filter): Query<PortalFilter>,
) -> Result<Response, Error> {
    let valid = filter.validate().map_err(|errors| {
        Error::BadRequest(
            errors
                .into_iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let rows = portal::all(&state.db, recruiter.company.id, &valid).await?;
    audit::record(
        &state.db,
        recruiter.actor(),
        "company.exported",
        "company",
        Some(recruiter.company.id),
        Some(json!({ "rows": rows.len() })),
    )
    .await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(EXPORT_COLUMNS)
        .map_err(|e| Error::Unexpected(e.into()))?;
    for row in &rows {
        let c = &row.candidate;
        let record = [
            c.id.to_string(),
            c.full_name.clone(),
            c.email.clone(),
            c.phone.clone().unwrap_or_default(),
            c.linkedin_url.clone().unwrap_or_default(),
            c.profession_code.clone(),
            c.years_experience.to_string(),
            c.eu_status.clone(),
            c.residence_country.clone(),
            c.english_level.clone(),
            c.norwegian_level.clone(),
            c.education_level.clone().unwrap_or_default(),
            c.has_partner.to_string(),
            row.entry.status.clone(),
            row.entry.created_at.to_rfc3339(),
        ];
        writer
            .write_record(record.iter().map(|cell| neutralise(cell)))
            .map_err(|e| Error::Unexpected(e.into()))?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| Error::Unexpected(anyhow::anyhow!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"candidates.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}
