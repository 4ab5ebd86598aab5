//! Typed request helpers that keep the tests readable.

use reqwest::{Response, multipart};
use scraper::{Html, Selector};
use serde_json::{Value, json};
use talentpool_tests::TestApp;

pub const SLUG: &str = "software-developers";

/// A minimal valid PDF.
pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// Fetches the landing page and returns its HTML and the form's CSRF token.
pub async fn open_form(app: &TestApp, path: &str) -> (String, String) {
    let response = app
        .client
        .get(app.url(path))
        .send()
        .await
        .expect("GET landing page");
    assert_eq!(response.status(), 200, "GET {path}");
    let html = response.text().await.expect("body");
    let token = attribute(&html, "input[name=authenticity_token]", "value")
        .expect("the form carries a CSRF token");
    (html, token)
}

pub fn attribute(html: &str, selector: &str, name: &str) -> Option<String> {
    let document = Html::parse_document(html);
    let selector = Selector::parse(selector).expect("selector");
    document
        .select(&selector)
        .next()
        .and_then(|e| e.value().attr(name))
        .map(str::to_owned)
}

pub fn select_all(html: &str, selector: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let selector = Selector::parse(selector).expect("selector");
    document
        .select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// The form answers of a valid sign-up.
pub fn valid_form(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("full_name", "Ada Lovelace".into()),
        ("email", email.into()),
        ("citizenship", "GB".into()),
        ("citizenship", "IE".into()),
        ("residence_country", "GB".into()),
        ("profession", "2512".into()),
        ("years_experience", "7".into()),
        ("english_level", "C2".into()),
        ("norwegian_level", "A2".into()),
        ("education_level", "master".into()),
        ("linkedin_url", "https://www.linkedin.com/in/ada".into()),
        ("phone", "+44 20 7946 0958".into()),
        ("has_partner", "true".into()),
        ("partner_profession", "Nurse".into()),
        ("consent_pool", "true".into()),
        ("consent_share", "true".into()),
        ("consent_newsletter", "true".into()),
    ]
}

pub fn with(
    mut form: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    form.retain(|(k, _)| *k != name);
    form.push((name, value.to_owned()));
    form
}

pub fn without(mut form: Vec<(&'static str, String)>, name: &str) -> Vec<(&'static str, String)> {
    form.retain(|(k, _)| *k != name);
    form
}

/// Posts the form as a browser does: multipart, with the CSRF token and optional CV.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    fields: &[(&'static str, String)],
    cv: Option<(&str, &[u8])>,
) -> Response {
    let mut form = multipart::Form::new();
    if let Some(token) = token {
        form = form.text("authenticity_token", token.to_owned());
    }
    for (name, value) in fields {
        form = form.text(*name, value.clone());
    }
    if let Some((filename, bytes)) = cv {
        form = form.part(
            "cv",
            multipart::Part::bytes(bytes.to_vec())
                .file_name(filename.to_owned())
                .mime_str("application/pdf")
                .expect("mime"),
        );
    }
    app.client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .expect("POST form")
}

/// Opens the form and submits `fields` with its token.
pub async fn sign_up(app: &TestApp, fields: &[(&'static str, String)]) -> Response {
    let (_, token) = open_form(app, &format!("/c/{SLUG}")).await;
    post_form(app, &format!("/c/{SLUG}"), Some(&token), fields, None).await
}

pub fn api_body(email: &str) -> Value {
    json!({
        "campaign": SLUG,
        "full_name": "Grace Hopper",
        "email": email,
        "citizenship": ["US"],
        "residence_country": "US",
        "profession": "2512",
        "years_experience": 12,
        "english_level": "C2",
        "norwegian_level": "none",
        "consent_pool": true,
        "consent_share": true,
        "consent_newsletter": false
    })
}

pub async fn api_sign_up(app: &TestApp, body: &Value) -> Response {
    app.client
        .post(app.url("/api/v1/signups"))
        .json(body)
        .send()
        .await
        .expect("POST /api/v1/signups")
}

/// The confirmation link in the newest email to `address`.
pub async fn confirmation_link(app: &TestApp, address: &str, nth: usize) -> String {
    let messages = app.mail(address, nth).await;
    let prefix = app.url("/confirm/");
    messages[nth - 1]
        .link(&prefix)
        .expect("the email carries a confirmation link")
}
