//! A repeat sign-up with a known address never changes the profile by itself: its
//! answers wait until the owner of the address confirms them.

use talentpool_tests::{TestApp, db_test};

use crate::helpers::*;

async fn profile_untouched_until_link_used(app: &TestApp) {
    assert_eq!(
        sign_up(app, &valid_form("owner@example.com"))
            .await
            .status(),
        303
    );
    let first = confirmation_link(app, "owner@example.com", 1).await;
    assert_eq!(
        app.client
            .get(&first)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );

    // Somebody types the owner's address with other answers.
    let impostor = with(
        with(
            with(
                valid_form("owner@example.com"),
                "full_name",
                "Mallory Impostor",
            ),
            "profession",
            "2611",
        ),
        "consent_newsletter",
        "",
    );
    let impostor = without(impostor, "consent_newsletter");
    let response = sign_up(app, &impostor).await;
    assert_eq!(response.status(), 303, "same answer as for a new address");
    assert_eq!(app.count("candidates").await, 1);
    assert_eq!(app.count("signups").await, 2);
    let unchanged = app
        .scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE full_name = 'Ada Lovelace' AND profession_code = '2512' AND consent_newsletter = TRUE")
        .await;
    assert_eq!(unchanged, 1, "the stored profile is untouched");

    // The owner gets a link that applies the new answers.
    let messages = app.mail("owner@example.com", 2).await;
    assert_eq!(
        messages[1].subject(),
        "Confirm the new answers to your talent pool profile"
    );
    let apply = messages[1].link(&app.url("/confirm/")).expect("link");
    let page = app.client.get(&apply).send().await.expect("apply");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("body")
            .contains("profile is updated")
    );
    let changed = app
        .scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE full_name = 'Mallory Impostor' AND profession_code = '2611' AND consent_newsletter = FALSE")
        .await;
    assert_eq!(changed, 1);
    // The newsletter consent withdrawal is recorded.
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM consents WHERE kind = 'newsletter' AND withdrawn_at IS NOT NULL").await,
        1
    );
    assert_eq!(
        app.client.get(&apply).send().await.expect("again").status(),
        410
    );
}
db_test!(profile_untouched_until_link_used);

async fn repeat_emails_are_throttled(app: &TestApp) {
    let body = api_body("busy@example.com");
    assert_eq!(api_sign_up(app, &body).await.status(), 201);
    for _ in 0..3 {
        assert_eq!(api_sign_up(app, &body).await.status(), 201);
    }
    app.drain_jobs().await;
    let messages = app.smtp.to("busy@example.com").await;
    assert_eq!(
        messages.len(),
        2,
        "one confirmation, one link for the repeats"
    );
    assert_eq!(app.count("signups").await, 4, "every sign-up is recorded");
}
db_test!(repeat_emails_are_throttled);
