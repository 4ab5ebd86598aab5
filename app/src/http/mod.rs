//! HTTP: the one place where routes are merged and middleware applied.

pub mod admin;
pub mod api;
pub mod client_ip;
pub mod confirm;
pub mod csrf;
pub mod dev;
pub mod error;
pub mod form;
pub mod landing;
pub mod me;
pub mod pages;
pub mod portal;
pub mod problem;
pub mod sign_in;
pub mod unsubscribe;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, header},
    routing::{delete, get, post},
};
use tower_governor::{GovernorLayer, governor::GovernorConfigBuilder};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use self::client_ip::ClientIp;
use crate::state::AppState;

/// Largest sign-up form post: a 5 MB CV plus the fields, with room for encoding.
const MAX_FORM_BYTES: usize = 6 * 1024 * 1024;
/// Largest request anywhere else.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    // Public writes are limited per client IP (see `client_ip`).
    let limited = Router::new()
        .route(
            "/c/{slug}",
            post(landing::submit).layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route("/confirm/resend", post(confirm::resend))
        .route("/me", post(me::request_link))
        .route("/api/v1/signups", post(api::signups::create));
    let client_ip = ClientIp {
        trusted_header: state.settings.client_ip_header.clone(),
    };
    let limited = rate_limited(limited, state.settings.signup_rate_per_minute, client_ip);

    let mut router = Router::new()
        .route("/", get(pages::home))
        .route("/c/{slug}", get(landing::show))
        .route("/c/{slug}/thanks", get(landing::thanks))
        .route("/confirm/resend", get(confirm::resend_form))
        .route("/confirm/{token}", get(confirm::confirm))
        .route("/privacy", get(pages::privacy))
        .route("/me", get(me::request_form))
        .route("/keep/{token}", get(me::keep))
        .route("/me/{token}", get(me::page))
        .route("/me/{token}/profile", post(me::update_profile))
        .route("/me/{token}/consents", post(me::change_consent))
        .route(
            "/me/{token}/cv",
            get(me::download_cv)
                .post(me::change_cv)
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route("/me/{token}/export.json", get(me::export))
        .route("/me/{token}/delete", post(me::delete))
        .route("/assets/app.css", get(pages::stylesheet))
        .route(
            "/assets/campaign-preview.js",
            get(pages::campaign_preview_script),
        )
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/v1/candidates", get(api::candidates::list))
        .route(
            "/api/v1/candidates/{id}",
            get(api::candidates::get).delete(api::candidate_data::erase),
        )
        .route(
            "/api/v1/candidates/{id}/export",
            get(api::candidate_data::export),
        )
        .route(
            "/api/v1/segments",
            get(api::segments::list).post(api::segments::create),
        )
        .route(
            "/api/v1/segments/{id}",
            get(api::segments::get).delete(api::segments::delete),
        )
        .route(
            "/api/v1/segments/{id}/candidates",
            get(api::segments::candidates),
        )
        .route(
            "/api/v1/companies",
            get(api::companies::list).post(api::companies::create),
        )
        .route(
            "/api/v1/companies/{id}",
            get(api::companies::get).put(api::companies::update),
        )
        .route(
            "/api/v1/companies/{id}/users",
            post(api::companies::invite_user),
        )
        .route("/api/v1/forwards", post(api::forwards::create))
        .route(
            "/api/v1/newsletters",
            axum::routing::post(api::newsletters::create),
        )
        .route(
            "/api/v1/newsletters/{id}",
            get(api::newsletters::get).put(api::newsletters::update),
        )
        .route(
            "/api/v1/newsletters/{id}/send",
            post(api::newsletters::send),
        )
        .route(
            "/api/v1/newsletters/{id}/pause",
            post(api::newsletters::pause),
        )
        .route(
            "/api/v1/newsletters/{id}/resume",
            post(api::newsletters::resume),
        )
        .route(
            "/api/v1/newsletters/{id}/cancel",
            post(api::newsletters::cancel),
        )
        .route(
            "/u/{token}",
            get(unsubscribe::page).post(unsubscribe::submit),
        )
        .route("/assets/newsletter.js", get(pages::newsletter_script))
        .route("/api/v1/forwards/{id}", delete(api::forwards::revoke))
        .merge(limited)
        .merge(admin::routes(&state))
        .merge(portal::routes(&state));
    if state.settings.is_development() {
        router = router
            .route("/dev/outbox", get(dev::outbox))
            .route("/dev/outbox/{id}", get(dev::message));
    }
    // Production is served over HTTPS only (Fly's `force_https`): browsers keep to it.
    let hsts = (!state.settings.is_development()).then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    let x_request_id = HeaderName::from_static("x-request-id");
    router
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower::util::option_layer(hsts))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

fn rate_limited(
    router: Router<AppState>,
    per_minute: u32,
    client_ip: ClientIp,
) -> Router<AppState> {
    if per_minute == 0 {
        return router;
    }
    let period_ms = (60_000 / u64::from(per_minute)).max(1);
    let Some(config) = GovernorConfigBuilder::default()
        .per_millisecond(period_ms)
        .burst_size(per_minute.clamp(1, 10))
        .key_extractor(client_ip)
        .finish()
    else {
        return router;
    };
    let config = Arc::new(config);
    let limiter = config.limiter().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    router.layer(GovernorLayer::new(config).error_handler(too_many_requests))
}

/// The limiter's refusal as a problem document (429 with `Retry-After`), like every other
/// API error; the limiter's own answer was plain text.
fn too_many_requests(error: tower_governor::GovernorError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (status, wait, headers) = match error {
        tower_governor::GovernorError::TooManyRequests { wait_time, headers } => (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            Some(wait_time),
            headers,
        ),
        tower_governor::GovernorError::UnableToExtractKey => {
            (axum::http::StatusCode::BAD_REQUEST, None, None)
        }
        tower_governor::GovernorError::Other { code, headers, .. } => (code, None, headers),
    };
    let problem = if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
        problem::Problem::new(status, "too-many-requests", "Too many requests").detail(format!(
            "Too many requests from this address. Try again in {} s.",
            wait.unwrap_or(1)
        ))
    } else {
        problem::Problem::new(status, "bad-request", "Bad request")
    };
    let mut response = problem.into_response();
    if let Some(headers) = headers {
        response.headers_mut().extend(headers);
    }
    if let Some(wait) = wait
        && let Ok(value) = HeaderValue::from_str(&wait.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
