//! Unconfirmed sign-ups are deleted after the retention period, with what hangs on them.

use talentpool_core::{retention, storage::LocalDir};
use talentpool_tests::{TestApp, db_test};

use crate::helpers::*;

async fn unconfirmed_sign_ups_expire(app: &TestApp) {
    let (_, token) = open_form(app, &format!("/c/{SLUG}")).await;
    let stale = post_form(
        app,
        &format!("/c/{SLUG}"),
        Some(&token),
        &valid_form("stale@example.com"),
        Some(("cv.pdf", PDF)),
    )
    .await;
    assert_eq!(stale.status(), 303);
    assert_eq!(
        sign_up(app, &valid_form("fresh@example.com"))
            .await
            .status(),
        303
    );
    assert_eq!(
        sign_up(app, &valid_form("kept@example.com")).await.status(),
        303
    );
    let link = confirmation_link(app, "kept@example.com", 1).await;
    assert_eq!(
        app.client
            .get(&link)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    app.drain_jobs().await;
    app.execute("UPDATE candidates SET created_at = '2000-01-01T00:00:00+00:00' WHERE email IN ('stale@example.com', 'kept@example.com')").await;

    let files = LocalDir::new(app.data_dir.path().join("files"));
    let cv_files = || std::fs::read_dir(app.data_dir.path().join("files")).map_or(0, |d| d.count());
    assert_eq!(cv_files(), 1);
    let deleted = retention::purge_unconfirmed(&app.db, &files, chrono::Utc::now(), 7)
        .await
        .expect("purge");
    assert_eq!(deleted, 1, "only the stale unconfirmed sign-up");
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE email = 'stale@example.com'"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("candidates").await,
        2,
        "the fresh and the confirmed one stay"
    );
    for table in [
        "signups",
        "consents",
        "candidate_citizenships",
        "tokens",
        "email_log",
    ] {
        let orphans = app
            .scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE candidate_id IS NULL OR candidate_id NOT IN (SELECT id FROM candidates)"))
            .await;
        assert_eq!(orphans, 0, "{table} keeps nothing of the deleted sign-up");
    }
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM email_log WHERE recipient = 'stale@example.com'"
        )
        .await,
        0
    );
    assert_eq!(cv_files(), 0, "the CV file is deleted too");
    assert_eq!(app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'retention.unconfirmed_deleted'").await, 1);
    // A second run finds nothing more.
    assert_eq!(
        retention::purge_unconfirmed(&app.db, &files, chrono::Utc::now(), 7)
            .await
            .expect("purge"),
        0
    );
}
db_test!(unconfirmed_sign_ups_expire);
