//! Email templates from `email-templates/`, embedded in the binary: for each email a
//! subject, a text body and an HTML body extending one shared layout.

use std::sync::LazyLock;

use minijinja::{
    AutoEscape, Environment, UndefinedBehavior,
    value::{Serde, Value},
};
use serde::Serialize;

use crate::Result;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../email-templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "layout.html",
    "layout.txt",
    "confirm_signup/subject.txt",
    "confirm_signup/body.txt",
    "confirm_signup/body.html",
    "confirm_changes/subject.txt",
    "confirm_changes/body.txt",
    "confirm_changes/body.html",
    "self_service_link/subject.txt",
    "self_service_link/body.txt",
    "self_service_link/body.html",
    "still_interested/subject.txt",
    "still_interested/body.txt",
    "still_interested/body.html",
    "consent_changed/subject.txt",
    "consent_changed/body.txt",
    "consent_changed/body.html",
    "company_invite/subject.txt",
    "company_invite/body.txt",
    "company_invite/body.html",
    "forward_digest/subject.txt",
    "forward_digest/body.txt",
    "forward_digest/body.html",
    "newsletter/body.txt",
    "newsletter/body.html",
];

/// The source of an embedded email template (newsletters compile their own sandboxed
/// environment around the shared layout).
pub fn source(name: &str) -> Option<&'static str> {
    TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    for (name, source) in TEMPLATES {
        // Templates are compiled into the binary; a broken one fails every test.
        if let Err(e) = env.add_template(name, source) {
            panic!("email template {name} does not parse: {e}");
        }
    }
    env
});

/// Renders one embedded template by name.
pub fn render_named(name: &str, ctx: Value) -> Result<String> {
    Ok(ENV.get_template(name)?.render(ctx)?)
}

/// A rendered email, ready for a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub template: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders `name/{subject.txt,body.txt,body.html}` with `ctx`.
pub fn render<C: Serialize>(name: &'static str, ctx: &C) -> Result<Rendered> {
    let ctx = Value::from(Serde(ctx));
    let subject = ENV
        .get_template(&format!("{name}/subject.txt"))?
        .render(&ctx)?
        .trim()
        .to_owned();
    let ctx = minijinja::context! { subject => subject.clone(), ..ctx };
    let text = ENV
        .get_template(&format!("{name}/body.txt"))?
        .render(&ctx)?;
    let html = ENV
        .get_template(&format!("{name}/body.html"))?
        .render(&ctx)?;
    Ok(Rendered {
        template: name,
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        assert_eq!(ENV.templates().count(), TEMPLATES.len());
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let rendered = render(
            "confirm_signup",
            &minijinja::context! {
                first_name => "<Ada>",
                campaign_title => "Devs & Ops",
                confirm_url => "http://x/confirm/abc",
                valid_hours => 72,
                privacy_url => "http://x/privacy",
            },
        )
        .expect("renders");
        assert!(rendered.html.contains("&lt;Ada&gt;"));
        assert!(rendered.text.contains("Hello <Ada>,"));
        assert!(rendered.text.contains("\"Devs & Ops\""));
    }

    #[test]
    fn missing_variables_are_errors() {
        assert!(
            render(
                "confirm_signup",
                &minijinja::context! { first_name => "Ada" }
            )
            .is_err()
        );
    }
}
