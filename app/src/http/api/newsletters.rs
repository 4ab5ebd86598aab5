//! Newsletters by API: create, change and read drafts, send now or at a time, pause,
//! resume, cancel; the reading includes live progress.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talentpool_core::newsletters::{self, DraftInput, Newsletter, Refused};
use utoipa::ToSchema;

use super::auth::ApiCaller;
use crate::{http::problem::Problem, state::AppState};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewNewsletter {
    pub subject: String,
    /// Markdown with minijinja variables: `candidate.first_name`, `candidate.full_name`,
    /// `campaign.title`, `unsubscribe_url`, `privacy_url`.
    pub body_markdown: String,
    pub segment_id: i64,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SendRequest {
    /// When to send: RFC 3339, or a local time in Europe/Oslo (`2026-12-01T09:00`).
    /// Absent or past: now.
    pub send_at: Option<String>,
}

/// A newsletter with its live progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewsletterView {
    pub id: i64,
    pub subject: String,
    pub body_markdown: String,
    pub segment_id: Option<i64>,
    /// draft, scheduled, sending, paused, cancelled or done.
    pub status: String,
    /// Why it is paused (automatically or because it was late), if it is.
    pub status_reason: Option<String>,
    pub send_at: Option<DateTime<Utc>>,
    /// The frozen ledger's size once sending started; before that the audience now.
    pub recipients: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub unsubscribes: i64,
    /// Messages per second over the last 10 seconds.
    pub rate_per_sec: f64,
    /// Seconds until done at the current rate.
    pub eta_seconds: Option<u64>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub async fn view(
    state: &AppState,
    n: Newsletter,
) -> Result<NewsletterView, talentpool_core::Error> {
    let progress = newsletters::progress(&state.db, n.id).await?;
    let recipients = if n.frozen_at.is_some() {
        progress.recipients
    } else {
        i64::try_from(newsletters::audience_count(&state.db, n.segment_id).await?)
            .unwrap_or(i64::MAX)
    };
    let rate_per_sec = if newsletters::status_of(&n) == newsletters::Status::Sending {
        state.send_rates.observe(n.id, progress.sent).unwrap_or(0.0)
    } else {
        state.send_rates.forget(n.id);
        0.0
    };
    let eta_seconds = (rate_per_sec > 0.0 && progress.queued > 0)
        .then(|| (progress.queued as f64 / rate_per_sec).ceil() as u64);
    Ok(NewsletterView {
        id: n.id,
        subject: n.subject,
        body_markdown: n.body_markdown,
        segment_id: n.segment_id,
        status: n.status,
        status_reason: n.status_reason,
        send_at: n.send_at,
        recipients,
        queued: progress.queued,
        sent: progress.sent,
        failed: progress.failed,
        skipped: progress.skipped,
        unsubscribes: progress.unsubscribes,
        rate_per_sec,
        eta_seconds,
        started_at: n.started_at,
        finished_at: n.finished_at,
    })
}

fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "No such newsletter")
}

pub fn refused(refused: Refused) -> Problem {
    match refused {
        Refused::NotFound => not_found(),
        Refused::Conflict(detail) => {
            Problem::new(StatusCode::CONFLICT, "conflict", "Not possible now").detail(detail)
        }
    }
}

fn draft(new: NewNewsletter) -> DraftInput {
    DraftInput {
        subject: new.subject,
        body_markdown: new.body_markdown,
        segment_id: Some(new.segment_id),
    }
}

/// Save a draft; template errors come back as a 422 with their lines.
#[utoipa::path(post, path = "/api/v1/newsletters", request_body = NewNewsletter,
    responses((status = 201, body = NewsletterView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "newsletters")]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<NewNewsletter>, JsonRejection>,
) -> Result<(StatusCode, Json<NewsletterView>), Problem> {
    let Json(new) = body?;
    let privacy = state.settings.url("/privacy");
    match newsletters::create(&state.db, &draft(new), caller.actor(), None, &privacy).await? {
        Ok(n) => Ok((StatusCode::CREATED, Json(view(&state, n).await?))),
        Err(problems) => Err(Problem::validation(problems)),
    }
}

/// Change a draft.
#[utoipa::path(put, path = "/api/v1/newsletters/{id}", params(("id" = i64, Path)), request_body = NewNewsletter,
    responses((status = 200, body = NewsletterView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "newsletters")]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Result<Json<NewNewsletter>, JsonRejection>,
) -> Result<Json<NewsletterView>, Problem> {
    let Json(new) = body?;
    let privacy = state.settings.url("/privacy");
    match newsletters::update(&state.db, id, &draft(new), caller.actor(), &privacy).await? {
        None => Err(not_found()),
        Some(Ok(n)) => Ok(Json(view(&state, n).await?)),
        Some(Err(problems)) => Err(Problem::validation(problems)),
    }
}

/// A newsletter with its status and counts.
#[utoipa::path(get, path = "/api/v1/newsletters/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = NewsletterView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "newsletters")]
pub async fn get(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<NewsletterView>, Problem> {
    let n = newsletters::find(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(view(&state, n).await?))
}

async fn answer(
    state: &AppState,
    result: Result<Newsletter, Refused>,
) -> Result<Json<NewsletterView>, Problem> {
    match result {
        Ok(n) => Ok(Json(view(state, n).await?)),
        Err(r) => Err(refused(r)),
    }
}

/// Send now, or at `send_at`.
#[utoipa::path(post, path = "/api/v1/newsletters/{id}/send", params(("id" = i64, Path)), request_body = Option<SendRequest>,
    responses((status = 200, body = NewsletterView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "newsletters")]
pub async fn send(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<NewsletterView>, Problem> {
    // The body is optional: empty (whatever the Content-Type) means "now".
    let request: SendRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SendRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
            )
            .detail(e.to_string())
        })?
    };
    let send_at = match request
        .send_at
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(raw) => Some(newsletters::parse_send_at(raw).ok_or_else(|| {
            Problem::validation(vec![(
                "send_at".into(),
                "Use RFC 3339 or a local time like 2026-12-01T09:00 (Europe/Oslo).".into(),
            )])
        })?),
    };
    let result = newsletters::send(&state.db, id, send_at, Utc::now(), caller.actor()).await?;
    answer(&state, result).await
}

#[utoipa::path(post, path = "/api/v1/newsletters/{id}/pause", params(("id" = i64, Path)),
    responses((status = 200, body = NewsletterView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])), tag = "newsletters")]
pub async fn pause(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<NewsletterView>, Problem> {
    let result = newsletters::pause(&state.db, id, None, caller.actor()).await?;
    answer(&state, result).await
}

#[utoipa::path(post, path = "/api/v1/newsletters/{id}/resume", params(("id" = i64, Path)),
    responses((status = 200, body = NewsletterView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])), tag = "newsletters")]
pub async fn resume(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<NewsletterView>, Problem> {
    let result = newsletters::resume(&state.db, id, Utc::now(), caller.actor()).await?;
    answer(&state, result).await
}

#[utoipa::path(post, path = "/api/v1/newsletters/{id}/cancel", params(("id" = i64, Path)),
    responses((status = 200, body = NewsletterView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])), tag = "newsletters")]
pub async fn cancel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<NewsletterView>, Problem> {
    let result = newsletters::cancel(&state.db, id, Utc::now(), caller.actor()).await?;
    answer(&state, result).await
}
