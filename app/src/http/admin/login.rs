//! Staff login, logout and password change.

use std::net::SocketAddr;

use axum::{
    Form,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde::Deserialize;
use talentpool_core::{audit, staff};
use tower_sessions::Session;

use super::{STAFF_KEY, Staff};
use crate::http::{
    csrf,
    sign_in::{self, CsrfOnly, LoginForm, NextQuery},
};
use crate::{http::error::Error, state::AppState};

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

pub async fn form(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Query(query): Query<NextQuery>,
) -> Result<Response, Error> {
    let page = state.views.render(
        "admin_login.html",
        context! { csrf_token => csrf::token(&csrf)?, next => safe_next(query.next.as_deref()) },
    )?;
    Ok((csrf, page).into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    csrf: CsrfToken,
    session: Session,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let next = safe_next(form.next.as_deref());
    let problem = |status, message| {
        sign_in::render_problem(
            &state,
            &csrf,
            "admin_login.html",
            &form,
            &next,
            status,
            message,
        )
    };
    if sign_in::throttled(&state, &headers, peer, &form.email.trim().to_lowercase()) {
        return problem(StatusCode::TOO_MANY_REQUESTS, sign_in::THROTTLED);
    }
    let Some(user) = staff::authenticate(&state.db, &form.email, &form.password).await? else {
        return problem(StatusCode::UNAUTHORIZED, sign_in::WRONG);
    };
    sign_in::begin(&session, STAFF_KEY, user.id).await?;
    audit::record(
        &state.db,
        audit::Actor::Staff(user.id),
        "staff.login",
        "staff",
        Some(user.id),
        None,
    )
    .await?;
    Ok(Redirect::to(&next).into_response())
}

pub async fn logout(
    csrf: CsrfToken,
    session: Session,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Error> {
    sign_in::end(&csrf, &session, &form, "/admin/login").await
}

pub async fn password_form(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let page = state.views.render(
        "admin_password.html",
        context! { csrf_token => csrf::token(&csrf)?, staff_email => staff.0.email },
    )?;
    Ok((csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let (status, message, error) = if form.new.chars().count() < staff::MIN_PASSWORD_LEN {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(format!(
                "The new password needs at least {} characters.",
                staff::MIN_PASSWORD_LEN
            )),
        )
    } else if staff::change_password(&state.db, staff.0.id, &form.current, &form.new).await? {
        audit::record(
            &state.db,
            staff.actor(),
            "staff.password_changed",
            "staff",
            Some(staff.0.id),
            None,
        )
        .await?;
        (StatusCode::OK, Some("Your password is changed."), None)
    } else {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("The current password is not right.".to_owned()),
        )
    };
    let page = state.views.render(
        "admin_password.html",
        context! { csrf_token => csrf::token(&csrf)?, staff_email => staff.0.email, message, error },
    )?;
    Ok((status, csrf, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_paths_are_followed() {
        assert_eq!(
            safe_next(Some("/admin/candidates/3")),
            "/admin/candidates/3"
        );
        assert_eq!(safe_next(Some("https://evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }
}
