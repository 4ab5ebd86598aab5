//! Server-rendered pages: minijinja templates from `app/templates/`, embedded in the
//! binary, HTML auto-escaped, undefined variables are errors.

use std::sync::Arc;

use axum::response::Html;
use minijinja::{Environment, UndefinedBehavior, value::Value};

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "home.html",
    "_profile_fields.html",
    "landing.html",
    "me.html",
    "me_request.html",
    "thanks.html",
    "confirm.html",
    "error.html",
    "privacy.html",
    "outbox.html",
    "outbox_message.html",
    "admin_nav.html",
    "admin_login.html",
    "admin_password.html",
    "admin_pool.html",
    "admin_candidate.html",
    "admin_segments.html",
    "admin_tokens.html",
    "admin_audit.html",
    "admin_consents.html",
    "admin_campaigns.html",
    "admin_campaign_form.html",
    "admin_campaign.html",
    "admin_companies.html",
    "admin_company_form.html",
    "admin_company.html",
    "admin_forward_result.html",
    "portal_nav.html",
    "portal_login.html",
    "portal_invite.html",
    "portal_terms.html",
    "portal_candidates.html",
    "unsubscribe.html",
    "admin_newsletters.html",
    "admin_newsletter_form.html",
    "admin_newsletter.html",
    "portal_candidate.html",
];

/// A serde value for a template context.
pub fn value<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

pub const STYLESHEET: &str = include_str!("../templates/app.css");
pub const CAMPAIGN_PREVIEW_JS: &str = include_str!("../assets/campaign-preview.js");
pub const NEWSLETTER_SCRIPT: &str = include_str!("../templates/newsletter.js");

#[derive(Clone)]
pub struct Views {
    env: Arc<Environment<'static>>,
}

impl Views {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Self { env: Arc::new(env) })
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<Html<String>, minijinja::Error> {
        Ok(Html(self.env.get_template(name)?.render(ctx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let views = Views::new().expect("templates parse");
        assert_eq!(views.env.templates().count(), TEMPLATES.len());
    }
}
