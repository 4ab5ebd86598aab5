//! Newsletters in the back office: the archive, compose (template errors shown with
//! their lines), the newsletter page with live progress, a preview for any candidate, a
//! test to the signed-in staff member, and send, schedule, pause, resume and cancel.

use std::collections::HashMap;

use axum::{
    Form, Json,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use chrono::Utc;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use talentpool_core::{
    mail::{Mailer, Rendered},
    newsletters::{self, DraftInput, Refused, template::VARIABLES},
    segments,
};

use super::Staff;
use crate::http::{
    api::newsletters::{NewsletterView, view},
    csrf,
};
use crate::views;
use crate::{http::error::Error, state::AppState};

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let mut rows = Vec::new();
    for n in newsletters::list(&state.db).await? {
        let progress = newsletters::progress(&state.db, n.id).await?;
        rows.push(json!({
            "id": n.id, "subject": n.subject, "status": n.status,
            "recipients": if n.frozen_at.is_some() { progress.recipients } else { 0 },
            "sent": progress.sent,
            "created_at": newsletters::local_time(n.created_at),
        }));
    }
    let page = state.views.render(
        "admin_newsletters.html",
        context! { staff_email => staff.0.email, csrf_token => csrf::token(&csrf)?, newsletters => views::value(&rows) },
    )?;
    Ok((csrf, page).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct Submitted {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body_markdown: String,
    #[serde(default)]
    segment_id: String,
    #[serde(default)]
    authenticity_token: String,
}

impl Submitted {
    fn input(&self) -> DraftInput {
        DraftInput {
            subject: self.subject.clone(),
            body_markdown: self.body_markdown.clone(),
            segment_id: self.segment_id.trim().parse().ok(),
        }
    }
}

async fn render_form(
    state: &AppState,
    staff: &Staff,
    csrf: &CsrfToken,
    id: Option<i64>,
    form: &DraftInput,
    problems: &[(String, String)],
) -> Result<Html<String>, Error> {
    let mut options = Vec::new();
    for s in segments::list(&state.db).await? {
        let count = newsletters::audience_count(&state.db, Some(s.id)).await?;
        options.push(json!({ "id": s.id, "name": s.name, "count": count }));
    }
    // One message per field on the field (the first), every message in the summary.
    let mut errors: HashMap<&str, String> = HashMap::new();
    for (field, message) in problems {
        errors
            .entry(field.as_str())
            .and_modify(|m| {
                m.push_str(" · ");
                m.push_str(message);
            })
            .or_insert_with(|| message.clone());
    }
    let error_list: Vec<_> = problems
        .iter()
        .map(|(field, message)| json!({ "field": field, "message": message }))
        .collect();
    Ok(state.views.render(
        "admin_newsletter_form.html",
        context! {
            staff_email => &staff.0.email, csrf_token => csrf::token(csrf)?, id,
            form => views::value(&json!({ "subject": form.subject, "body_markdown": form.body_markdown, "segment_id": form.segment_id })),
            segments => views::value(&options), errors => views::value(&errors),
            error_list => views::value(&error_list), variables => views::value(VARIABLES),
        },
    )?)
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let form = DraftInput {
        body_markdown:
            "Hello {{ candidate.first_name }},\n\n…\n\n[Unsubscribe]({{ unsubscribe_url }})\n"
                .into(),
        ..DraftInput::default()
    };
    let page = render_form(&state, &staff, &csrf, None, &form, &[]).await?;
    Ok((csrf, page).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Form(form): Form<Submitted>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let input = form.input();
    let privacy = state.settings.url("/privacy");
    match newsletters::create(&state.db, &input, staff.actor(), Some(staff.0.id), &privacy).await? {
        Ok(n) => Ok(Redirect::to(&format!("/admin/newsletters/{}", n.id)).into_response()),
        Err(problems) => {
            let page = render_form(&state, &staff, &csrf, None, &input, &problems).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response())
        }
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let n = newsletters::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let form = DraftInput {
        subject: n.subject,
        body_markdown: n.body_markdown,
        segment_id: n.segment_id,
    };
    let page = render_form(&state, &staff, &csrf, Some(id), &form, &[]).await?;
    Ok((csrf, page).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<Submitted>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let input = form.input();
    let privacy = state.settings.url("/privacy");
    match newsletters::update(&state.db, id, &input, staff.actor(), &privacy).await? {
        None => Err(Error::NotFound),
        Some(Ok(n)) => Ok(Redirect::to(&format!("/admin/newsletters/{}", n.id)).into_response()),
        Some(Err(problems)) => {
            let page = render_form(&state, &staff, &csrf, Some(id), &input, &problems).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PreviewQuery {
    #[serde(default)]
    candidate: String,
    #[serde(default)]
    notice: Option<String>,
}

fn candidate_of(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Query(query): Query<PreviewQuery>,
) -> Result<Response, Error> {
    let n = newsletters::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let candidate = candidate_of(&query.candidate);
    let (preview, preview_error) = match newsletters::render_for(
        &state.db,
        &n,
        candidate,
        &state.settings.secret_key,
        &state.settings.base_url,
    )
    .await
    {
        Ok(Some((to, r))) => (
            Some(json!({ "to": to, "subject": r.subject, "text": r.text })),
            None,
        ),
        Ok(None) => (
            None,
            Some("There is no candidate with that number.".to_owned()),
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    let send_at_local = n.send_at.map(newsletters::local_time);
    let failures: Vec<_> = newsletters::failure_reasons(&state.db, id)
        .await?
        .into_iter()
        .map(|(reason, count)| json!({ "reason": reason, "count": count }))
        .collect();
    let view: NewsletterView = view(&state, n).await?;
    let notice = match query.notice.as_deref() {
        Some("test") => Some("The test was sent to your address."),
        Some("refused") => Some("That is not possible in the newsletter's current state."),
        _ => None,
    };
    let page = state.views.render(
        "admin_newsletter.html",
        context! {
            staff_email => &staff.0.email, csrf_token => csrf::token(&csrf)?,
            n => views::value(&view), preview => views::value(&preview), preview_error,
            candidate, send_at_local, notice, failures => views::value(&failures),
        },
    )?;
    Ok((csrf, page).into_response())
}

pub async fn progress(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> Result<Json<NewsletterView>, Error> {
    let n = newsletters::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Json(view(&state, n).await?))
}

/// The HTML part as the recipient's mail client shows it (its inline styles allowed on
/// this response only; nothing else may load).
pub async fn preview_html(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
    Query(query): Query<PreviewQuery>,
) -> Result<Response, Error> {
    let n = newsletters::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let rendered = newsletters::render_for(
        &state.db,
        &n,
        candidate_of(&query.candidate),
        &state.settings.secret_key,
        &state.settings.base_url,
    )
    .await?
    .ok_or(Error::NotFound)?;
    Ok((
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'none'; frame-ancestors 'none'",
        )],
        Html(rendered.1.html),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    candidate: String,
    #[serde(default)]
    authenticity_token: String,
}

/// Sends the newsletter as `candidate` would get it to the signed-in staff member.
pub async fn send_test(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(form): Form<TestForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let n = newsletters::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let (_, rendered) = newsletters::render_for(
        &state.db,
        &n,
        candidate_of(&form.candidate),
        &state.settings.secret_key,
        &state.settings.base_url,
    )
    .await?
    .ok_or(Error::NotFound)?;
    let mailer = Mailer::from_settings(&state.settings, state.db.clone())?;
    mailer
        .send(
            &staff.0.email,
            &Rendered {
                template: "newsletter_test",
                subject: format!("[Test] {}", rendered.subject),
                text: rendered.text,
                html: rendered.html,
            },
        )
        .await
        .map_err(|e| Error::BadRequest(format!("the test could not be sent: {e}")))?;
    Ok(Redirect::to(&format!("/admin/newsletters/{id}?notice=test")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    send_at: String,
    #[serde(default)]
    authenticity_token: String,
}

/// Send (now or at `send_at`, Europe/Oslo), pause, resume or cancel.
pub async fn act(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let now = Utc::now();
    let result = match action.as_str() {
        "send" => {
            let send_at = match form.send_at.trim() {
                "" => None,
                raw => Some(newsletters::parse_send_at(raw).ok_or_else(|| {
                    Error::BadRequest("The time could not be read; use the date picker.".into())
                })?),
            };
            newsletters::send(&state.db, id, send_at, now, staff.actor()).await?
        }
        "pause" => newsletters::pause(&state.db, id, None, staff.actor()).await?,
        "resume" => newsletters::resume(&state.db, id, now, staff.actor()).await?,
        "cancel" => newsletters::cancel(&state.db, id, now, staff.actor()).await?,
        _ => return Err(Error::NotFound),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/newsletters/{id}")).into_response()),
        Err(Refused::NotFound) => Err(Error::NotFound),
        Err(Refused::Conflict(_)) => {
            Ok(Redirect::to(&format!("/admin/newsletters/{id}?notice=refused")).into_response())
        }
    }
}
