//! The landing page form: the full journey, validation, CV, CSRF, honeypot.

use talentpool_tests::{TestApp, db_test};

use crate::helpers::*;

async fn full_journey(app: &TestApp) {
    let path = format!("/c/{SLUG}?utm_source=linkedin&utm_medium=paid&utm_campaign=autumn");
    let (html, token) = open_form(app, &path).await;
    for name in [
        "full_name",
        "email",
        "citizenship",
        "residence_country",
        "profession",
        "years_experience",
        "english_level",
        "norwegian_level",
        "linkedin_url",
        "cv",
        "has_partner",
        "partner_profession",
        "phone",
        "education_level",
        "work_permit_norway",
        "consent_pool",
        "consent_share",
        "consent_newsletter",
    ] {
        assert!(
            attribute(&html, &format!("[name={name}]"), "name").is_some(),
            "the form has a field named {name}"
        );
    }
    // UTM parameters travel with the form.
    assert_eq!(
        attribute(&html, "input[name=utm_source]", "value").as_deref(),
        Some("linkedin")
    );

    let mut fields = valid_form("ada@example.com");
    fields.push(("utm_source", "linkedin".into()));
    fields.push(("utm_medium", "paid".into()));
    fields.push(("utm_campaign", "autumn".into()));
    let response = post_form(
        app,
        &format!("/c/{SLUG}"),
        Some(&token),
        &fields,
        Some(("cv.pdf", PDF)),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"].to_str().expect("location"),
        format!("/c/{SLUG}/thanks")
    );
    let thanks = app
        .client
        .get(app.url(&format!("/c/{SLUG}/thanks")))
        .send()
        .await
        .expect("thanks");
    assert!(
        thanks
            .text()
            .await
            .expect("body")
            .contains("Check your email")
    );

    assert_eq!(app.count("candidates").await, 1);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE confirmed_at IS NULL")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM signups WHERE utm_source = 'linkedin' AND utm_medium = 'paid' AND utm_campaign = 'autumn' AND source = 'form'").await, 1);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidate_citizenships")
            .await,
        2
    );
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE eu_status = 'eu_eea'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM consents WHERE withdrawn_at IS NULL")
            .await,
        3
    );
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE phone = '+442079460958'")
            .await,
        1
    );
    // The CV is kept outside the database.
    let files: Vec<_> = std::fs::read_dir(app.data_dir.path().join("files"))
        .expect("files dir")
        .collect();
    assert_eq!(files.len(), 1);

    // The confirmation email: text and HTML, and a link that confirms once.
    let messages = app.mail("ada@example.com", 1).await;
    let email = &messages[0];
    assert_eq!(email.subject(), "Confirm your sign-up to the talent pool");
    assert!(email.text().contains("Hello Ada,"));
    let link = email
        .link(&app.url("/confirm/"))
        .expect("link in the text part");
    assert_eq!(
        attribute(&email.html(), "a[href]", "href").as_deref(),
        Some(link.as_str()),
        "the HTML part carries the same link"
    );
    let parsed = email.parsed();
    assert!(
        parsed
            .message_id()
            .is_some_and(|id| id.ends_with("@region.test"))
    );
    assert!(parsed.date().is_some());

    let page = app.client.get(&link).send().await.expect("confirm");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("body")
            .contains("Your email address is confirmed")
    );
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE confirmed_at IS NOT NULL"
        )
        .await,
        1
    );
    app.drain_jobs().await;
    assert_eq!(app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM email_log WHERE status = 'sent' AND template = 'confirm_signup'").await, 1);
    // The job was recorded done with the log entry, once, and let go of its worker: the
    // lock column then holds only jobs in flight, and apalis's own acknowledgement
    // (which looks a job up by its worker) finds nothing left to do.
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {} \
             WHERE status = 'Done' AND attempts = 1 AND lock_by IS NULL",
            app.job_table()
        ))
        .await,
        1,
        "{}",
        app.job_states().await
    );
}
db_test!(full_journey);

/// Every bad answer gets its own message, tied to its input, and nothing is stored.
async fn each_invalid_field_is_explained_and_nothing_stored(app: &TestApp) {
    let long = "x".repeat(201);
    let cases: Vec<(&str, Vec<(&'static str, String)>)> = vec![
        (
            "full_name",
            with(valid_form("a@example.com"), "full_name", ""),
        ),
        (
            "full_name",
            with(valid_form("a@example.com"), "full_name", &long),
        ),
        (
            "email",
            with(valid_form("a@example.com"), "email", "not-an-email"),
        ),
        (
            "email",
            with(
                valid_form("a@example.com"),
                "email",
                &format!("{}@example.com", "a".repeat(250)),
            ),
        ),
        (
            "citizenship",
            without(valid_form("a@example.com"), "citizenship"),
        ),
        (
            "citizenship",
            with(
                without(valid_form("a@example.com"), "citizenship"),
                "citizenship",
                "XX",
            ),
        ),
        (
            "residence_country",
            with(valid_form("a@example.com"), "residence_country", "ZZ"),
        ),
        (
            "profession",
            with(valid_form("a@example.com"), "profession", "9999"),
        ),
        (
            "years_experience",
            with(valid_form("a@example.com"), "years_experience", "lots"),
        ),
        (
            "years_experience",
            with(valid_form("a@example.com"), "years_experience", "99"),
        ),
        (
            "english_level",
            with(valid_form("a@example.com"), "english_level", "fluent"),
        ),
        (
            "norwegian_level",
            without(valid_form("a@example.com"), "norwegian_level"),
        ),
        (
            "linkedin_url",
            with(
                valid_form("a@example.com"),
                "linkedin_url",
                "https://example.com/me",
            ),
        ),
        ("phone", with(valid_form("a@example.com"), "phone", "12345")),
        (
            "education_level",
            with(valid_form("a@example.com"), "education_level", "phd"),
        ),
        (
            "partner_profession",
            with(valid_form("a@example.com"), "partner_profession", &long),
        ),
        (
            "consent_pool",
            without(valid_form("a@example.com"), "consent_pool"),
        ),
    ];
    for (field, fields) in cases {
        let response = sign_up(app, &fields).await;
        assert_eq!(response.status(), 422, "{field}");
        let html = response.text().await.expect("body");
        let described =
            attribute(&html, &format!("#{field}"), "aria-describedby").unwrap_or_default();
        assert!(
            described.contains(&format!("{field}-error")),
            "{field}: input not described by its error"
        );
        assert_eq!(
            attribute(&html, &format!("#{field}"), "aria-invalid").as_deref(),
            Some("true"),
            "{field}"
        );
        let messages = select_all(&html, &format!("#{field}-error"));
        assert_eq!(messages.len(), 1, "{field}: one message");
        assert!(
            messages[0].len() > "Error: ".len(),
            "{field}: a real message"
        );
        assert_eq!(
            select_all(&html, ".error-message").len(),
            1,
            "{field}: only that field is marked"
        );
        // The entered values are kept.
        if field != "full_name" {
            assert_eq!(
                attribute(&html, "#full_name", "value").as_deref(),
                Some("Ada Lovelace"),
                "{field}"
            );
        }
    }
    for table in [
        "candidates",
        "signups",
        "consents",
        "candidate_citizenships",
        "tokens",
    ] {
        assert_eq!(app.count(table).await, 0, "{table} must stay empty");
    }
}
db_test!(each_invalid_field_is_explained_and_nothing_stored);

async fn cv_must_be_a_pdf(app: &TestApp) {
    let (_, token) = open_form(app, &format!("/c/{SLUG}")).await;
    let fields = valid_form("cv@example.com");
    let fake = b"GIF89a\x01\x00 definitely not a pdf";
    let response = post_form(
        app,
        &format!("/c/{SLUG}"),
        Some(&token),
        &fields,
        Some(("cv.pdf", fake)),
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.expect("body");
    assert_eq!(select_all(&html, "#cv-error").len(), 1);
    assert!(select_all(&html, "#cv-error")[0].contains("PDF"));
    assert_eq!(app.count("candidates").await, 0);
    assert!(
        !app.data_dir.path().join("files").exists()
            || std::fs::read_dir(app.data_dir.path().join("files"))
                .expect("dir")
                .count()
                == 0
    );

    let too_big = [PDF, &vec![b' '; 5 * 1024 * 1024]].concat();
    let response = post_form(
        app,
        &format!("/c/{SLUG}"),
        Some(&token),
        &fields,
        Some(("cv.pdf", &too_big)),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(select_all(&response.text().await.expect("body"), "#cv-error")[0].contains("5 MB"));
    assert_eq!(app.count("candidates").await, 0);
}
db_test!(cv_must_be_a_pdf);

async fn missing_or_wrong_csrf_token_is_refused(app: &TestApp) {
    let _ = open_form(app, &format!("/c/{SLUG}")).await;
    let fields = valid_form("csrf@example.com");
    let response = post_form(app, &format!("/c/{SLUG}"), None, &fields, None).await;
    assert_eq!(response.status(), 403);
    let response = post_form(
        app,
        &format!("/c/{SLUG}"),
        Some("forged-token"),
        &fields,
        None,
    )
    .await;
    assert_eq!(response.status(), 403);
    // A token without its cookie (another browser) fails too.
    let (_, token) = open_form(app, &format!("/c/{SLUG}")).await;
    let stranger = reqwest::Client::new();
    let response = stranger
        .post(app.url(&format!("/c/{SLUG}")))
        .multipart(reqwest::multipart::Form::new().text("authenticity_token", token))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 403);
    assert_eq!(app.count("candidates").await, 0);
    assert_eq!(app.count("signups").await, 0);
}
db_test!(missing_or_wrong_csrf_token_is_refused);

async fn honeypot_stores_nothing(app: &TestApp) {
    let fields = with(
        valid_form("bot@example.com"),
        "website",
        "http://spam.example",
    );
    let response = sign_up(app, &fields).await;
    assert_eq!(response.status(), 303, "bots see the usual answer");
    assert_eq!(app.count("candidates").await, 0);
}
db_test!(honeypot_stores_nothing);

async fn same_email_twice_makes_one_candidate(app: &TestApp) {
    assert_eq!(
        sign_up(app, &valid_form("twice@example.com"))
            .await
            .status(),
        303
    );
    // Different case in the domain and spaces: the same normalised address.
    assert_eq!(
        sign_up(app, &valid_form(" twice@EXAMPLE.com "))
            .await
            .status(),
        303
    );
    assert_eq!(app.count("candidates").await, 1);
    assert_eq!(app.count("signups").await, 2);
}
db_test!(same_email_twice_makes_one_candidate);

async fn closed_and_unknown_campaigns(app: &TestApp) {
    let response = app
        .client
        .get(app.url("/c/no-such-campaign"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Page not found")
    );
    app.execute("UPDATE campaigns SET status = 'closed'").await;
    let response = app
        .client
        .get(app.url(&format!("/c/{SLUG}")))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 410);
    let response = api_sign_up(app, &api_body("late@example.com")).await;
    assert_eq!(response.status(), 410);
    assert_eq!(app.count("candidates").await, 0);
}
db_test!(closed_and_unknown_campaigns);
