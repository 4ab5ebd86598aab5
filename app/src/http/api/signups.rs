//! `POST /api/v1/signups`: the sign-up form as JSON, for partners' own forms.

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use talentpool_core::{
    candidates::SignupSource,
    domain::signup::{FieldErrors, SignupInput},
};
use utoipa::ToSchema;

use crate::{
    http::{error::Error, landing::open_campaign, problem::Problem},
    signups::{self, Submission},
    state::AppState,
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    /// The campaign's slug, as in `/c/{slug}`.
    pub campaign: String,
    #[serde(flatten)]
    pub answers: SignupInput,
    #[serde(flatten)]
    pub source: SignupSource,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupAccepted {
    /// Always `pending_confirmation`: the address must be confirmed through the
    /// emailed link. The answer is the same for new and known addresses.
    pub status: &'static str,
}

/// Sign up to the talent pool.
#[utoipa::path(
    post,
    path = "/api/v1/signups",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Recorded; a confirmation email is on its way", body = SignupAccepted),
        (status = 404, description = "Unknown campaign", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The campaign is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named in `errors`", body = Problem, content_type = "application/problem+json"),
    ),
    tag = "sign-up"
)]
pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(StatusCode, Json<SignupAccepted>), Problem> {
    let Json(body) = body?;
    let request = parse(body)?;
    let campaign = open_campaign(&state, &request.campaign)
        .await
        .map_err(|e| match e {
            Error::NotFound => Problem::new(StatusCode::NOT_FOUND, "not-found", "Unknown campaign")
                .detail(format!("No campaign has the slug {:?}.", request.campaign)),
            Error::Gone => Problem::new(StatusCode::GONE, "gone", "The campaign is closed"),
            other => other.into(),
        })?;
    signups::submit(
        &state,
        &campaign,
        Submission {
            input: request.answers,
            cv: None,
            read_errors: FieldErrors::default(),
            source: request.source,
            channel: "api",
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(SignupAccepted {
            status: "pending_confirmation",
        }),
    ))
}

/// Reads the body field by field, so that a value of the wrong type is reported with
/// its field name.
fn parse(body: serde_json::Value) -> Result<SignupRequest, Problem> {
    let invalid = |field: &str, message: String| {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Problem::from(Error::Validation(errors))
    };
    let campaign = match body.get("campaign") {
        Some(serde_json::Value::String(slug)) if !slug.trim().is_empty() => slug.trim().to_owned(),
        _ => {
            return Err(invalid(
                "campaign",
                "Give the campaign's slug as a string.".into(),
            ));
        }
    };
    let answers: SignupInput = serde_path_to_error::deserialize(&body).map_err(|e| {
        let field = e.path().to_string();
        let field = field
            .split(['.', '['])
            .next()
            .unwrap_or_default()
            .to_owned();
        let message = format!("{field}: {}", e.inner());
        let mut problem = invalid(&field, message.clone());
        problem.detail = Some(message);
        problem
    })?;
    let source: SignupSource = serde_json::from_value(body).unwrap_or_default();
    Ok(SignupRequest {
        campaign,
        answers,
        source,
    })
}
