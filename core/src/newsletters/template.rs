//! Newsletter templates: a subject and a Markdown body with minijinja variables, checked
//! when saved (syntax, unknown variables, a trial render) so that sending never meets a
//! template error, and rendered per recipient into the shared email layout.
//!
//! The environment is sandboxed: no loader (templates cannot include or read files),
//! no network, a fuel limit on every render and a low recursion bound.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Serialize;

use crate::{Error, Result, mail::templates, markdown};

/// Instructions a single render may execute: far more than any newsletter needs, far
/// less than a runaway loop.
const FUEL: u64 = 200_000;
const RECURSION_LIMIT: usize = 16;

/// The variables a newsletter may use.
pub const VARIABLES: &[&str] = &[
    "candidate.first_name",
    "candidate.full_name",
    "campaign.title",
    "unsubscribe_url",
    "privacy_url",
    "self_service_url",
];

/// Functions minijinja provides that are harmless in a newsletter.
const FUNCTIONS: &[&str] = &["range", "dict", "namespace"];

/// A problem in a template, for the form or the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateProblem {
    /// `subject` or `body_markdown`.
    pub field: &'static str,
    pub line: Option<usize>,
    pub message: String,
}

impl TemplateProblem {
    /// The message with its line, as shown to people.
    pub fn describe(&self) -> String {
        match self.line {
            Some(line) => format!("Line {line}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// What a recipient contributes to the rendered message.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub first_name: String,
    pub full_name: String,
    pub campaign_title: String,
    pub unsubscribe_url: String,
    /// The personal link to the candidate's own page (every email to a candidate has one).
    pub self_service_url: String,
}

impl Recipient {
    pub fn sample(unsubscribe_url: String) -> Self {
        Self {
            first_name: "Ada".into(),
            full_name: "Ada Lovelace".into(),
            campaign_title: "Software developers for the Oslo region".into(),
            unsubscribe_url,
            self_service_url: "https://example.invalid/me/sample".into(),
        }
    }
}

/// The subject, text and HTML of one newsletter for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedNewsletter {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A newsletter's templates, compiled once and rendered for each recipient.
pub struct NewsletterTemplate {
    env: Environment<'static>,
    privacy_url: String,
}

fn sandbox() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// The first line of `source` on which `word` appears as a whole word.
fn line_of(source: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    source.lines().enumerate().find_map(|(n, line)| {
        line.match_indices(word)
            .any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + word.len()..].chars().next();
                !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
            })
            .then_some(n + 1)
    })
}

fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

impl NewsletterTemplate {
    /// Compiles and checks both templates; every problem is returned, with lines.
    pub fn compile(
        subject: &str,
        body_markdown: &str,
        privacy_url: String,
    ) -> Result<Self, Vec<TemplateProblem>> {
        let mut env = sandbox();
        let mut problems = Vec::new();
        for (field, name, source) in [
            ("subject", "subject", subject),
            ("body_markdown", "body", body_markdown),
        ] {
            match env.add_template_owned(name, source.to_owned()) {
                Err(e) => problems.push(TemplateProblem {
                    field,
                    line: e.line(),
                    message: e
                        .detail()
                        .map_or_else(|| e.kind().to_string(), str::to_owned),
                }),
                Ok(()) => {
                    let Ok(template) = env.get_template(name) else {
                        continue;
                    };
                    let mut unknown: Vec<String> = template
                        .undeclared_variables(true)
                        .into_iter()
                        .filter(|v| !VARIABLES.contains(&v.as_str()))
                        .filter(|v| !FUNCTIONS.contains(&v.as_str()))
                        .collect();
                    unknown.sort();
                    for variable in unknown {
                        problems.push(TemplateProblem {
                            field,
                            line: line_of(source, last_segment(&variable)),
                            message: format!(
                                "unknown variable `{variable}`; use one of {}",
                                VARIABLES.join(", ")
                            ),
                        });
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let template = Self { env, privacy_url };
        // A trial render finds what static checks cannot (a division by zero, a loop that
        // runs out of fuel), so that it is reported now and not at send time.
        let sample = Recipient::sample("https://example.invalid/u/sample".into());
        for (field, name) in [("subject", "subject"), ("body_markdown", "body")] {
            if let Err(e) = template.render_part(name, &sample) {
                problems.push(TemplateProblem {
                    field,
                    line: e.line(),
                    message: e
                        .detail()
                        .map_or_else(|| e.kind().to_string(), str::to_owned),
                });
            }
        }
        if problems.is_empty() {
            Ok(template)
        } else {
            Err(problems)
        }
    }

    fn render_part(
        &self,
        name: &str,
        recipient: &Recipient,
    ) -> std::result::Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context! {
            candidate => context! {
                first_name => &recipient.first_name,
                full_name => &recipient.full_name,
            },
            campaign => context! { title => &recipient.campaign_title },
            unsubscribe_url => &recipient.unsubscribe_url,
            privacy_url => &self.privacy_url,
            self_service_url => &recipient.self_service_url,
        })
    }

    /// The message for one recipient: the Markdown body becomes the text part as it is
    /// and, converted to HTML (raw HTML shown as text), the body of the shared layout.
    pub fn render(&self, recipient: &Recipient) -> Result<RenderedNewsletter> {
        let subject = self
            .render_part("subject", recipient)?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let body = self.render_part("body", recipient)?;
        let html = templates::render_named(
            "newsletter/body.html",
            context! {
                subject => &subject,
                body_html => markdown::to_html(&body),
                unsubscribe_url => &recipient.unsubscribe_url,
                privacy_url => &self.privacy_url,
                self_service_url => &recipient.self_service_url,
            },
        )?;
        let text = templates::render_named(
            "newsletter/body.txt",
            context! {
                subject => &subject,
                body_text => body.trim(),
                unsubscribe_url => &recipient.unsubscribe_url,
                privacy_url => &self.privacy_url,
                self_service_url => &recipient.self_service_url,
            },
        )?;
        if subject.is_empty() {
            return Err(Error::Invalid("the subject renders empty".into()));
        }
        Ok(RenderedNewsletter {
            subject,
            text,
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(subject: &str, body: &str) -> Result<NewsletterTemplate, Vec<TemplateProblem>> {
        NewsletterTemplate::compile(subject, body, "http://x/privacy".into())
    }

    #[test]
    fn renders_variables_into_the_layout() {
        let t = compile(
            "News for {{ candidate.first_name }}",
            "Hello **{{ candidate.first_name }}**,\n\nfrom {{ campaign.title }}.\n\n[Unsubscribe]({{ unsubscribe_url }})",
        )
        .expect("valid");
        let r = t
            .render(&Recipient {
                first_name: "<Ola>".into(),
                full_name: "Ola N".into(),
                campaign_title: "Devs".into(),
                unsubscribe_url: "http://x/u/t".into(),
                self_service_url: "http://x/me/t".into(),
            })
            .expect("renders");
        assert_eq!(r.subject, "News for <Ola>");
        assert!(
            r.html.contains("<strong>&lt;Ola&gt;</strong>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("href=\"http://x/u/t\""));
        assert!(r.text.contains("Hello **<Ola>**"));
        assert!(r.text.contains("Unsubscribe with one click: http://x/u/t"));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let problems = compile(
            "Hi",
            "line one\nline two {{ candidate.first_name + }}\nthree",
        )
        .err()
        .expect("invalid");
        assert_eq!(problems[0].field, "body_markdown");
        assert_eq!(problems[0].line, Some(2), "{problems:?}");
    }

    #[test]
    fn unknown_variables_have_lines() {
        let problems = compile("Hi {{ nme }}", "ok\n\n{{ candidate.frist_name }}")
            .err()
            .expect("invalid");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].field, "subject");
        assert!(problems[0].message.contains("`nme`"));
        assert_eq!(problems[1].line, Some(3));
        assert!(problems[1].message.contains("candidate.frist_name"));
    }

    #[test]
    fn runaway_templates_fail_when_saved() {
        let problems = compile(
            "Hi",
            "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}",
        )
        .err()
        .expect("out of fuel");
        assert!(
            problems[0].message.to_lowercase().contains("fuel"),
            "{problems:?}"
        );
        let problems = compile("Hi", "{% include 'layout.html' %}")
            .err()
            .map(|p| p.len());
        assert!(problems.is_some(), "templates may not include others");
        assert!(compile("Hi", "{{ 1 // 0 }}").is_err());
    }
}
