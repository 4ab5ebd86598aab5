//! The pool: filters, count, keyset pages, candidate pages (audited), saving a filter
//! as a segment, and the streamed CSV export.

use std::convert::Infallible;

use axum::{
    Form,
    body::{Body, Bytes},
    extract::{Path, RawQuery, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use serde_json::json;
use talentpool_core::{
    audit, candidates, consents,
    domain::{Country, LanguageLevel},
    entities::{audit_log, campaign, consent_text, email_log},
    forwards,
    pool::{self, ValidFilter},
    segments,
};

use super::Staff;
use crate::http::csrf;
use crate::views;
use crate::{
    http::{api::candidates::parse_query, error::Error, problem::Problem},
    state::AppState,
};

/// The filter from a query string, or the messages for the bad parts.
async fn read_filter(
    state: &AppState,
    query: Option<&str>,
) -> Result<(pool::Filter, ValidFilter, u64, Option<String>), Vec<(String, String)>> {
    let to_errors = |p: Problem| {
        p.errors
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect::<Vec<_>>()
    };
    let parsed = parse_query(query).map_err(to_errors)?;
    let valid = parsed.filter.validate(&state.db).await?;
    Ok((parsed.filter, valid, parsed.limit, parsed.cursor))
}

/// A filter that does not parse, as one readable message.
fn bad_filter(errors: Vec<(String, String)>) -> Error {
    let parts: Vec<String> = errors
        .into_iter()
        .map(|(f, m)| format!("{f}: {m}"))
        .collect();
    Error::BadRequest(parts.join("; "))
}

fn query_without_cursor(query: Option<&str>) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, v)| k != "cursor" && !v.trim().is_empty())
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

pub async fn pool(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    RawQuery(query): RawQuery,
) -> Result<Response, Error> {
    let campaigns: Vec<_> = campaign::Entity::find()
        .order_by_desc(campaign::Column::CreatedAt)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| json!({ "slug": c.slug, "title": c.title }))
        .collect();
    let countries: Vec<_> = Country::all()
        .into_iter()
        .map(|c| json!({ "code": c.code(), "name": c.name() }))
        .collect();
    let levels: Vec<_> = LanguageLevel::ALL
        .iter()
        .map(|l| json!({ "code": l.code(), "label": l.label() }))
        .collect();
    let base_query = query_without_cursor(query.as_deref());
    let (filter, result, errors) = match read_filter(&state, query.as_deref()).await {
        Ok((filter, valid, limit, cursor)) => {
            let cursor = pool::parse_cursor(cursor.as_deref())
                .map_err(|_| Error::BadRequest("The page link is not valid.".into()))?;
            let page = pool::page(&state.db, &valid, cursor, limit).await?;
            let total = pool::total(&state.db, &valid, valid.total_cap()).await?;
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id, "full_name": c.full_name, "email": c.email,
                        "profession": state.catalog.get(&c.profession_code).map_or(c.profession_code.clone(), |p| p.title.clone()),
                        "eu_status": if c.eu_status == "eu_eea" { "EU/EEA" } else { "Non-EU" },
                        "residence_country": Country::parse(&c.residence_country).map_or("", |c| c.name()),
                        "confirmed": c.confirmed_at.is_some(),
                        "signed_up": c.created_at.format("%Y-%m-%d").to_string(),
                    })
                })
                .collect();
            let next = page.next_cursor.map(|c| {
                let sep = if base_query.is_empty() { "" } else { "&" };
                format!("/admin?{base_query}{sep}cursor={}", c.encode())
            });
            (
                filter,
                Some(json!({
                    "rows": rows, "total": total.count, "total_exact": total.exact, "next": next,
                })),
                Vec::new(),
            )
        }
        Err(errors) => (pool::Filter::default(), None, errors),
    };
    let errors: Vec<_> = errors
        .into_iter()
        .map(|(field, message)| json!({ "field": field, "message": message }))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = state.views.render(
        "admin_pool.html",
        context! {
            staff_email => staff.0.email,
            csrf_token => csrf::token(&csrf)?,
            filter => views::value(&filter),
            result => views::value(&result),
            errors => views::value(&errors),
            query => base_query,
            campaigns => views::value(&campaigns),
            countries => views::value(&countries),
            levels => views::value(&levels),
            profession_groups => views::value(state.catalog.groups()),
            companies => views::value(&super::forwards::company_options(&state).await?),
        },
    )?;
    Ok((status, csrf, page).into_response())
}

pub async fn candidate(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let candidate = candidates::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    audit::record(
        &state.db,
        staff.actor(),
        "candidate.viewed",
        "candidate",
        Some(id),
        None,
    )
    .await?;
    let citizenships: Vec<&str> = candidates::citizenships(&state.db, id)
        .await?
        .iter()
        .filter_map(|code| Country::parse(code).map(|c| c.name()))
        .collect();
    let texts = consent_text::Entity::find().all(&state.db).await?;
    let consents: Vec<_> = consents::for_candidate(&state.db, id)
        .await?
        .into_iter()
        .map(|c| {
            let text = texts.iter().find(|t| t.id == c.consent_text_id);
            json!({
                "kind": c.kind, "granted_at": c.granted_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                "source": c.granted_source,
                "withdrawn_at": c.withdrawn_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                "version": text.map(|t| t.version), "language": text.map(|t| t.language.clone()),
                "text": text.map(|t| t.body.clone()),
            })
        })
        .collect();
    let mut timeline: Vec<(chrono::DateTime<chrono::Utc>, String)> = Vec::new();
    let campaign_titles: std::collections::HashMap<i64, String> = campaign::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.title))
        .collect();
    for s in candidates::signups(&state.db, id).await? {
        let source = s
            .utm_source
            .as_deref()
            .map(|u| format!(" (utm_source {u})"))
            .unwrap_or_default();
        let title = campaign_titles
            .get(&s.campaign_id)
            .cloned()
            .unwrap_or_default();
        let what = if s.kind == "new" {
            "Signed up"
        } else {
            "Signed up again"
        };
        timeline.push((
            s.created_at,
            format!("{what} through “{title}” by {}{source}", s.source),
        ));
    }
    if let Some(at) = candidate.confirmed_at {
        timeline.push((at, "Confirmed the email address".into()));
    }
    for e in email_log::Entity::find()
        .filter(email_log::Column::CandidateId.eq(id))
        .all(&state.db)
        .await?
    {
        timeline.push((e.created_at, format!("Email “{}”: {}", e.subject, e.status)));
    }
    // Forwards and what companies did are told by `forwards::timeline` below.
    for a in audit_log::Entity::find()
        .filter(audit_log::Column::SubjectKind.eq("candidate"))
        .filter(audit_log::Column::SubjectId.eq(id))
        .filter(audit_log::Column::Action.ne("candidate.forwarded"))
        .filter(audit_log::Column::ActorKind.ne("company_user"))
        .order_by_desc(audit_log::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .take(50)
    {
        timeline.push((
            a.created_at,
            format!(
                "{} by {} {}",
                a.action,
                a.actor_kind,
                a.actor_id.map(|i| i.to_string()).unwrap_or_default()
            ),
        ));
    }
    for entry in forwards::timeline(&state.db, id).await? {
        timeline.push((entry.at, entry.describe()));
    }
    timeline.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let timeline: Vec<_> = timeline
        .into_iter()
        .map(
            |(at, what)| json!({ "at": at.format("%Y-%m-%d %H:%M UTC").to_string(), "what": what }),
        )
        .collect();
    let profession = state
        .catalog
        .get(&candidate.profession_code)
        .map_or(candidate.profession_code.clone(), |p| {
            format!("{} ({})", p.title, p.code)
        });
    let standings: Vec<_> = forwards::standings(&state.db, id)
        .await?
        .into_iter()
        .map(|s| {
            let activity: Vec<_> = s
                .activity
                .iter()
                .map(|a| {
                    json!({
                        "at": a.at.format("%Y-%m-%d %H:%M UTC").to_string(),
                        "kind": a.kind,
                        "status": a.status.as_deref().map(forwards::status_label),
                        "body": a.body,
                        "author": a.author,
                    })
                })
                .collect();
            json!({
                "company_id": s.company_id, "company_name": s.company_name,
                "status": forwards::status_label(&s.status),
                "forwarded": s.forwarded_at.format("%Y-%m-%d").to_string(),
                "in_force": s.in_force, "revoked": s.revoked, "activity": activity,
            })
        })
        .collect();
    let page = state.views.render(
        "admin_candidate.html",
        context! {
            staff_email => staff.0.email,
            csrf_token => csrf::token(&csrf)?,
            c => context! {
                id => candidate.id, full_name => &candidate.full_name, email => &candidate.email,
                profession, years_experience => candidate.years_experience,
                residence_country => Country::parse(&candidate.residence_country).map_or("", |c| c.name()),
                eu_status => if candidate.eu_status == "eu_eea" { "EU/EEA" } else { "Non-EU" },
                english_level => &candidate.english_level, norwegian_level => &candidate.norwegian_level,
                education_level => &candidate.education_level, linkedin_url => &candidate.linkedin_url,
                phone => &candidate.phone, work_permit_norway => candidate.work_permit_norway,
                has_partner => candidate.has_partner, partner_profession => &candidate.partner_profession,
                has_cv => candidate.cv_key.is_some(), confirmed => candidate.confirmed_at.is_some(),
                consent_share => candidate.consent_share, consent_newsletter => candidate.consent_newsletter,
            },
            citizenships => views::value(&citizenships),
            consents => views::value(&consents),
            timeline => views::value(&timeline),
            companies => views::value(&standings),
        },
    )?;
    Ok((csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct SegmentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn save_segment(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Form(form): Form<SegmentForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let (filter, _, _, _) = read_filter(&state, Some(&form.query))
        .await
        .map_err(bad_filter)?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::BadRequest(
            "Give the segment a name of 1 to 200 characters.".into(),
        ));
    }
    let segment = segments::create(&state.db, name, &filter, Some(staff.0.id)).await?;
    audit::record(
        &state.db,
        staff.actor(),
        "segment.created",
        "segment",
        Some(segment.id),
        None,
    )
    .await?;
    let sep = if form.query.is_empty() { "" } else { "&" };
    Ok(Redirect::to(&format!("/admin?{}{sep}saved={}", form.query, segment.id)).into_response())
}

/// Cells that a spreadsheet would run as a formula are prefixed with `'`.
pub fn neutralise(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

const EXPORT_COLUMNS: [&str; 14] = [
    "id",
    "full_name",
    "email",
    "profession",
    "eu_status",
    "residence_country",
    "years_experience",
    "english_level",
    "norwegian_level",
    "has_partner",
    "confirmed",
    "consent_share",
    "consent_newsletter",
    "signed_up_at",
];

/// The current filter as CSV, streamed page by page: memory stays flat for any size.
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    RawQuery(query): RawQuery,
) -> Result<Response, Error> {
    let (filter, valid, _, _) = read_filter(&state, query.as_deref())
        .await
        .map_err(bad_filter)?;
    audit::record(
        &state.db,
        staff.actor(),
        "candidates.exported",
        "pool",
        None,
        Some(serde_json::to_value(&filter)?),
    )
    .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(4);
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(EXPORT_COLUMNS);
        let mut cursor = None;
        // One CSV writer per page of rows, handed on as one chunk of the response.
        loop {
            let page = match pool::page(&db, &valid, cursor, 1000).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "export failed");
                    break;
                }
            };
            for c in &page.items {
                let record = [
                    c.id.to_string(),
                    c.full_name.clone(),
                    c.email.clone(),
                    c.profession_code.clone(),
                    c.eu_status.clone(),
                    c.residence_country.clone(),
                    c.years_experience.to_string(),
                    c.english_level.clone(),
                    c.norwegian_level.clone(),
                    c.has_partner.to_string(),
                    c.confirmed_at.is_some().to_string(),
                    c.consent_share.to_string(),
                    c.consent_newsletter.to_string(),
                    c.created_at.to_rfc3339(),
                ];
                let _ = writer.write_record(record.iter().map(|cell| neutralise(cell)));
            }
            let chunk = std::mem::replace(&mut writer, csv::Writer::from_writer(Vec::new()))
                .into_inner()
                .unwrap_or_default();
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                break;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    });
    let stream = tokio_stream_from(rx);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"candidates.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, Infallible>>,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+47"), "'+47");
        assert_eq!(neutralise("-1"), "'-1");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("Ada"), "Ada");
        assert_eq!(neutralise(""), "");
    }
}
