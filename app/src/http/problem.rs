//! RFC 9457 problem documents (`application/problem+json`) for the JSON API.

use axum::{
    Json,
    extract::rejection::JsonRejection,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::Error;

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The public field name, as in the form.
    pub field: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// One entry per bad field (validation problems only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str) -> Self {
        Self {
            kind: format!("/problems/{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
        }
    }

    /// A 422 naming each bad field.
    pub fn validation(errors: Vec<(String, String)>) -> Self {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
        )
        .detail("One or more fields are invalid; see `errors`.");
        p.errors = errors
            .into_iter()
            .map(|(field, message)| FieldProblem { field, message })
            .collect();
        p
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation(errors) => Problem::validation(
                errors
                    .iter()
                    .map(|(field, message)| (field.to_owned(), message.to_owned()))
                    .collect(),
            ),
            Error::NotFound => Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found"),
            Error::Gone => Problem::new(StatusCode::GONE, "gone", "Gone"),
            Error::BadRequest(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").detail(detail)
            }
            Error::Csrf => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            Error::Unexpected(e) => {
                tracing::error!(error = ?e, "API request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                )
            }
        }
    }
}

impl From<talentpool_core::Error> for Problem {
    fn from(e: talentpool_core::Error) -> Self {
        Error::from(e).into()
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
            )
            .detail(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send Content-Type: application/json",
            ),
            other => Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Malformed JSON")
                .detail(other.body_text()),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Json(self),
        )
            .into_response()
    }
}
