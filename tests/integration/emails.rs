//! Snapshots of the emails as received over SMTP, with what changes per run redacted.

use mail_parser::MimeHeaders;
use talentpool_tests::{Received, TestApp, db_test};

use crate::helpers::*;

fn redact(app: &TestApp, text: &str) -> String {
    let text = text
        .replace("&#x2f;", "/")
        .replace(&app.address, "http://talentpool.test");
    let token = regex::Regex::new(r"/confirm/[A-Za-z0-9_-]{43}").expect("regex");
    let text = token.replace_all(&text, "/confirm/[TOKEN]");
    let personal = regex::Regex::new(r"/me/[A-Za-z0-9_-]{43}").expect("regex");
    let text = personal.replace_all(&text, "/me/[TOKEN]");
    let date = regex::Regex::new(r"\d{1,2} [A-Z][a-z]+ \d{4}").expect("regex");
    date.replace_all(&text, "[DATE]").into_owned()
}

fn headers(email: &Received) -> String {
    let parsed = email.parsed();
    let from = parsed.from().and_then(|f| f.first()).map(|a| {
        format!(
            "{} <{}>",
            a.name().unwrap_or_default(),
            a.address().unwrap_or_default()
        )
    });
    format!(
        "From: {}\nTo: {}\nSubject: {}\nContent-Type: {}\n",
        from.unwrap_or_default(),
        email.to.join(", "),
        email.subject(),
        parsed
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()))
            .unwrap_or_default(),
    )
}

async fn confirmation_emails(app: &TestApp) {
    assert_eq!(
        api_sign_up(app, &api_body("snap@example.com"))
            .await
            .status(),
        201
    );
    let first = app.mail("snap@example.com", 1).await.remove(0);
    insta::assert_snapshot!("confirm_signup_headers", headers(&first));
    insta::assert_snapshot!("confirm_signup_text", redact(app, &first.text()));
    insta::assert_snapshot!("confirm_signup_html", redact(app, &first.html()));

    assert_eq!(
        api_sign_up(app, &api_body("snap@example.com"))
            .await
            .status(),
        201
    );
    let second = app.mail("snap@example.com", 2).await.remove(1);
    insta::assert_snapshot!("confirm_changes_text", redact(app, &second.text()));
    insta::assert_snapshot!("confirm_changes_html", redact(app, &second.html()));
}
db_test!(confirmation_emails);
