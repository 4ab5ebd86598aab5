//! Campaigns in the back office: list, create, edit (with a Markdown preview), open and
//! close by hand or by dates, and each campaign's figures with a sign-ups chart.

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use axum_csrf::CsrfToken;
use minijinja::context;
use serde_json::json;
use talentpool_core::{
    audit,
    campaigns::{self, CampaignForm, stats},
    markdown,
};

use super::Staff;
use crate::http::csrf;
use crate::views;
use crate::{http::error::Error, state::AppState};

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let now = chrono::Utc::now();
    let rows: Vec<_> = campaigns::list(&state.db)
        .await?
        .into_iter()
        .map(|c| {
            let open = campaigns::availability(&c, now) == campaigns::Availability::Open;
            json!({ "id": c.id, "slug": c.slug, "title": c.title, "status": c.status, "open_now": open })
        })
        .collect();
    let page = state.views.render(
        "admin_campaigns.html",
        context! { staff_email => staff.0.email, csrf_token => csrf::token(&csrf)?, campaigns => views::value(&rows) },
    )?;
    Ok((csrf, page).into_response())
}

/// The campaign form as posted. Read as pairs, since `professions` repeats.
pub struct Submitted {
    form: CampaignForm,
    action: String,
    authenticity_token: String,
}

impl Submitted {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut submitted = Self {
            form: CampaignForm::default(),
            action: String::new(),
            authenticity_token: String::new(),
        };
        let form = &mut submitted.form;
        for (name, value) in pairs {
            match name.as_str() {
                "slug" => form.slug = value,
                "title" => form.title = value,
                "summary" => form.summary = value,
                "body_markdown" => form.body_markdown = value,
                "status" => form.status = value,
                "opens_on" => form.opens_on = value,
                "closes_on" => form.closes_on = value,
                "professions" => form.professions.push(value),
                "action" => submitted.action = value,
                "authenticity_token" => submitted.authenticity_token = value,
                _ => {}
            }
        }
        submitted
    }
}

fn render_form(
    state: &AppState,
    staff: &Staff,
    csrf: &CsrfToken,
    id: Option<i64>,
    form: &CampaignForm,
    errors: &[(String, String)],
    preview: bool,
) -> Result<Html<String>, Error> {
    let error_map: serde_json::Map<String, serde_json::Value> =
        errors.iter().map(|(f, m)| (f.clone(), json!(m))).collect();
    Ok(state.views.render(
        "admin_campaign_form.html",
        context! {
            staff_email => &staff.0.email, csrf_token => csrf::token(csrf)?, id,
            form => views::value(form), errors => views::value(&error_map),
            error_list => views::value(&errors.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>()),
            preview_html => preview.then(|| markdown::to_html(&form.body_markdown)),
            profession_groups => views::value(state.catalog.groups()),
        },
    )?)
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<Response, Error> {
    let form = CampaignForm {
        status: "draft".into(),
        ..CampaignForm::default()
    };
    let page = render_form(&state, &staff, &csrf, None, &form, &[], false)?;
    Ok((csrf, page).into_response())
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let campaign = campaigns::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let page = render_form(
        &state,
        &staff,
        &csrf,
        Some(id),
        &CampaignForm::from_model(
            &campaign,
            campaigns::target_professions(&state.db, id).await?,
        ),
        &[],
        false,
    )?;
    Ok((csrf, page).into_response())
}

async fn save(
    state: AppState,
    staff: Staff,
    csrf: CsrfToken,
    id: Option<i64>,
    submitted: Submitted,
) -> Result<Response, Error> {
    if submitted.authenticity_token.is_empty()
        || csrf.verify(&submitted.authenticity_token).is_err()
    {
        return Err(Error::Csrf);
    }
    if let Some(id) = id {
        campaigns::find(&state.db, id)
            .await?
            .ok_or(Error::NotFound)?;
    }
    let form = submitted.form;
    if submitted.action == "preview" {
        let page = render_form(&state, &staff, &csrf, id, &form, &[], true)?;
        return Ok((csrf, page).into_response());
    }
    let valid = match form.validate(&state.catalog) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = render_form(&state, &staff, &csrf, id, &form, &errors, false)?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response());
        }
    };
    let saved = match id {
        Some(id) => campaigns::update(&state.db, id, &valid)
            .await?
            .then_some(id),
        None => campaigns::create_from(&state.db, &valid).await?,
    };
    // The landing pages of this process see the change at once (others within a second).
    state.campaigns.clear();
    let Some(saved) = saved else {
        let errors = [(
            "slug".to_owned(),
            "Another campaign has this address already.".to_owned(),
        )];
        let page = render_form(&state, &staff, &csrf, id, &form, &errors, false)?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, csrf, page).into_response());
    };
    let action = if id.is_some() {
        "campaign.updated"
    } else {
        "campaign.created"
    };
    audit::record(
        &state.db,
        staff.actor(),
        action,
        "campaign",
        Some(saved),
        None,
    )
    .await?;
    Ok(Redirect::to(&format!("/admin/campaigns/{saved}")).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    save(state, staff, csrf, None, Submitted::from_pairs(pairs)).await
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Error> {
    save(state, staff, csrf, Some(id), Submitted::from_pairs(pairs)).await
}

/// Sign-ups per day as an inline SVG bar chart (no script, readable by screen readers
/// through its title and the table beside it).
pub fn chart(per_day: &[stats::Count]) -> String {
    let days = &per_day[per_day.len().saturating_sub(60)..];
    let max = days.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    let (width, height, gap) = (600.0_f64, 160.0_f64, 2.0_f64);
    let bar = if days.is_empty() {
        0.0
    } else {
        width / days.len() as f64
    };
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {}\" role=\"img\" aria-labelledby=\"chart-title\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-title\">Sign-ups per day, {} days shown, at most {max} a day</title>",
        height + 20.0,
        days.len()
    );
    for (i, d) in days.iter().enumerate() {
        let h = (d.count as f64 / max as f64) * height;
        let key: String = d
            .key
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#0b4f8a\"><title>{key}: {}</title></rect>",
            i as f64 * bar + gap / 2.0,
            height - h,
            (bar - gap).max(1.0),
            d.count
        ));
    }
    svg.push_str(&format!(
        "<line x1=\"0\" y1=\"{height}\" x2=\"{width}\" y2=\"{height}\" stroke=\"#4a5560\"/></svg>"
    ));
    svg
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let campaign = campaigns::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let figures = stats::figures(&state.db, id).await?;
    let targets: Vec<_> = campaigns::target_professions(&state.db, id)
        .await?
        .iter()
        .filter_map(|code| state.catalog.get(code).cloned())
        .collect();
    let rate = if figures.candidates > 0 {
        format!(
            "{:.0} %",
            figures.confirmed as f64 * 100.0 / figures.candidates as f64
        )
    } else {
        "–".into()
    };
    let professions: Vec<_> = figures
        .by_profession
        .iter()
        .map(|c| json!({ "key": state.catalog.get(&c.key).map_or(c.key.clone(), |p| p.title.clone()), "count": c.count }))
        .collect();
    let page = state.views.render(
        "admin_campaign.html",
        context! {
            staff_email => staff.0.email, csrf_token => csrf::token(&csrf)?,
            campaign => context! { id => campaign.id, slug => &campaign.slug, title => &campaign.title, status => &campaign.status },
            figures => views::value(&figures), rate, professions => views::value(&professions),
            chart => chart(&figures.per_day),
            targets => views::value(&targets),
            hires => talentpool_core::forwards::hires_for_campaign(&state.db, id).await?,
        },
    )?;
    Ok((csrf, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_scales_bars_to_the_busiest_day() {
        let days = vec![
            stats::Count {
                key: "2026-11-01".into(),
                count: 5,
            },
            stats::Count {
                key: "2026-11-02".into(),
                count: 10,
            },
        ];
        let svg = chart(&days);
        assert!(svg.contains("height=\"80.0\""), "{svg}");
        assert!(svg.contains("height=\"160.0\""), "{svg}");
        assert!(svg.contains("2026-11-02: 10"));
        assert!(chart(&[]).contains("0 days shown"));
    }
}

/// The landing page as candidates will see it, whatever the campaign's status.
pub async fn landing_preview(
    State(state): State<AppState>,
    _staff: Staff,
    csrf: CsrfToken,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let campaign = campaigns::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let page = crate::http::landing::render(
        &state,
        &campaign,
        &csrf,
        &serde_json::Map::new(),
        &Default::default(),
        &Default::default(),
        true,
    )
    .await?;
    Ok((csrf, page).into_response())
}

#[derive(serde::Deserialize)]
pub struct PreviewRequest {
    #[serde(default)]
    body_markdown: String,
    #[serde(default)]
    authenticity_token: String,
}

/// The campaign text rendered as the landing page renders it, for the editor's live
/// preview (`/assets/campaign-preview.js`).
pub async fn markdown_preview(
    _staff: Staff,
    csrf: CsrfToken,
    Form(request): Form<PreviewRequest>,
) -> Result<Response, Error> {
    if request.authenticity_token.is_empty() || csrf.verify(&request.authenticity_token).is_err() {
        return Err(Error::Csrf);
    }
    if request.body_markdown.len() > campaigns::MAX_BODY_BYTES {
        return Ok((
            StatusCode::PAYLOAD_TOO_LARGE,
            "The text is too long to preview.",
        )
            .into_response());
    }
    Ok(Html(markdown::to_html(&request.body_markdown)).into_response())
}
