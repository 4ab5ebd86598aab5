//! `Authorization: Bearer <token>` for the secretariat's API endpoints.

use axum::{
    extract::FromRequestParts,
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use talentpool_core::{api_tokens, audit::Actor};

use crate::{http::problem::Problem, state::AppState};

/// A caller holding an active secretariat API token.
#[derive(Debug, Clone, Copy)]
pub struct ApiCaller {
    pub token_id: i64,
}

impl ApiCaller {
    pub fn actor(&self) -> Actor {
        Actor::ApiToken(self.token_id)
    }
}

pub struct Unauthorized(Problem);

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"talentpool\""),
        );
        response
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = |detail: &str| {
            Unauthorized(
                Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
                    .detail(detail),
            )
            .into_response()
        };
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized("Send Authorization: Bearer <token>."));
        };
        let raw = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or_default();
        match api_tokens::authenticate(&state.db, raw).await {
            Ok(Some(token)) => Ok(Self { token_id: token.id }),
            Ok(None) => Err(unauthorized("The token is unknown or revoked.")),
            Err(e) => Err(Problem::from(e).into_response()),
        }
    }
}
