//! The company portal under `/portal`: recruiters of participating companies see the
//! candidates forwarded to their company, and nothing else. Sessions are separate from
//! the back office's (their own cookie, path `/portal`); CSRF and sign-in throttling
//! follow the same rules.
//!
//! Every route is listed once in [`route_table`], from which the router is built; the
//! isolation test walks the same table, so a new route cannot escape it.

pub mod candidates;
pub mod login;

use axum::{
    Router,
    extract::{FromRequestParts, OriginalUri},
    http::{Method, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::{MethodRouter, get, post},
};
use talentpool_core::{
    audit::Actor,
    companies::Company,
    company_users::{self, CompanyUser},
};
use tower_sessions::{
    Expiry, Session, SessionManagerLayer,
    cookie::{SameSite, time},
};

use crate::{session_store::DbSessionStore, state::AppState};

const USER_KEY: &str = "company_user_id";
/// A portal session ends after this long without a request.
pub const IDLE_TIMEOUT_MINUTES: i64 = 60 * 8;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, invitation links).
    Public,
    /// A signed-in recruiter (who accepted the terms, except on the terms page).
    Recruiter,
}

/// One route of the portal.
pub struct PortalRoute {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

macro_rules! portal_routes {
    ($($method:ident $path:literal $access:ident => $handler:path),* $(,)?) => {
        vec![$(PortalRoute {
            method: Method::$method,
            path: $path,
            access: Access::$access,
            handler: portal_routes!(@router $method $handler),
        }),*]
    };
    (@router GET $handler:path) => { get($handler) };
    (@router POST $handler:path) => { post($handler) };
}

/// Every portal route: method, path, who may call it, handler.
pub fn route_table() -> Vec<PortalRoute> {
    portal_routes![
        GET "/portal/login" Public => login::form,
        POST "/portal/login" Public => login::submit,
        POST "/portal/logout" Public => login::logout,
        GET "/portal/invite/{token}" Public => login::invite_form,
        POST "/portal/invite/{token}" Public => login::accept_invite,
        GET "/portal/terms" Recruiter => login::terms_form,
        POST "/portal/terms" Recruiter => login::accept_terms,
        GET "/portal" Recruiter => candidates::list,
        GET "/portal/export.csv" Recruiter => candidates::export,
        GET "/portal/candidates/{id}" Recruiter => candidates::show,
        GET "/portal/candidates/{id}/cv" Recruiter => candidates::cv,
        POST "/portal/candidates/{id}/status" Recruiter => candidates::set_status,
        POST "/portal/candidates/{id}/notes" Recruiter => candidates::add_note,
    ]
}

pub fn routes(state: &AppState) -> Router<AppState> {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("tp_portal")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.base_url.starts_with("https://"))
        .with_path("/portal")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            IDLE_TIMEOUT_MINUTES,
        )));
    route_table()
        .into_iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.handler)
        })
        .layer(sessions)
}

/// A signed-in recruiter, whatever the state of their terms acceptance.
pub struct PortalSession {
    pub user: CompanyUser,
    pub company: Company,
}

/// A signed-in recruiter who accepted the current terms of use. Every query for
/// candidates takes `company.id` from here, never from the request.
pub struct Recruiter {
    pub user: CompanyUser,
    pub company: Company,
}

impl Recruiter {
    pub fn actor(&self) -> Actor {
        Actor::CompanyUser(self.user.id)
    }
}

fn to_login(next: &str) -> Response {
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/portal/login?{query}")).into_response()
}

impl FromRequestParts<AppState> for PortalSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = OriginalUri::from_request_parts(parts, state)
            .await
            .map(|uri| uri.0.to_string())
            .unwrap_or_else(|_| "/portal".into());
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|e| e.into_response())?;
        let id: Option<i64> = session.get(USER_KEY).await.ok().flatten();
        let Some(id) = id else {
            return Err(to_login(&next));
        };
        match company_users::find_active(&state.db, id).await {
            Ok(Some((user, company))) => Ok(Self { user, company }),
            Ok(None) => {
                let _ = session.flush().await;
                Err(to_login(&next))
            }
            Err(e) => Err(crate::http::error::Error::from(e).into_response()),
        }
    }
}

impl FromRequestParts<AppState> for Recruiter {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let PortalSession { user, company } =
            PortalSession::from_request_parts(parts, state).await?;
        if !company_users::has_accepted_terms(&user) {
            return Err(Redirect::to("/portal/terms").into_response());
        }
        Ok(Self { user, company })
    }
}
