//! The web app's one error type. Pages render it as an HTML page with the right status;
//! the JSON API turns it into a problem document (`super::problem`).

use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use talentpool_core::domain::signup::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("gone")]
    Gone,
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the form expired")]
    Csrf,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Gone => StatusCode::GONE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> (&'static str, String) {
        match self {
            Self::NotFound => ("Page not found", "There is no page at this address. Check the link, or start from the front page.".into()),
            Self::Gone => ("This page is gone", "It was removed and will not come back.".into()),
            Self::Validation(_) => ("Check your answers", "Some answers need a correction.".into()),
            Self::BadRequest(detail) => ("The request could not be read", detail.clone()),
            Self::Csrf => ("The form expired", "For your security the form works only for a while after it was opened. Go back, reload the page and send it again.".into()),
            Self::Unexpected(_) => ("Something went wrong", "We could not complete this request. Please try again in a moment.".into()),
        }
    }
}

macro_rules! from_unexpected {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Unexpected(anyhow::Error::new(e))
            }
        }
    )*};
}
from_unexpected!(
    talentpool_core::Error,
    sea_orm::DbErr,
    minijinja::Error,
    serde_json::Error
);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Self::Unexpected(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let status = self.status();
        let (title, detail) = self.message();
        let body = format!(
            include_str!("../../templates/error_fallback.html"),
            title = title,
            detail = html_escape(&detail),
        );
        (status, Html(body)).into_response()
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
