//! Sign-ups written in group commits (`talentpool_core::signup_writer`): a batch keeps
//! every rule of a single sign-up, and one bad sign-up in a batch fails alone.

use serde_json::json;
use talentpool_core::{
    candidates::{NewSignup, SignupOutcome, SignupSource},
    domain::signup::SignupInput,
    professions::Catalog,
    signup_writer::{self, SignupWriter},
};
use talentpool_tests::{TestApp, db_test};

use crate::helpers::*;

async fn new_signup(
    app: &TestApp,
    email: &str,
    full_name: &str,
    citizenship: &[&str],
) -> NewSignup {
    let mut body = api_body(email);
    body["full_name"] = json!(full_name);
    body["citizenship"] = json!(citizenship);
    let input: SignupInput = serde_json::from_value(body).expect("answers");
    let catalog = Catalog::load(&app.db).await.expect("professions");
    let campaign_id = app
        .scalar(&format!("SELECT id FROM campaigns WHERE slug = '{SLUG}'"))
        .await;
    NewSignup {
        campaign_id,
        valid: input
            .validate_with(|code| catalog.contains(code))
            .expect("valid answers"),
        cv_key: None,
        channel: "api",
        source: SignupSource {
            utm_source: Some(" partner ".into()),
            ..SignupSource::default()
        },
    }
}

async fn a_batch_keeps_the_rules_of_single_sign_ups(app: &TestApp) {
    assert_eq!(
        api_sign_up(app, &api_body("known@example.com"))
            .await
            .status(),
        201
    );
    let batch = vec![
        new_signup(app, "ada@example.com", "Ada Lovelace", &["GB", "IE"]).await,
        new_signup(app, "Grace@Example.com", "Grace Hopper", &["US"]).await,
        // The same address twice in one batch: the second waits for confirmation.
        new_signup(app, "ada@example.com", "Mallory Impostor", &["NO"]).await,
        // A known address: nothing changes until its owner confirms.
        new_signup(app, "known@example.com", "Someone Else", &["SE"]).await,
    ];
    let outcomes = signup_writer::write(&app.db, &batch).await;
    let outcomes: Vec<SignupOutcome> = outcomes.into_iter().map(|o| o.expect("written")).collect();
    let ada = app
        .scalar("SELECT id FROM candidates WHERE email = 'ada@example.com'")
        .await;
    let grace = app
        .scalar("SELECT id FROM candidates WHERE email = 'Grace@example.com'")
        .await;
    let known = app
        .scalar("SELECT id FROM candidates WHERE email = 'known@example.com'")
        .await;
    assert_eq!(
        outcomes,
        vec![
            SignupOutcome::Created { candidate_id: ada },
            SignupOutcome::Created {
                candidate_id: grace
            },
            SignupOutcome::Pending {
                candidate_id: ada,
                emailed: true
            },
            SignupOutcome::Pending {
                candidate_id: known,
                emailed: true
            },
        ]
    );
    assert_eq!(app.count("candidates").await, 3);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE full_name IN ('Mallory Impostor', 'Someone Else')")
            .await,
        0,
        "no profile is overwritten"
    );
    // Everything that comes with a new candidate, for exactly the new ones.
    assert_eq!(
        app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM candidate_citizenships WHERE candidate_id = {ada} AND country IN ('GB', 'IE')"))
            .await,
        2
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidate_citizenships WHERE candidate_id = {ada}"
        ))
        .await,
        2
    );
    assert_eq!(
        app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE id = {ada} AND eu_status = 'eu_eea'"))
            .await,
        1
    );
    assert_eq!(
        app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE id = {grace} AND eu_status = 'non_eu'"))
            .await,
        1
    );
    for id in [ada, grace] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM consents c JOIN consent_texts t ON t.id = c.consent_text_id \
                 WHERE c.candidate_id = {id} AND c.kind = t.kind AND c.granted_source = 'api' AND c.kind IN ('pool', 'share')"
            ))
            .await,
            2,
            "pool and share consents under their current texts"
        );
        assert_eq!(
            app.scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM signups WHERE candidate_id = {id} AND kind = 'new' \
                 AND source = 'api' AND utm_source = 'partner' AND pending_answers IS NULL"
            ))
            .await,
            1
        );
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM signups WHERE kind = 'repeat' AND pending_answers IS NOT NULL \
             AND candidate_id IN ({ada}, {known})"
        ))
        .await,
        2
    );
    // Confirmation emails for the new addresses, "confirm your changes" for the others.
    let ada_mail = app.mail("ada@example.com", 2).await;
    let mut subjects: Vec<String> = ada_mail.iter().map(|m| m.subject()).collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        vec![
            "Confirm the new answers to your talent pool profile",
            "Confirm your sign-up to the talent pool",
        ]
    );
    assert_eq!(app.mail("Grace@example.com", 1).await.len(), 1);
    assert_eq!(app.mail("known@example.com", 2).await.len(), 2);
}
db_test!(a_batch_keeps_the_rules_of_single_sign_ups);

async fn a_bad_sign_up_fails_alone(app: &TestApp) {
    let mut bad = new_signup(app, "bad@example.com", "Bad Campaign", &["PL"]).await;
    bad.campaign_id = 999_999;
    let batch = vec![
        new_signup(app, "first@example.com", "First Person", &["PL"]).await,
        bad,
        new_signup(app, "third@example.com", "Third Person", &["PL"]).await,
    ];
    let outcomes = signup_writer::write(&app.db, &batch).await;
    assert!(matches!(outcomes[0], Ok(SignupOutcome::Created { .. })));
    assert!(outcomes[1].is_err(), "no such campaign: {:?}", outcomes[1]);
    assert!(matches!(outcomes[2], Ok(SignupOutcome::Created { .. })));
    assert_eq!(app.count("candidates").await, 2);
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE email = 'bad@example.com'"
        )
        .await,
        0,
        "nothing of the failed sign-up is stored"
    );
    assert_eq!(app.count("signups").await, 2);
    assert_eq!(app.count("candidate_citizenships").await, 2);
    assert_eq!(app.mail("first@example.com", 1).await.len(), 1);
    assert_eq!(app.mail("third@example.com", 1).await.len(), 1);
}
db_test!(a_bad_sign_up_fails_alone);

async fn concurrent_sign_ups_through_the_writer(app: &TestApp) {
    // As the app starts it (two batches in flight on PostgreSQL, one on SQLite), and
    // with three batches in flight on either.
    for (writer, prefix) in [
        (SignupWriter::start(app.db.clone()), "c"),
        (SignupWriter::start_with(app.db.clone(), 3), "t"),
    ] {
        the_same_addresses_at_once(app, &writer, prefix).await;
    }
    assert_eq!(app.count("candidates").await, 40);
    assert_eq!(app.count("signups").await, 120);
    app.drain_jobs().await;
}
db_test!(concurrent_sign_ups_through_the_writer);

async fn the_same_addresses_at_once(app: &TestApp, writer: &SignupWriter, prefix: &str) {
    let mut tasks = Vec::new();
    for i in 0..60 {
        // Every address three times, at once.
        let signup = new_signup(
            app,
            &format!("{prefix}{}@example.com", i % 20),
            "Con Current",
            &["DE"],
        )
        .await;
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move { writer.sign_up(signup).await }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task").expect("signed up") {
            SignupOutcome::Created { .. } => created += 1,
            SignupOutcome::Pending { .. } => {}
        }
    }
    assert_eq!(created, 20, "one candidate per address");
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE email LIKE '{prefix}%@example.com'"
        ))
        .await,
        20
    );
}
