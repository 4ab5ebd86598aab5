//! What the secretariat's and the recruiters' sign-in pages share: the forms, the
//! throttling of attempts (per account and per client address, whatever the outcome),
//! the rendering of the form with its message, and the session switch at sign-in and
//! sign-out. Each area keeps its own page, session key and what follows sign-in.

use std::net::SocketAddr;

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    http::{client_ip::ClientIp, csrf, error::Error},
    state::AppState,
};

#[derive(Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub authenticity_token: String,
}

/// A form whose only field is the CSRF token (sign-out).
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub authenticity_token: String,
}

pub fn session_error(e: impl std::fmt::Display) -> Error {
    Error::Unexpected(anyhow::anyhow!("session: {e}"))
}

/// Counts an attempt for `account` and for the client address; `true` when either is
/// over its limit.
pub fn throttled(state: &AppState, headers: &HeaderMap, peer: SocketAddr, account: &str) -> bool {
    let ip = ClientIp {
        trusted_header: state.settings.client_ip_header.clone(),
    }
    .from_parts(headers, Some(peer));
    let throttled = state
        .login_limits
        .by_account
        .check_key(&account.to_owned())
        .is_err()
        || ip.is_some_and(|ip| state.login_limits.by_ip.check_key(&ip).is_err());
    if throttled {
        tracing::warn!(ip = ?ip, "sign-in throttled");
    }
    throttled
}

pub const THROTTLED: &str = "Too many sign-in attempts. Wait a while and try again.";
pub const WRONG: &str = "The email address or password is not right.";

/// The sign-in page `template` again, with what was typed and why it did not work.
pub fn render_problem(
    state: &AppState,
    csrf: &CsrfToken,
    template: &str,
    form: &LoginForm,
    next: &str,
    status: StatusCode,
    message: &str,
) -> Result<Response, Error> {
    let page = state.views.render(
        template,
        context! { csrf_token => csrf::token(csrf)?, next, email => &form.email, error => message },
    )?;
    Ok((status, csrf.clone(), page).into_response())
}

/// Starts the signed-in session: a new session id first, so that a session fixed
/// before sign-in is worthless.
pub async fn begin(session: &Session, key: &str, user_id: i64) -> Result<(), Error> {
    session.cycle_id().await.map_err(session_error)?;
    session.insert(key, user_id).await.map_err(session_error)
}

/// Ends the session (after checking the form's token) and sends the browser to `to`.
pub async fn end(
    csrf: &CsrfToken,
    session: &Session,
    form: &CsrfOnly,
    to: &str,
) -> Result<Response, Error> {
    csrf::verify(csrf, &form.authenticity_token)?;
    session.flush().await.map_err(session_error)?;
    Ok(Redirect::to(to).into_response())
}
