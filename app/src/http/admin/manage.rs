//! Back-office lists: segments (with live counts), API tokens (create, revoke) and the
//! audit log.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use serde_json::json;
use talentpool_core::{api_tokens, audit, entities::audit_log, pool, segments};

use super::Staff;
use crate::http::csrf;
use crate::{http::error::Error, state::AppState};

fn query_of(filter: &pool::Filter) -> String {
    let value = serde_json::to_value(filter).unwrap_or_default();
    let pairs: Vec<(String, String)> = value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

pub async fn segments_page(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let mut rows = Vec::new();
    for segment in segments::list(&state.db).await? {
        let filter = segments::filter_of(&segment)?;
        let count = match filter.validate(&state.db).await {
            Ok(valid) => Some(pool::count(&state.db, &valid).await?),
            Err(_) => None,
        };
        rows.push(json!({ "id": segment.id, "name": segment.name, "count": count, "query": query_of(&filter) }));
    }
    let page = state.views.render(
        "admin_segments.html",
        context! {
            staff_email => staff.0.email, csrf_token => csrf::token(&csrf)?,
            segments => minijinja::Value::from(minijinja::value::Serde(&rows)),
            companies => minijinja::Value::from(minijinja::value::Serde(&super::forwards::company_options(&state).await?)),
        },
    )?;
    Ok((csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    authenticity_token: String,
}

pub async fn delete_segment(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    if !segments::delete(&state.db, id).await? {
        return Err(Error::NotFound);
    }
    audit::record(
        &state.db,
        staff.actor(),
        "segment.deleted",
        "segment",
        Some(id),
        None,
    )
    .await?;
    Ok(axum::response::Redirect::to("/admin/segments").into_response())
}

async fn tokens_view(
    state: &AppState,
    staff: &Staff,
    csrf: &CsrfToken,
    created: Option<String>,
    error: Option<&str>,
) -> Result<axum::response::Html<String>, Error> {
    let tokens: Vec<_> = api_tokens::list(&state.db)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "id": t.id, "name": t.name,
                "created_at": t.created_at.format("%Y-%m-%d %H:%M").to_string(),
                "last_used_at": t.last_used_at.map(|d| d.format("%Y-%m-%d %H:%M").to_string()),
                "revoked": t.revoked_at.is_some(),
            })
        })
        .collect();
    Ok(state.views.render(
        "admin_tokens.html",
        context! {
            staff_email => &staff.0.email, csrf_token => csrf::token(csrf)?,
            tokens => minijinja::Value::from(minijinja::value::Serde(&tokens)), created, error,
        },
    )?)
}

pub async fn tokens_page(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let page = tokens_view(&state, &staff, &csrf, None, None).await?;
    Ok((csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Form(form): Form<NewToken>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        let page = tokens_view(
            &state,
            &staff,
            &csrf,
            None,
            Some("Give the token a name of 1 to 100 characters."),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response());
    }
    let (id, raw) = api_tokens::create(&state.db, name, Some(staff.0.id)).await?;
    audit::record(
        &state.db,
        staff.actor(),
        "api_token.created",
        "api_token",
        Some(id),
        None,
    )
    .await?;
    let page = tokens_view(&state, &staff, &csrf, Some(raw), None).await?;
    Ok((StatusCode::CREATED, csrf, page).into_response())
}

pub async fn revoke_token(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    if !api_tokens::revoke(&state.db, id).await? {
        return Err(Error::NotFound);
    }
    audit::record(
        &state.db,
        staff.actor(),
        "api_token.revoked",
        "api_token",
        Some(id),
        None,
    )
    .await?;
    Ok(axum::response::Redirect::to("/admin/tokens").into_response())
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
    subject_kind: Option<String>,
    subject_id: Option<i64>,
}

pub async fn audit_page(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Query(query): Query<AuditQuery>,
) -> Result<Response, Error> {
    const PAGE: u64 = 100;
    let mut find = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    if let Some(before) = query.before {
        find = find.filter(audit_log::Column::Id.lt(before));
    }
    if let Some(kind) = query.subject_kind.as_deref().filter(|k| !k.is_empty()) {
        find = find.filter(audit_log::Column::SubjectKind.eq(kind));
    }
    if let Some(id) = query.subject_id {
        find = find.filter(audit_log::Column::SubjectId.eq(id));
    }
    let entries = find.limit(PAGE + 1).all(&state.db).await?;
    let more = entries.len() as u64 > PAGE;
    let rows: Vec<_> = entries
        .iter()
        .take(PAGE as usize)
        .map(|e| {
            json!({
                "id": e.id, "at": e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                "actor": format!("{} {}", e.actor_kind, e.actor_id.map(|i| i.to_string()).unwrap_or_default()),
                "action": e.action, "subject_kind": e.subject_kind, "subject_id": e.subject_id,
                "details": e.details.as_ref().map(|d| d.to_string()),
            })
        })
        .collect();
    let next = more
        .then(|| rows.last().and_then(|r| r["id"].as_i64()))
        .flatten();
    let page = state.views.render(
        "admin_audit.html",
        context! {
            staff_email => staff.0.email, csrf_token => csrf::token(&csrf)?,
            entries => minijinja::Value::from(minijinja::value::Serde(&rows)), next,
        },
    )?;
    Ok((csrf, page).into_response())
}
