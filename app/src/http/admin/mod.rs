//! The secretariat's back office under `/admin`: staff sessions (server-side, in the
//! database), login with throttling, the pool, candidate pages, segments and export.

pub mod campaigns;
pub mod candidate_data;
pub mod companies;
pub mod consent_texts;
pub mod forwards;
pub mod login;
pub mod manage;
pub mod newsletters;
pub mod pool;

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use axum::{
    Router,
    extract::{FromRequestParts, OriginalUri},
    http::request::Parts,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use talentpool_core::{audit::Actor, staff};
use tower_sessions::{
    Expiry, Session, SessionManagerLayer,
    cookie::{SameSite, time},
};

use crate::{session_store::DbSessionStore, state::AppState};

const STAFF_KEY: &str = "staff_id";
/// A staff session ends after this long without a request.
pub const IDLE_TIMEOUT_MINUTES: i64 = 60 * 8;

/// Login attempts are limited per account and per client address, whatever the
/// outcome, so that passwords cannot be guessed quickly.
pub struct LoginLimits {
    pub by_account: DefaultKeyedRateLimiter<String>,
    pub by_ip: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginLimits {
    pub fn new(per_account_per_hour: u32, per_ip_per_hour: u32) -> Self {
        let quota = |per_hour: u32| {
            let per_hour = NonZeroU32::new(per_hour.max(1)).unwrap_or(NonZeroU32::MIN);
            Quota::per_hour(per_hour)
                .allow_burst(NonZeroU32::new(per_hour.get().min(10)).unwrap_or(NonZeroU32::MIN))
        };
        Self {
            by_account: RateLimiter::keyed(quota(per_account_per_hour)),
            by_ip: RateLimiter::keyed(quota(per_ip_per_hour)),
        }
    }
}

/// A signed-in secretariat user.
pub struct Staff(pub staff::StaffUser);

impl Staff {
    pub fn actor(&self) -> Actor {
        Actor::Staff(self.0.id)
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = OriginalUri::from_request_parts(parts, state)
            .await
            .map(|uri| uri.0.to_string())
            .unwrap_or_else(|_| "/admin".into());
        let to_login = || {
            let query = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
            Redirect::to(&format!("/admin/login?{query}")).into_response()
        };
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|e| e.into_response())?;
        let id: Option<i64> = session.get(STAFF_KEY).await.ok().flatten();
        let Some(id) = id else {
            return Err(to_login());
        };
        match staff::find(&state.db, id).await {
            Ok(Some(user)) => Ok(Self(user)),
            Ok(None) => {
                let _ = session.flush().await;
                Err(to_login())
            }
            Err(e) => Err(crate::http::error::Error::from(e).into_response()),
        }
    }
}

pub fn routes(state: &AppState) -> Router<AppState> {
    let store = DbSessionStore::new(state.db.clone());
    let cleanup = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = cleanup.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
        }
    });
    let sessions = SessionManagerLayer::new(store)
        .with_name("tp_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.base_url.starts_with("https://"))
        .with_path("/admin")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            IDLE_TIMEOUT_MINUTES,
        )));
    Router::new()
        .route("/admin", get(pool::pool))
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/logout", post(login::logout))
        .route(
            "/admin/password",
            get(login::password_form).post(login::change_password),
        )
        .route("/admin/candidates/{id}", get(pool::candidate))
        .route(
            "/admin/candidates/{id}/export.json",
            get(candidate_data::export),
        )
        .route("/admin/candidates/{id}/erase", post(candidate_data::erase))
        .route("/admin/export.csv", get(pool::export))
        .route(
            "/admin/segments",
            get(manage::segments_page).post(pool::save_segment),
        )
        .route("/admin/segments/{id}/delete", post(manage::delete_segment))
        .route(
            "/admin/tokens",
            get(manage::tokens_page).post(manage::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(manage::revoke_token))
        .route("/admin/audit", get(manage::audit_page))
        .route(
            "/admin/consents",
            get(consent_texts::page).post(consent_texts::publish),
        )
        .route("/admin/consents/{kind}/notify", post(consent_texts::notify))
        .route(
            "/admin/campaigns",
            get(campaigns::list).post(campaigns::create),
        )
        .route("/admin/campaigns/new", get(campaigns::new_form))
        .route(
            "/admin/campaigns/preview",
            post(campaigns::markdown_preview),
        )
        .route(
            "/admin/campaigns/{id}/landing",
            get(campaigns::landing_preview),
        )
        .route(
            "/admin/campaigns/{id}",
            get(campaigns::show).post(campaigns::update),
        )
        .route("/admin/campaigns/{id}/edit", get(campaigns::edit_form))
        .route(
            "/admin/companies",
            get(companies::list).post(companies::create),
        )
        .route("/admin/companies/new", get(companies::new_form))
        .route(
            "/admin/companies/{id}",
            get(companies::show).post(companies::update),
        )
        .route("/admin/companies/{id}/edit", get(companies::edit_form))
        .route("/admin/companies/{id}/archive", post(companies::archive))
        .route("/admin/companies/{id}/users", post(companies::invite))
        .route("/admin/forwards", post(forwards::create))
        .route(
            "/admin/newsletters",
            get(newsletters::list).post(newsletters::create),
        )
        .route("/admin/newsletters/new", get(newsletters::new_form))
        .route(
            "/admin/newsletters/{id}",
            get(newsletters::show).post(newsletters::update),
        )
        .route("/admin/newsletters/{id}/edit", get(newsletters::edit_form))
        .route(
            "/admin/newsletters/{id}/progress",
            get(newsletters::progress),
        )
        .route(
            "/admin/newsletters/{id}/preview.html",
            get(newsletters::preview_html),
        )
        .route("/admin/newsletters/{id}/test", post(newsletters::send_test))
        .route("/admin/newsletters/{id}/{action}", post(newsletters::act))
        .route(
            "/admin/forwards/{id}/revoke",
            post(forwards::revoke_forward),
        )
        .route(
            "/admin/candidates/{id}/companies/{company_id}/revoke",
            post(forwards::revoke_candidate),
        )
        .layer(sessions)
}
