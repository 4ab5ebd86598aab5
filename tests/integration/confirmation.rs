//! `/confirm/{token}`: single use, expiring, bound to its purpose; new links on request.

use talentpool_tests::{TestApp, db_test};

use crate::helpers::*;

async fn a_link_works_once(app: &TestApp) {
    assert_eq!(
        sign_up(app, &valid_form("once@example.com")).await.status(),
        303
    );
    let link = confirmation_link(app, "once@example.com", 1).await;
    assert_eq!(
        app.client.get(&link).send().await.expect("first").status(),
        200
    );
    let again = app.client.get(&link).send().await.expect("second");
    assert_eq!(again.status(), 410);
    let html = again.text().await.expect("body");
    assert!(html.contains("This link was used already"));
    assert!(
        attribute(&html, "form[action='/confirm/resend']", "method").is_some(),
        "offers a new link"
    );
    // The token is stored hashed: the raw value is nowhere in the database.
    let token = link.rsplit('/').next().expect("token");
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
}
db_test!(a_link_works_once);

async fn an_expired_link_offers_a_new_one(app: &TestApp) {
    assert_eq!(
        sign_up(app, &valid_form("late@example.com")).await.status(),
        303
    );
    let link = confirmation_link(app, "late@example.com", 1).await;
    app.execute("UPDATE tokens SET expires_at = created_at")
        .await;
    let response = app.client.get(&link).send().await.expect("expired");
    assert_eq!(response.status(), 410);
    let html = response.text().await.expect("body");
    assert!(html.contains("This link has expired"));
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE confirmed_at IS NULL")
            .await,
        1
    );

    // Ask for a new link with the form on that page.
    let token = attribute(&html, "input[name=authenticity_token]", "value").expect("token");
    let response = app
        .client
        .post(app.url("/confirm/resend"))
        .form(&[
            ("email", "late@example.com"),
            ("authenticity_token", token.as_str()),
        ])
        .send()
        .await
        .expect("resend");
    assert_eq!(response.status(), 200);
    let fresh = confirmation_link(app, "late@example.com", 2).await;
    assert_ne!(fresh, link);
    assert_eq!(
        app.client.get(&fresh).send().await.expect("fresh").status(),
        200
    );
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE confirmed_at IS NOT NULL"
        )
        .await,
        1
    );

    // Unknown addresses get the same answer and no email.
    let response = app
        .client
        .post(app.url("/confirm/resend"))
        .form(&[
            ("email", "nobody@example.com"),
            ("authenticity_token", token.as_str()),
        ])
        .send()
        .await
        .expect("resend");
    assert_eq!(response.status(), 200);
    app.drain_jobs().await;
    assert!(app.smtp.to("nobody@example.com").await.is_empty());
}
db_test!(an_expired_link_offers_a_new_one);

async fn unknown_and_malformed_tokens(app: &TestApp) {
    for token in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x",
        "..%2F..%2Fetc",
        &"a".repeat(500),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/confirm/{token}")))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 404, "{token}");
    }
}
db_test!(unknown_and_malformed_tokens);
