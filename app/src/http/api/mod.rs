//! The JSON API under `/api/v1`, described by the OpenAPI document at
//! `/api/openapi.json`.

pub mod auth;
pub mod candidate_data;
pub mod candidates;
pub mod companies;
pub mod forwards;
pub mod newsletters;
pub mod segments;
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
    paths(
        signups::create,
        candidates::list,
        candidates::get,
        candidate_data::export,
        candidate_data::erase,
        segments::create,
        segments::list,
        segments::get,
        segments::delete,
        segments::candidates,
        companies::create,
        companies::list,
        companies::get,
        companies::update,
        companies::invite_user,
        forwards::create,
        newsletters::create,
        newsletters::update,
        newsletters::get,
        newsletters::send,
        newsletters::pause,
        newsletters::resume,
        newsletters::cancel,
        forwards::revoke,
    ),
    components(schemas(
        signups::SignupRequest,
        signups::SignupAccepted,
        newsletters::NewNewsletter,
        newsletters::SendRequest,
        newsletters::NewsletterView,
        super::problem::Problem,
        super::problem::FieldProblem,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
