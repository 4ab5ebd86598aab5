//! Pages and endpoints around the sign-up: health, OpenAPI, privacy, the outbox, limits.

use serde_json::Value;
use talentpool_tests::{Backend, Options, TestApp, db_test};

use crate::helpers::*;

async fn health_and_openapi(app: &TestApp) {
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let post = &doc["paths"]["/api/v1/signups"]["post"];
    assert!(post["responses"]["201"].is_object());
    let required = doc["components"]["schemas"]["SignupInput"]["required"]
        .as_array()
        .expect("required fields");
    for field in [
        "full_name",
        "email",
        "citizenship",
        "residence_country",
        "profession",
        "years_experience",
        "english_level",
        "norwegian_level",
        "consent_pool",
    ] {
        assert!(
            required.iter().any(|r| r == field),
            "{field} is documented as required"
        );
    }
    assert!(post["responses"]["422"]["content"]["application/problem+json"].is_object());
    let privacy = app
        .client
        .get(app.url("/privacy"))
        .send()
        .await
        .expect("privacy");
    assert_eq!(privacy.status(), 200);
    let missing = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
}
db_test!(health_and_openapi);

async fn landing_page_is_accessible_markup(app: &TestApp) {
    let (html, _) = open_form(app, &format!("/c/{SLUG}")).await;
    assert_eq!(attribute(&html, "html", "lang").as_deref(), Some("en"));
    assert!(
        attribute(&html, "meta[name=viewport]", "content")
            .is_some_and(|c| c.contains("width=device-width"))
    );
    assert_eq!(
        select_all(&html, "h1"),
        ["Software developers for the Oslo region"]
    );
    // Every visible input has a label.
    for id in [
        "full_name",
        "email",
        "citizenship",
        "citizenship_2",
        "residence_country",
        "profession",
        "years_experience",
        "english_level",
        "norwegian_level",
        "cv",
        "consent_pool",
    ] {
        assert_eq!(
            select_all(&html, &format!("label[for={id}]")).len(),
            1,
            "label for {id}"
        );
    }
    // The campaign text is rendered from Markdown.
    assert!(!select_all(&html, ".campaign-body h2").is_empty());
}
db_test!(landing_page_is_accessible_markup);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_posts_are_rate_limited_per_ip() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("SIGNUP_RATE_PER_MINUTE", "3".into())],
        },
    )
    .await;
    let mut statuses = Vec::new();
    let mut refused = None;
    for i in 0..6 {
        let response = api_sign_up(&app, &api_body(&format!("limit{i}@example.com"))).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 && refused.is_none() {
            refused = Some(response);
        }
    }
    assert_eq!(&statuses[..3], &[201, 201, 201]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    // The refusal is a problem document, like every other API error.
    let refused = refused.expect("a 429");
    assert_eq!(
        refused
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert!(refused.headers().get("retry-after").is_some());
    let problem: Value = refused.json().await.expect("problem json");
    assert_eq!(problem["status"], 429);
    assert_eq!(problem["type"], "/problems/too-many-requests");
    // Reading pages is not limited.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_outbox_keeps_mail_without_smtp() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("SMTP_URL", String::new())],
        },
    )
    .await;
    assert_eq!(
        api_sign_up(&app, &api_body("outbox@example.com"))
            .await
            .status(),
        201
    );
    app.drain_jobs().await;
    assert_eq!(app.count("outbox_messages").await, 1);
    let page = app
        .client
        .get(app.url("/dev/outbox"))
        .send()
        .await
        .expect("outbox");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert!(html.contains("outbox@example.com"));
    let link = attribute(&html, "tbody a", "href").expect("a message link");
    let message = app
        .client
        .get(app.url(&link))
        .send()
        .await
        .expect("message")
        .text()
        .await
        .expect("body");
    assert!(message.contains("Confirm your sign-up"));
    // The confirmation link is shown as a link, and it works.
    let confirm =
        attribute(&message, "ul a[href*='/confirm/']", "href").expect("a confirmation link");
    assert_eq!(
        app.client
            .get(&confirm)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    assert!(app.smtp.messages().await.is_empty());
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_has_no_outbox() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("APP_ENV", "production".into())],
        },
    )
    .await;
    let response = app
        .client
        .get(app.url("/dev/outbox"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 404);
    // Production pages, the fallback included, tell browsers to keep to HTTPS.
    for path in ["/", "/healthz", "/admin/login", "/no-such-page"] {
        let response = app.client.get(app.url(path)).send().await.expect("get");
        assert_eq!(
            response
                .headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000; includeSubDomains"),
            "HSTS on {path}"
        );
    }
    // And production does not seed a demo campaign.
    assert_eq!(app.count("campaigns").await, 0);
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_sends_no_hsts() {
    // Development runs on http://localhost: HSTS there would stick to localhost.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app.client.get(app.url("/")).send().await.expect("get");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    app.teardown().await;
}
