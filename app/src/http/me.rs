//! The candidate's own page, `/me/{token}`, opened with the personal link every email
//! carries (no password): change the answers, the CV and the consents, see which
//! companies the profile was shared with, download everything, or delete it all. A
//! fresh link can be asked for on `/me`, which answers the same for any address.

use axum::{
    Form, Json,
    extract::{Path, Query, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::{Map, Value as JsonValue, json};
use talentpool_core::{
    audit::Actor,
    candidates::{self, Candidate},
    consents::{self, Kind},
    domain::signup::FieldErrors,
    privacy::{self, ErasureSource},
    storage,
    tokens::{self, SelfService},
};

use super::{
    error::Error,
    form::FormData,
    landing::{FormChoices, entered_values, error_values},
};
use crate::{http::csrf, state::AppState, views};

/// The page for a link that does not open a profile, with a form to ask for a new one.
fn link_problem(
    state: &AppState,
    csrf: CsrfToken,
    status: StatusCode,
    title: &str,
    detail: &str,
) -> Result<Response, Error> {
    let page = state.views.render(
        "me_request.html",
        context! { outcome => "ask", title, detail, csrf_token => csrf::token(&csrf)? },
    )?;
    Ok((status, csrf, page).into_response())
}

/// The candidate behind a self-service link, or the page that explains why there is none.
async fn owner(
    state: &AppState,
    token: &str,
    csrf: &CsrfToken,
) -> Result<Result<Candidate, Response>, Error> {
    let found = match tokens::self_service_candidate(&state.db, &state.settings.secret_key, token)
        .await?
    {
        SelfService::Valid(id) => candidates::find(&state.db, id).await?,
        SelfService::Expired => {
            return Ok(Err(link_problem(
                state,
                csrf.clone(),
                StatusCode::GONE,
                "This link has expired",
                "For your security, personal links work only for a limited time. Ask for a new one below.",
            )?));
        }
        SelfService::Unknown => None,
    };
    match found {
        Some(candidate) => Ok(Ok(candidate)),
        None => Ok(Err(link_problem(
            state,
            csrf.clone(),
            StatusCode::NOT_FOUND,
            "This link does not work",
            "Check that you copied the whole link from the email, or ask for a new one below.",
        )?)),
    }
}

/// The answers as the profile form shows them.
fn stored_values(c: &Candidate, citizenships: &[String]) -> Map<String, JsonValue> {
    let mut values = Map::new();
    values.insert("full_name".into(), json!(c.full_name));
    values.insert("email".into(), json!(c.email));
    values.insert("citizenship".into(), json!(citizenships));
    values.insert("residence_country".into(), json!(c.residence_country));
    values.insert("profession".into(), json!(c.profession_code));
    values.insert(
        "years_experience".into(),
        json!(c.years_experience.to_string()),
    );
    values.insert("english_level".into(), json!(c.english_level));
    values.insert("norwegian_level".into(), json!(c.norwegian_level));
    values.insert("education_level".into(), json!(c.education_level));
    values.insert("linkedin_url".into(), json!(c.linkedin_url));
    values.insert("phone".into(), json!(c.phone));
    values.insert("partner_profession".into(), json!(c.partner_profession));
    values.insert("work_permit_norway".into(), json!(c.work_permit_norway));
    values.insert("has_partner".into(), json!(c.has_partner));
    values
}

struct PageState<'a> {
    values: Option<Map<String, JsonValue>>,
    errors: &'a FieldErrors,
    saved: Option<&'static str>,
}

async fn render_page(
    state: &AppState,
    csrf: CsrfToken,
    token: &str,
    candidate: &Candidate,
    page_state: PageState<'_>,
) -> Result<Response, Error> {
    let citizenships = candidates::citizenships(&state.db, candidate.id).await?;
    let values = page_state
        .values
        .unwrap_or_else(|| stored_values(candidate, &citizenships));
    let texts = consents::current_texts(&state.db, "en").await?;
    let history = consents::for_candidate(&state.db, candidate.id).await?;
    let all_texts = talentpool_core::entities::consent_text::Entity::find()
        .all(&state.db)
        .await?;
    let consent_items: Vec<JsonValue> = Kind::ALL
        .iter()
        .map(|&kind| {
            let given = match kind {
                Kind::Pool => candidate.consent_pool,
                Kind::Share => candidate.consent_share,
                Kind::Newsletter => candidate.consent_newsletter,
            };
            let active = history
                .iter()
                .rev()
                .find(|c| c.kind == kind.as_str() && c.withdrawn_at.is_none());
            let (title, grant_label, withdraw_label) = match kind {
                Kind::Pool => ("Talent pool", "", ""),
                Kind::Share => (
                    "Sharing with companies",
                    "share my profile with companies",
                    "stop sharing my profile",
                ),
                Kind::Newsletter => ("Newsletters", "send me newsletters", "no more newsletters"),
            };
            let current = texts.get(kind);
            let agreed = active.and_then(|a| all_texts.iter().find(|t| t.id == a.consent_text_id));
            let outdated = agreed.is_some_and(|t| t.id != current.id);
            json!({
                "kind": kind.as_str(), "title": title, "given": given,
                "text": agreed.map_or(current.body.as_str(), |t| t.body.as_str()),
                "outdated": outdated, "new_text": current.body,
                "since": active.map(|c| c.granted_at.format("%-d %B %Y").to_string()),
                "grant_label": grant_label, "withdraw_label": withdraw_label,
            })
        })
        .collect();
    let companies: Vec<JsonValue> = privacy::shared_with(&state.db, candidate.id)
        .await?
        .into_iter()
        .map(|s| {
            let standing = if s.withdrawn_at.is_some() {
                "you withdrew it".to_owned()
            } else if s.revoked_at.is_some() {
                "no longer shared".to_owned()
            } else {
                s.status.replace('_', " ")
            };
            json!({ "company": s.company, "shared_on": s.shared_at.format("%-d %B %Y").to_string(), "state": standing })
        })
        .collect();
    let (error_map, error_list) = error_values(page_state.errors);
    let choices = FormChoices::new();
    let status = if page_state.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = state.views.render(
        "me.html",
        context! {
            token, csrf_token => csrf::token(&csrf)?,
            first_name => candidate.full_name.split_whitespace().next().unwrap_or(""),
            self_service => true,
            values => views::value(&values),
            errors => views::value(&error_map),
            error_list => views::value(&error_list),
            saved => page_state.saved,
            countries => views::value(&choices.countries),
            language_levels => views::value(&choices.language_levels),
            education_levels => views::value(&choices.education_levels),
            profession_groups => views::value(state.catalog.groups()),
            targets => Vec::<String>::new(),
            target_codes => Vec::<String>::new(),
            has_cv => candidate.cv_key.is_some(),
            consent_items => views::value(&consent_items),
            companies => views::value(&companies),
        },
    )?;
    Ok((status, csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

fn saved_message(what: Option<&str>) -> Option<&'static str> {
    match what? {
        "profile" => Some("Your answers are saved."),
        "cv" => Some("Your CV is updated."),
        "consents" => Some("Your consent is updated."),
        _ => None,
    }
}

pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(saved): Query<Saved>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let candidate = match owner(&state, &token, &csrf).await? {
        Ok(candidate) => candidate,
        Err(page) => return Ok(page),
    };
    let page_state = PageState {
        values: None,
        errors: &FieldErrors::default(),
        saved: saved_message(saved.saved.as_deref()),
    };
    render_page(&state, csrf, &token, &candidate, page_state).await
}

pub async fn update_profile(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
    request: Request,
) -> Result<Response, Error> {
    let form = FormData::read(request).await?;
    csrf::verify(&csrf, form.get("authenticity_token").unwrap_or_default())?;
    let candidate = match owner(&state, &token, &csrf).await? {
        Ok(candidate) => candidate,
        Err(page) => return Ok(page),
    };
    let (input, read_errors) = form.signup_input();
    let result = candidates::update_profile(&state.db, &state.catalog, candidate.id, input).await?;
    let mut errors = read_errors;
    if let Err(invalid) = result {
        for (field, message) in invalid.iter() {
            errors.add(field, message);
        }
    }
    if errors.is_empty() {
        return Ok(Redirect::to(&format!("/me/{token}?saved=profile")).into_response());
    }
    let mut values = entered_values(&form);
    values.insert("email".into(), json!(candidate.email));
    let page_state = PageState {
        values: Some(values),
        errors: &errors.sorted(),
        saved: None,
    };
    render_page(&state, csrf, &token, &candidate, page_state).await
}

#[derive(Deserialize)]
pub struct ConsentChange {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn change_consent(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
    Form(change): Form<ConsentChange>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &change.authenticity_token)?;
    let candidate = match owner(&state, &token, &csrf).await? {
        Ok(candidate) => candidate,
        Err(page) => return Ok(page),
    };
    let kind = match change.kind.as_str() {
        "share" => Kind::Share,
        "newsletter" => Kind::Newsletter,
        // The pool consent is renewed here, never withdrawn: erasure is the way out.
        "pool" if change.action == "accept" => Kind::Pool,
        _ => return Err(Error::BadRequest("unknown consent".into())),
    };
    let texts = consents::current_texts(&state.db, "en").await?;
    let granted = match change.action.as_str() {
        "grant" => true,
        "withdraw" => false,
        "accept" => {
            consents::accept_current(&state.db, candidate.id, kind, &texts, "self_service").await?;
            return Ok(
                Redirect::to(&format!("/me/{token}?saved=consents#consents")).into_response(),
            );
        }
        _ => return Err(Error::BadRequest("unknown action".into())),
    };
    candidates::set_consent(
        &state.db,
        candidate.id,
        kind,
        granted,
        &texts,
        "self_service",
    )
    .await?;
    Ok(Redirect::to(&format!("/me/{token}?saved=consents#consents")).into_response())
}

pub async fn change_cv(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
    request: Request,
) -> Result<Response, Error> {
    let form = FormData::read(request).await?;
    csrf::verify(&csrf, form.get("authenticity_token").unwrap_or_default())?;
    let candidate = match owner(&state, &token, &csrf).await? {
        Ok(candidate) => candidate,
        Err(page) => return Ok(page),
    };
    let new_key = match form.get("action").unwrap_or_default() {
        "delete" => None,
        _ => {
            let mut errors = FieldErrors::default();
            match form.cv.as_deref() {
                None => errors.add("cv", "Choose a PDF file to upload."),
                Some(bytes) if bytes.len() > storage::MAX_CV_BYTES => {
                    errors.add("cv", "The CV must be at most 5 MB.")
                }
                Some(bytes) if !storage::is_pdf(bytes) => {
                    errors.add("cv", "The CV must be a PDF file.")
                }
                Some(_) => {}
            }
            if !errors.is_empty() {
                let page_state = PageState {
                    values: None,
                    errors: &errors,
                    saved: None,
                };
                return render_page(&state, csrf, &token, &candidate, page_state).await;
            }
            let key = storage::new_cv_key();
            state
                .files
                .put(&key, form.cv.as_deref().unwrap_or_default())
                .await?;
            Some(key)
        }
    };
    let previous = candidates::set_cv_key(&state.db, candidate.id, new_key).await?;
    if let Some(previous) = previous
        && let Err(e) = state.files.delete(&previous).await
    {
        tracing::error!(error = %e, candidate_id = candidate.id, "could not delete a replaced CV");
    }
    Ok(Redirect::to(&format!("/me/{token}?saved=cv")).into_response())
}

pub async fn download_cv(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let candidate = match owner(&state, &token, &csrf).await? {
        Ok(candidate) => candidate,
        Err(page) => return Ok(page),
    };
    let Some(key) = candidate.cv_key.as_deref() else {
        return Err(Error::NotFound);
    };
    let bytes = state.files.get(key).await?.ok_or(Error::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cv.pdf\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

pub async fn export(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let candidate = match owner(&state, &token, &csrf).await? {
        Ok(candidate) => candidate,
        Err(page) => return Ok(page),
    };
    let export = privacy::export(&state.db, &state.catalog, candidate.id)
        .await?
        .ok_or(Error::NotFound)?;
    talentpool_core::audit::record(
        &state.db,
        Actor::Candidate(candidate.id),
        "candidate.exported",
        "candidate",
        Some(candidate.id),
        Some(json!({ "by": "self_service" })),
    )
    .await?;
    Ok((
        [
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"talentpool-my-data.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(export),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct DeleteRequest {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn delete(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
    Form(request): Form<DeleteRequest>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &request.authenticity_token)?;
    let candidate = match owner(&state, &token, &csrf).await? {
        Ok(candidate) => candidate,
        Err(page) => return Ok(page),
    };
    if request.confirm != "yes" {
        let mut errors = FieldErrors::default();
        errors.add(
            "confirm",
            "Tick the box to confirm that you want your data deleted.",
        );
        let page_state = PageState {
            values: None,
            errors: &errors,
            saved: None,
        };
        return render_page(&state, csrf, &token, &candidate, page_state).await;
    }
    privacy::erase(
        &state.db,
        state.files.as_ref(),
        candidate.id,
        Actor::Candidate(candidate.id),
        ErasureSource::SelfService,
    )
    .await?;
    let page = state.views.render(
        "me_request.html",
        context! { outcome => "deleted", title => "Your data is deleted" },
    )?;
    Ok(page.into_response())
}

pub async fn request_form(
    State(state): State<AppState>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let page = state.views.render(
        "me_request.html",
        context! { outcome => "ask", title => "Your profile", detail => "", csrf_token => csrf::token(&csrf)? },
    )?;
    Ok((csrf, page).into_response())
}

#[derive(Deserialize)]
pub struct LinkRequest {
    #[serde(default)]
    email: String,
    #[serde(default)]
    authenticity_token: String,
}

pub async fn request_link(
    State(state): State<AppState>,
    csrf: CsrfToken,
    Form(request): Form<LinkRequest>,
) -> Result<Response, Error> {
    csrf::verify(&csrf, &request.authenticity_token)?;
    candidates::request_self_service_link(&state.db, &request.email).await?;
    let page = state.views.render(
        "me_request.html",
        context! { outcome => "sent", title => "Check your email", valid_days => state.settings.self_service_link_days },
    )?;
    Ok(page.into_response())
}

/// The one-click answer to retention's "still interested?" email: the profile stays.
pub async fn keep(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    use talentpool_core::tokens::{Lookup, Purpose};
    let token = match tokens::find(&state.db, &token).await? {
        Lookup::Valid(t) if t.purpose == Purpose::Keep.as_str() => t,
        Lookup::Used(t) if t.purpose == Purpose::Keep.as_str() => {
            let page = state.views.render(
                "me_request.html",
                context! { outcome => "kept", title => "You stay in the talent pool" },
            )?;
            return Ok(page.into_response());
        }
        Lookup::Expired(t) if t.purpose == Purpose::Keep.as_str() => {
            return link_problem(
                &state,
                csrf,
                StatusCode::GONE,
                "This link has expired",
                "If your profile is still there, ask for a link to it below: using it keeps your profile too.",
            );
        }
        _ => {
            return link_problem(
                &state,
                csrf,
                StatusCode::NOT_FOUND,
                "This link does not work",
                "Check that you copied the whole link from the email, or ask for a link to your profile below.",
            );
        }
    };
    if let Some(candidate_id) = token.candidate_id
        && tokens::consume(&state.db, token.id).await?
    {
        talentpool_core::retention::keep(&state.db, candidate_id, chrono::Utc::now()).await?;
    }
    let page = state.views.render(
        "me_request.html",
        context! { outcome => "kept", title => "You stay in the talent pool" },
    )?;
    Ok(page.into_response())
}
