//! Retention: unconfirmed sign-ups are deleted after their period with what hangs on
//! them; inactive candidates are asked whether to stay, and erased without an answer.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
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

async fn confirmed(app: &TestApp, email: &str) -> i64 {
    assert_eq!(api_sign_up(app, &api_body(email)).await.status(), 201);
    let link = confirmation_link(app, email, 1).await;
    assert_eq!(
        app.client
            .get(&link)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    app.scalar(&format!(
        "SELECT id FROM candidates WHERE email = '{email}'"
    ))
    .await
}

async fn inactive_candidates_are_asked_then_kept_or_erased(app: &TestApp) {
    let keeper = confirmed(app, "keeper@example.com").await;
    let silent = confirmed(app, "silent@example.com").await;
    let active = confirmed(app, "active@example.com").await;
    app.drain_jobs().await;
    app.execute(&format!(
        "UPDATE candidates SET last_active_at = '2024-01-01T00:00:00+00:00' WHERE id IN ({keeper}, {silent})"
    ))
    .await;
    let files = LocalDir::new(app.data_dir.path().join("files"));
    let periods = retention::Periods {
        unconfirmed_days: 7,
        inactive_days: 730,
        answer_days: 30,
    };
    let now = chrono::Utc::now();
    let first = retention::run(&app.db, &files, now, periods)
        .await
        .expect("run");
    assert_eq!(
        first,
        retention::Run {
            unconfirmed_deleted: 0,
            reminded: 2,
            erased: 0
        }
    );
    // Exactly the two inactive ones are asked, once.
    let asked = app.mail("keeper@example.com", 2).await.remove(1);
    assert_eq!(asked.subject(), "Do you want to stay in the talent pool?");
    let keep_link = asked.link(&app.url("/keep/")).expect("keep link");
    assert!(
        asked.link(&app.url("/me/")).is_some(),
        "and the personal link"
    );
    app.mail("silent@example.com", 2).await;
    let again = retention::run(&app.db, &files, now, periods)
        .await
        .expect("run");
    assert_eq!(again.reminded, 0, "nobody is asked twice");
    app.drain_jobs().await;
    assert_eq!(
        app.smtp.to("active@example.com").await.len(),
        1,
        "only the confirmation"
    );
    assert_eq!(app.smtp.to("silent@example.com").await.len(), 2);

    // One click keeps the profile.
    let kept = app.client.get(&keep_link).send().await.expect("keep");
    assert_eq!(kept.status(), 200);
    assert!(
        kept.text()
            .await
            .expect("body")
            .contains("You stay in the talent pool")
    );
    let twice = app.client.get(&keep_link).send().await.expect("keep again");
    assert_eq!(twice.status(), 200);

    // A month later the one who did not answer is erased; the others stay.
    let later = now + chrono::Duration::days(31);
    let last = retention::run(&app.db, &files, later, periods)
        .await
        .expect("run");
    assert_eq!(
        last,
        retention::Run {
            unconfirmed_deleted: 0,
            reminded: 0,
            erased: 1
        }
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM candidates WHERE id IN ({keeper}, {active})"
        ))
        .await,
        2
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM candidates WHERE id = {silent}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM erasures WHERE source = 'retention'")
            .await,
        1
    );
    // Every run is logged with its counts (the app's own worker runs one at start too).
    assert!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'retention.run'")
            .await
            >= 3
    );
    let runs: Vec<serde_json::Value> = talentpool_core::entities::audit_log::Entity::find()
        .filter(talentpool_core::entities::audit_log::Column::Action.eq("retention.run"))
        .all(&app.db)
        .await
        .expect("audit")
        .into_iter()
        .filter_map(|entry| entry.details)
        .collect();
    assert!(
        runs.contains(&serde_json::json!({"unconfirmed_deleted": 0, "reminded": 2, "erased": 0}))
    );
    assert!(
        runs.contains(&serde_json::json!({"unconfirmed_deleted": 0, "reminded": 0, "erased": 1}))
    );
}
db_test!(inactive_candidates_are_asked_then_kept_or_erased);
