//! The JSON API under `/api/v1`, described by the OpenAPI document at
//! `/api/openapi.json`.

pub mod signups;

use axum::{Json, response::IntoResponse};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Talent Pool API",
        version = "1",
        description = "Sign-ups (public) and the secretariat's API. Errors are application/problem+json."
    ),
    paths(signups::create),
    components(schemas(
        signups::SignupRequest,
        signups::SignupAccepted,
        super::problem::Problem,
        super::problem::FieldProblem,
    ))
)]
pub struct ApiDoc;

pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
