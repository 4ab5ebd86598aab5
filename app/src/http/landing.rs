//! The campaign landing page `/c/{slug}`: campaign text and the sign-up form, which
//! posts back to the same address.

use axum::{
    extract::{Path, Query, Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use chrono::Utc;
use minijinja::context;
use serde_json::{Map, Value as Json, json};
use talentpool_core::{
    campaigns::{self, Availability, Campaign},
    candidates::SignupSource,
    consents,
    domain::{Country, EducationLevel, LanguageLevel, signup::FieldErrors},
    markdown,
};

use super::{error::Error, form::FormData};
use crate::http::csrf;
use crate::views;
use crate::{
    signups::{self, Submission},
    state::AppState,
};

/// The open campaign behind `slug`: 404 when unknown or not yet open, 410 when closed.
pub async fn open_campaign(state: &AppState, slug: &str) -> Result<Campaign, Error> {
    let campaign = state
        .campaigns
        .find_by_slug(&state.db, slug)
        .await?
        .ok_or(Error::NotFound)?;
    match campaigns::availability(&campaign, Utc::now()) {
        Availability::Open => Ok(campaign),
        Availability::NotYetOpen => Err(Error::NotFound),
        Availability::Closed => Err(Error::Gone),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(source): Query<SignupSource>,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let campaign = open_campaign(&state, &slug).await?;
    let page = render(
        &state,
        &campaign,
        &csrf,
        &Map::new(),
        &FieldErrors::default(),
        &source.normalised(),
        false,
    )
    .await?;
    Ok((csrf, page).into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    csrf: CsrfToken,
    request: Request,
) -> Result<Response, Error> {
    let campaign = open_campaign(&state, &slug).await?;
    let form = FormData::read(request).await?;
    csrf::verify(&csrf, form.get("authenticity_token").unwrap_or_default())?;
    let thanks = Redirect::to(&format!("/c/{}/thanks", campaign.slug)).into_response();
    if form.get("website").is_some_and(|v| !v.is_empty()) {
        // The honeypot: people never see this field, bots fill it in. Look the same.
        tracing::info!(campaign = %campaign.slug, "honeypot filled: sign-up ignored");
        return Ok(thanks);
    }
    let (input, read_errors) = form.signup_input();
    let source = form.source();
    let submission = Submission {
        input,
        cv: form.cv.clone(),
        read_errors,
        source: source.clone(),
        channel: "form",
    };
    match signups::submit(&state, &campaign, submission).await {
        Ok(_) => Ok(thanks),
        Err(Error::Validation(errors)) => {
            let page = render(
                &state,
                &campaign,
                &csrf,
                &entered_values(&form),
                &errors,
                &source,
                false,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn thanks(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, Error> {
    let campaign = campaigns::find_by_slug(&state.db, &slug)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(state
        .views
        .render(
            "thanks.html",
            context! { campaign => context! { title => campaign.title } },
        )?
        .into_response())
}

/// What the person typed, to put back into the re-rendered form (never the CV).
pub fn entered_values(form: &FormData) -> Map<String, Json> {
    let mut values = Map::new();
    for name in [
        "full_name",
        "email",
        "residence_country",
        "profession",
        "years_experience",
        "english_level",
        "norwegian_level",
        "education_level",
        "linkedin_url",
        "phone",
        "partner_profession",
    ] {
        values.insert(name.into(), json!(form.text(name)));
    }
    values.insert("citizenship".into(), json!(form.all("citizenship")));
    for name in [
        "work_permit_norway",
        "has_partner",
        "consent_pool",
        "consent_share",
        "consent_newsletter",
    ] {
        values.insert(name.into(), json!(form.checked(name)));
    }
    values
}

/// The lists the profile questions choose from.
pub struct FormChoices {
    pub countries: Vec<Json>,
    pub language_levels: Vec<Json>,
    pub education_levels: Vec<Json>,
}

impl Default for FormChoices {
    fn default() -> Self {
        Self::new()
    }
}

impl FormChoices {
    pub fn new() -> Self {
        Self {
            countries: Country::all()
                .into_iter()
                .map(|c| json!({ "code": c.code(), "name": c.name() }))
                .collect(),
            language_levels: LanguageLevel::ALL
                .iter()
                .map(|l| json!({ "code": l.code(), "label": l.label() }))
                .collect(),
            education_levels: EducationLevel::ALL
                .iter()
                .map(|l| json!({ "code": l.code(), "label": l.label() }))
                .collect(),
        }
    }
}

/// Field errors by field (for the inputs) and in order (for the summary).
pub fn error_values(errors: &FieldErrors) -> (Map<String, Json>, Vec<Json>) {
    let by_field = errors
        .iter()
        .map(|(field, message)| (field.to_owned(), json!(message)))
        .collect();
    let list = errors
        .iter()
        .map(|(field, message)| json!({ "field": field, "message": message }))
        .collect();
    (by_field, list)
}

/// The landing page; `preview` renders it for staff, with a form that sends nothing.
pub async fn render(
    state: &AppState,
    campaign: &Campaign,
    csrf: &CsrfToken,
    values: &Map<String, Json>,
    errors: &FieldErrors,
    source: &SignupSource,
    preview: bool,
) -> Result<axum::response::Html<String>, Error> {
    let csrf_token = csrf::token(csrf)?;
    let target_codes = campaigns::target_professions(&state.db, campaign.id).await?;
    let targets: Vec<_> = target_codes
        .iter()
        .filter_map(|code| state.catalog.get(code))
        .collect();
    let texts = consents::current_texts(&state.db, "en").await?;
    let choices = FormChoices::new();
    let (error_map, error_list) = error_values(errors);
    let utm: Map<String, Json> = [
        ("utm_source", &source.utm_source),
        ("utm_medium", &source.utm_medium),
        ("utm_campaign", &source.utm_campaign),
        ("utm_term", &source.utm_term),
        ("utm_content", &source.utm_content),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), json!(v))))
    .collect();
    Ok(state.views.render(
        "landing.html",
        context! {
            campaign => context! { slug => &campaign.slug, title => &campaign.title, summary => &campaign.summary, status => &campaign.status },
            targets => views::value(&targets),
            target_codes => views::value(&target_codes),
            preview,
            campaign_html => markdown::to_html(&campaign.body_markdown),
            countries => views::value(&choices.countries),
            profession_groups => views::value(state.catalog.groups()),
            language_levels => views::value(&choices.language_levels),
            education_levels => views::value(&choices.education_levels),
            self_service => false,
            consents => views::value(&texts),
            values => views::value(values),
            errors => views::value(&error_map),
            error_list => views::value(&error_list),
            utm => views::value(&utm),
            csrf_token,
        },
    )?)
}
