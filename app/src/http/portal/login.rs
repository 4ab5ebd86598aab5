//! Recruiters' sign-in and sign-out, the invitation link that sets a password, and the
//! terms of use accepted at first sign-in.

use std::net::SocketAddr;

use axum::{
    Form,
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde::Deserialize;
use talentpool_core::{
    audit,
    company_users::{self, Invite},
    staff::MIN_PASSWORD_LEN,
};
use tower_sessions::Session;

use super::{PortalSession, USER_KEY};
use crate::{
    http::{
        csrf,
        error::Error,
        sign_in::{self, CsrfOnly, LoginForm, NextQuery},
    },
    state::AppState,
};

/// Only portal paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/portal" || n.starts_with("/portal/") || n.starts_with("/portal?"))
                && !n.starts_with("//")
                && !n.contains('\\') =>
        {
            n.to_owned()
        }
        _ => "/portal".to_owned(),
    }
}

pub async fn form(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Query(query): Query<NextQuery>,
) -> Result<Response, Error> {
    let page = state.views.render(
        "portal_login.html",
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
            "portal_login.html",
            &form,
            &next,
            status,
            message,
        )
    };
    let account = format!("portal:{}", form.email.trim().to_lowercase());
    if sign_in::throttled(&state, &headers, peer, &account) {
        return problem(StatusCode::TOO_MANY_REQUESTS, sign_in::THROTTLED);
    }
    let Some((user, company)) =
        company_users::authenticate(&state.db, &form.email, &form.password).await?
    else {
        return problem(StatusCode::UNAUTHORIZED, sign_in::WRONG);
    };
    sign_in::begin(&session, USER_KEY, user.id).await?;
    audit::record(
        &state.db,
        audit::Actor::CompanyUser(user.id),
        "company_user.login",
        "company",
        Some(company.id),
        None,
    )
    .await?;
    let to = if company_users::has_accepted_terms(&user) {
        next
    } else {
        "/portal/terms".to_owned()
    };
    Ok(Redirect::to(&to).into_response())
}

pub async fn logout(
    csrf: CsrfToken,
    session: Session,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, Error> {
    sign_in::end(&csrf, &session, &form, "/portal/login").await
}

fn invite_problem(invite: &Invite) -> Option<(StatusCode, &'static str)> {
    match invite {
        Invite::Valid(_) => None,
        Invite::Expired => Some((
            StatusCode::GONE,
            "This invitation link has expired. Ask the Talent Pool secretariat for a new one.",
        )),
        Invite::Used => Some((
            StatusCode::GONE,
            "This invitation link was used already. Sign in with your password, or ask the secretariat for a new link.",
        )),
        Invite::Unknown => Some((
            StatusCode::NOT_FOUND,
            "This invitation link is not valid. Check that you copied all of it.",
        )),
    }
}

pub async fn invite_form(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let invite = company_users::find_invite(&state.db, &token).await?;
    let (status, problem) = invite_problem(&invite).unwrap_or((StatusCode::OK, ""));
    let email = match &invite {
        Invite::Valid(user) => Some(user.email.clone()),
        _ => None,
    };
    let page = state.views.render(
        "portal_invite.html",
        context! { csrf_token => csrf::token(&csrf)?, token, email, problem, min_len => MIN_PASSWORD_LEN },
    )?;
    Ok((status, csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn accept_invite(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    let error = if form.password.chars().count() < MIN_PASSWORD_LEN {
        Some(format!(
            "Choose a password of at least {MIN_PASSWORD_LEN} characters."
        ))
    } else if form.password != form.password_again {
        Some("The two passwords are not the same.".to_owned())
    } else {
        None
    };
    let invite = match error {
        Some(_) => company_users::find_invite(&state.db, &token).await?,
        None => company_users::accept_invite(&state.db, &token, &form.password).await?,
    };
    if let (Invite::Valid(_), None) = (&invite, &error) {
        return Ok(Redirect::to("/portal/login?welcome=1").into_response());
    }
    let (status, problem) =
        invite_problem(&invite).unwrap_or((StatusCode::UNPROCESSABLE_ENTITY, ""));
    let email = match &invite {
        Invite::Valid(user) => Some(user.email.clone()),
        _ => None,
    };
    let page = state.views.render(
        "portal_invite.html",
        context! { csrf_token => csrf::token(&csrf)?, token, email, problem, error, min_len => MIN_PASSWORD_LEN },
    )?;
    Ok((status, csrf, page).into_response())
}

pub async fn terms_form(
    State(state): State<AppState>,
    portal: PortalSession,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let page = state.views.render(
        "portal_terms.html",
        context! {
            csrf_token => csrf::token(&csrf)?, company_name => &portal.company.name,
            user_email => &portal.user.email,
            accepted => company_users::has_accepted_terms(&portal.user),
            version => company_users::TERMS_VERSION,
        },
    )?;
    Ok((csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct TermsForm {
    #[serde(default)]
    accept: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn accept_terms(
    State(state): State<AppState>,
    portal: PortalSession,
    csrf: CsrfToken,
    Form(form): Form<TermsForm>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &form.authenticity_token)?;
    if form.accept != "yes" {
        let page = state.views.render(
            "portal_terms.html",
            context! {
                csrf_token => csrf::token(&csrf)?, company_name => &portal.company.name,
                user_email => &portal.user.email, accepted => false,
                version => company_users::TERMS_VERSION,
                error => "Tick the box to accept the terms of use; without them the portal cannot be used.",
            },
        )?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response());
    }
    company_users::accept_terms(&state.db, &portal.user).await?;
    Ok(Redirect::to("/portal").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_portal_paths_are_followed() {
        assert_eq!(
            safe_next(Some("/portal/candidates/3")),
            "/portal/candidates/3"
        );
        assert_eq!(safe_next(Some("/portal?status=new")), "/portal?status=new");
        assert_eq!(safe_next(Some("/admin")), "/portal");
        assert_eq!(safe_next(Some("/portalx")), "/portal");
        assert_eq!(safe_next(Some("//evil.example")), "/portal");
        assert_eq!(safe_next(None), "/portal");
    }
}
