//! Newsletters: the audience, exactly one copy per recipient with the list headers,
//! one-click unsubscribe (also for deliveries not yet sent), SMTP failures retried or
//! suppressed, pause/resume/cancel, scheduling and template errors at save time.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use talentpool_core::{
    audit::Actor,
    consents::{self, Kind},
    entities::candidate,
    newsletters::{self, Status},
    pool::Filter,
    segments,
};
use talentpool_tests::{Fault, TestApp, db_test};

/// Inserts a candidate; returns its id.
async fn candidate(app: &TestApp, email: &str, name: &str, confirmed: bool, consent: bool) -> i64 {
    let now = Utc::now();
    let id = candidate::Entity::insert(candidate::ActiveModel {
        id: NotSet,
        email: Set(email.to_owned()),
        full_name: Set(name.to_owned()),
        residence_country: Set("PL".into()),
        profession_code: Set("2512".into()),
        years_experience: Set(5),
        english_level: Set("C1".into()),
        norwegian_level: Set("none".into()),
        linkedin_url: Set(None),
        phone: Set(None),
        education_level: Set(None),
        work_permit_norway: Set(false),
        has_partner: Set(false),
        partner_profession: Set(None),
        cv_key: Set(None),
        eu_status: Set("eu_eea".into()),
        consent_pool: Set(true),
        consent_share: Set(false),
        consent_newsletter: Set(consent),
        confirmed_at: Set(confirmed.then_some(now)),
        suppressed_at: Set(None),
        last_active_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(&app.db)
    .await
    .expect("candidate")
    .last_insert_id;
    if consent {
        let texts = consents::current_texts(&app.db, "en").await.expect("texts");
        consents::grant(
            &app.db,
            id,
            Kind::Newsletter,
            texts.newsletter.id,
            "test",
            now,
        )
        .await
        .expect("consent");
    }
    id
}

/// Writes a draft's ledger without sending it (the app's own sender leaves drafts alone).
async fn freeze_draft(app: &TestApp, id: i64) {
    let n = newsletters::find(&app.db, id)
        .await
        .expect("find")
        .expect("exists");
    newsletters::freeze(&app.db, &n, Utc::now())
        .await
        .expect("freeze");
}

/// `count` confirmed candidates with newsletter consent, `{prefix}{i}@example.org`.
async fn candidates(app: &TestApp, prefix: &str, name: &str, count: usize) {
    for i in 0..count {
        candidate(app, &format!("{prefix}{i}@example.org"), name, true, true).await;
    }
}

async fn everyone(app: &TestApp) -> i64 {
    segments::create(&app.db, "Everyone", &Filter::default(), None)
        .await
        .expect("segment")
        .id
}

async fn api(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = match method {
        "POST" => app.client.post(app.url(path)),
        "PUT" => app.client.put(app.url(path)),
        _ => app.client.get(app.url(path)),
    }
    .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("API request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(app: &TestApp, token: &str, segment_id: i64, body: &str) -> i64 {
    let (status, created) = api(
        app,
        token,
        "POST",
        "/api/v1/newsletters",
        Some(json!({ "subject": "News for {{ candidate.first_name }}", "body_markdown": body, "segment_id": segment_id })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().expect("id")
}

/// Waits until the newsletter reaches `status`; returns its view.
async fn wait_for_status(app: &TestApp, token: &str, id: i64, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let (_, view) = api(
            app,
            token,
            "GET",
            &format!("/api/v1/newsletters/{id}"),
            None,
        )
        .await;
        if view["status"] == status {
            return view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "newsletter {id} did not become {status}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const BODY: &str = "Hello {{ candidate.first_name }},\n\nnews from **{{ campaign.title or 'the pool' }}**.\n\n[Unsubscribe]({{ unsubscribe_url }})";

/// The counts kept on the newsletter's row agree with a count of its ledger (once the
/// outcomes still in flight are recorded: they are read in two statements).
async fn counts_match_the_ledger(app: &TestApp, id: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let kept = newsletters::progress(&app.db, id).await.expect("progress");
        let counted = newsletters::recount(&app.db, id).await.expect("recount");
        if kept == counted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "kept counts {kept:?} vs the ledger's {counted:?} (newsletter {id})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn segment_gets_exactly_one_copy_each(app: &TestApp) {
    let token = app.api_token().await;
    let members: Vec<String> = (0..6).map(|i| format!("member{i}@example.org")).collect();
    for (i, email) in members.iter().enumerate() {
        candidate(app, email, &format!("Member{i} Nowak"), true, true).await;
    }
    candidate(app, "unconfirmed@example.org", "Un Confirmed", false, true).await;
    candidate(app, "noconsent@example.org", "No Consent", true, false).await;
    candidate(app, "suppressed@example.org", "Sup Pressed", true, true).await;
    newsletters::delivery::suppress(&app.db, "suppressed@example.org", "test", Utc::now())
        .await
        .expect("suppress");
    let segment = everyone(app).await;
    let id = create(app, &token, segment, BODY).await;
    let (_, draft) = api(
        app,
        &token,
        "GET",
        &format!("/api/v1/newsletters/{id}"),
        None,
    )
    .await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(
        draft["recipients"], 6,
        "the count shown before sending: {draft}"
    );

    // An empty body with a JSON content type, as many clients send it, means "now".
    let sending = app
        .client
        .post(app.url(&format!("/api/v1/newsletters/{id}/send")))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .send()
        .await
        .expect("send");
    assert_eq!(sending.status(), 200);
    let done = wait_for_status(app, &token, id, "done").await;
    assert_eq!(
        (
            done["recipients"].as_i64(),
            done["sent"].as_i64(),
            done["failed"].as_i64(),
            done["skipped"].as_i64()
        ),
        (Some(6), Some(6), Some(0), Some(0)),
        "{done}"
    );
    let all = app.smtp.messages().await;
    assert_eq!(all.len(), 6, "exactly one message per recipient");
    for (i, email) in members.iter().enumerate() {
        let got = app.smtp.to(email).await;
        assert_eq!(got.len(), 1, "{email}");
        let message = &got[0];
        let parsed = message.parsed();
        assert_eq!(
            parsed.subject(),
            Some(format!("News for Member{i}").as_str())
        );
        let from = parsed.from().and_then(|f| f.first()).expect("From");
        assert_eq!(from.name(), Some("Talent Pool Oslo"));
        let raw = String::from_utf8_lossy(&message.raw).to_string();
        let header = |name: &str| {
            parsed
                .header_raw(name)
                .map(|v| v.trim().replace("\r\n", "").replace('\n', ""))
                .unwrap_or_else(|| panic!("{name} header in {raw}"))
        };
        let unsubscribe = header("List-Unsubscribe");
        assert!(
            unsubscribe.contains(&format!("<{}/u/", app.address)),
            "{unsubscribe}"
        );
        assert!(
            unsubscribe.contains("<mailto:talentpool@region.test?subject=unsubscribe"),
            "{unsubscribe}"
        );
        assert_eq!(
            header("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        assert!(header("Message-ID").starts_with(&format!("<newsletter-{id}.delivery-")));
        assert!(!header("Date").is_empty());
        assert!(
            header("Content-Type").starts_with("multipart/alternative"),
            "{raw}"
        );
        assert!(message.text().contains(&format!("Hello Member{i},")));
        assert!(message.html().contains(&format!("Member{i}")));
        assert!(message.text().contains("Unsubscribe with one click:"));
        // Like every email to a candidate, it carries the personal link to their page.
        let me = message.link(&app.url("/me/")).expect("personal link");
        let page = app.client.get(&me).send().await.expect("own page");
        assert_eq!(page.status(), 200);
        assert!(page.text().await.expect("body").contains(email.as_str()));
    }
    for nobody in [
        "unconfirmed@example.org",
        "noconsent@example.org",
        "suppressed@example.org",
    ] {
        assert!(app.smtp.to(nobody).await.is_empty(), "{nobody} got mail");
    }
}
db_test!(segment_gets_exactly_one_copy_each);

async fn one_click_unsubscribe_skips_later_deliveries(app: &TestApp) {
    let token = app.api_token().await;
    let ada = candidate(app, "ada@example.org", "Ada L", true, true).await;
    candidate(app, "bob@example.org", "Bob K", true, true).await;
    let segment = everyone(app).await;
    let first = create(app, &token, segment, BODY).await;
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{first}/send"),
        None,
    )
    .await;
    wait_for_status(app, &token, first, "done").await;
    let message = app.mail("ada@example.org", 1).await.remove(0);
    let link = message
        .link(&app.url("/u/"))
        .expect("an unsubscribe link in the text");

    // A second newsletter whose ledger is written, held before anything is sent.
    let second = create(app, &token, segment, BODY).await;
    freeze_draft(app, second).await;
    let page = app.client.get(&link).send().await.expect("GET");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("page");
    assert!(page.contains("<button"), "a confirmation button: {page}");

    let response = app
        .client
        .post(&link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("one-click POST");
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM consents WHERE candidate_id = {ada} AND kind = 'newsletter' AND withdrawn_at IS NOT NULL AND withdrawn_source = 'one-click'"
        ))
        .await,
        1,
        "the consent is withdrawn, with its time and source"
    );
    assert_eq!(
        app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE id = {ada} AND consent_newsletter = false")).await,
        1
    );
    let (_, view) = api(
        app,
        &token,
        "GET",
        &format!("/api/v1/newsletters/{first}"),
        None,
    )
    .await;
    assert_eq!(view["unsubscribes"], 1, "{view}");
    counts_match_the_ledger(app, first).await;
    // The second newsletter counts Ada's delivery skipped before anything is sent.
    counts_match_the_ledger(app, second).await;
    let (_, held) = api(
        app,
        &token,
        "GET",
        &format!("/api/v1/newsletters/{second}"),
        None,
    )
    .await;
    assert_eq!(held["skipped"], 1, "{held}");
    // A forged token changes nothing.
    let forged = format!("{}x", link);
    assert_eq!(
        app.client
            .post(&forged)
            .send()
            .await
            .expect("POST")
            .status(),
        404
    );

    // The second newsletter: Ada's delivery is skipped, Bob's is sent.
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{second}/send"),
        None,
    )
    .await;
    let done = wait_for_status(app, &token, second, "done").await;
    assert_eq!(
        (done["sent"].as_i64(), done["skipped"].as_i64()),
        (Some(1), Some(1)),
        "{done}"
    );
    assert_eq!(app.smtp.to("ada@example.org").await.len(), 1);
    assert_eq!(app.smtp.to("bob@example.org").await.len(), 2);
}
db_test!(one_click_unsubscribe_skips_later_deliveries);

async fn smtp_failures_are_retried_or_suppressed(app: &TestApp) {
    let token = app.api_token().await;
    for email in [
        "ok@example.org",
        "later@example.org",
        "dropped@example.org",
        "gone@example.org",
    ] {
        candidate(app, email, "Some One", true, true).await;
    }
    app.smtp
        .fail_address("later@example.org", Fault::Reply(451), Some(2));
    app.smtp
        .fail_address("dropped@example.org", Fault::Drop, Some(1));
    app.smtp
        .fail_address("gone@example.org", Fault::Reply(550), None);
    let segment = everyone(app).await;
    let id = create(app, &token, segment, BODY).await;
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/send"),
        None,
    )
    .await;
    let done = wait_for_status(app, &token, id, "done").await;
    assert_eq!(
        (done["sent"].as_i64(), done["failed"].as_i64()),
        (Some(3), Some(1)),
        "{done}"
    );
    assert_eq!(app.smtp.to("ok@example.org").await.len(), 1);
    assert_eq!(
        app.smtp.to("later@example.org").await.len(),
        1,
        "451 retried, delivered once"
    );
    assert_eq!(app.smtp.attempts("later@example.org"), 3);
    assert_eq!(
        app.smtp.to("dropped@example.org").await.len(),
        1,
        "a lost connection is retried"
    );
    assert!(app.smtp.to("gone@example.org").await.is_empty());
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE status = 'failed' AND last_error LIKE '%no such user%'").await,
        1
    );
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM suppressions WHERE email = 'gone@example.org'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE email = 'gone@example.org' AND suppressed_at IS NOT NULL").await,
        1
    );
    // The suppressed address is out of every later audience.
    let (_, next) = api(
        app,
        &token,
        "POST",
        "/api/v1/newsletters",
        Some(json!({ "subject": "Again", "body_markdown": "Hi", "segment_id": segment })),
    )
    .await;
    assert_eq!(next["recipients"], 3, "{next}");
}
db_test!(smtp_failures_are_retried_or_suppressed);

async fn a_burst_of_failures_pauses(app: &TestApp) {
    let token = app.api_token().await;
    candidates(app, "p", "Pat", 40).await;
    app.smtp.fail_first(1000, Fault::Reply(451));
    let segment = everyone(app).await;
    let id = create(app, &token, segment, BODY).await;
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/send"),
        None,
    )
    .await;
    let paused = wait_for_status(app, &token, id, "paused").await;
    counts_match_the_ledger(app, id).await;
    let reason = paused["status_reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("Paused automatically") && reason.contains("451"),
        "{paused}"
    );
    // After the server recovers, a person resumes and everyone gets one copy.
    app.smtp.fail_first(0, Fault::Reply(451));
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/resume"),
        None,
    )
    .await;
    let done = wait_for_status(app, &token, id, "done").await;
    assert_eq!(done["sent"], 40, "{done}");
    for i in 0..40 {
        assert_eq!(app.smtp.to(&format!("p{i}@example.org")).await.len(), 1);
    }
}
db_test!(a_burst_of_failures_pauses);

async fn pause_resume_and_cancel(app: &TestApp) {
    let token = app.api_token().await;
    candidates(app, "r", "Rita", 30).await;
    let segment = everyone(app).await;
    let id = create(app, &token, segment, BODY).await;
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/send"),
        None,
    )
    .await;
    app.smtp.wait_for_total(3, Duration::from_secs(30)).await;
    let (status, paused) = api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/pause"),
        None,
    )
    .await;
    assert_eq!(
        (status, paused["status"].as_str()),
        (200, Some("paused")),
        "{paused}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let held = app.smtp.messages().await.len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        app.smtp.messages().await.len(),
        held,
        "nothing is sent while paused"
    );
    assert!(held < 30, "paused before the end ({held} sent)");
    counts_match_the_ledger(app, id).await;
    let (status, _) = api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/pause"),
        None,
    )
    .await;
    assert_eq!(status, 409, "pausing twice is a conflict");
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/resume"),
        None,
    )
    .await;
    let done = wait_for_status(app, &token, id, "done").await;
    assert_eq!(done["sent"], 30, "{done}");
    for i in 0..30 {
        assert_eq!(
            app.smtp.to(&format!("r{i}@example.org")).await.len(),
            1,
            "r{i}"
        );
    }

    let second = create(app, &token, segment, BODY).await;
    api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{second}/send"),
        None,
    )
    .await;
    app.smtp.wait_for_total(33, Duration::from_secs(30)).await;
    let (status, cancelled) = api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{second}/cancel"),
        None,
    )
    .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, after) = api(
        app,
        &token,
        "GET",
        &format!("/api/v1/newsletters/{second}"),
        None,
    )
    .await;
    let sent = after["sent"].as_i64().unwrap_or_default();
    assert!(sent < 30, "cancelled before the end: {after}");
    assert_eq!(
        sent + after["skipped"].as_i64().unwrap_or_default(),
        30,
        "{after}"
    );
    assert_eq!(app.smtp.messages().await.len() as i64, 30 + sent);
    counts_match_the_ledger(app, second).await;

    // A delivery left claimed by a worker that died after the cancel is skipped once its
    // lease has run out.
    app.execute(&format!(
        "UPDATE deliveries SET status = 'sending', lease_until = NULL WHERE id = \
         (SELECT MIN(id) FROM deliveries WHERE newsletter_id = {second} AND status = 'skipped')"
    ))
    .await;
    let expired = Utc::now() - chrono::Duration::seconds(1);
    talentpool_core::entities::delivery::Entity::update_many()
        .col_expr(
            talentpool_core::entities::delivery::Column::LeaseUntil,
            sea_orm::sea_query::Expr::value(Some(expired)),
        )
        .filter(sea_orm::ColumnTrait::eq(
            &talentpool_core::entities::delivery::Column::Status,
            "sending",
        ))
        .exec(&app.db)
        .await
        .expect("expire the lease");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app
        .scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM deliveries WHERE status = 'sending'")
        .await
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the orphaned delivery was not skipped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, after) = api(
        app,
        &token,
        "GET",
        &format!("/api/v1/newsletters/{second}"),
        None,
    )
    .await;
    assert_eq!(after["queued"], 0, "{after}");
}
db_test!(pause_resume_and_cancel, [("SEND_RATE_PER_SEC", 20)]);

async fn scheduled_newsletters_go_out_on_time_or_wait_when_late(app: &TestApp) {
    let token = app.api_token().await;
    candidate(app, "sched@example.org", "Sched Uled", true, true).await;
    let segment = everyone(app).await;
    let id = create(app, &token, segment, BODY).await;
    let at = (Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (status, scheduled) = api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{id}/send"),
        Some(json!({ "send_at": at })),
    )
    .await;
    assert_eq!(
        (status, scheduled["status"].as_str()),
        (200, Some("scheduled")),
        "{scheduled}"
    );
    assert!(app.smtp.to("sched@example.org").await.is_empty());
    wait_for_status(app, &token, id, "done").await;
    assert_eq!(app.smtp.to("sched@example.org").await.len(), 1);

    // With a clock of our own: one due a minute ago starts, one three hours late waits.
    let max_late = chrono::Duration::minutes(60);
    let later = create(app, &token, segment, BODY).await;
    let late = create(app, &token, segment, BODY).await;
    let in_a_day = Utc::now() + chrono::Duration::days(1);
    for n in [later, late] {
        newsletters::send(&app.db, n, Some(in_a_day), Utc::now(), Actor::System)
            .await
            .expect("send")
            .expect("scheduled");
    }
    newsletters::send(
        &app.db,
        late,
        Some(in_a_day - chrono::Duration::hours(3)),
        Utc::now(),
        Actor::System,
    )
    .await
    .expect("send")
    .expect("rescheduled");
    let started =
        newsletters::start_due(&app.db, in_a_day + chrono::Duration::minutes(1), max_late)
            .await
            .expect("start");
    assert_eq!(started.len(), 2);
    let status = |id| async move {
        newsletters::status_of(
            &newsletters::find(&app.db, id)
                .await
                .expect("find")
                .expect("exists"),
        )
    };
    assert_eq!(status(later).await, Status::Sending);
    assert_eq!(status(late).await, Status::Paused);
    let (_, view) = api(
        app,
        &token,
        "GET",
        &format!("/api/v1/newsletters/{late}"),
        None,
    )
    .await;
    assert!(
        view["status_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("late"),
        "{view}"
    );
    wait_for_status(app, &token, later, "done").await;
    // A local time without offset is Oslo time.
    let (status, problem) = api(
        app,
        &token,
        "POST",
        &format!("/api/v1/newsletters/{late}/send"),
        Some(json!({ "send_at": "next tuesday" })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
}
db_test!(scheduled_newsletters_go_out_on_time_or_wait_when_late);

async fn template_errors_are_reported_when_saved(app: &TestApp) {
    let token = app.api_token().await;
    let segment = everyone(app).await;
    let (status, problem) = api(
        app,
        &token,
        "POST",
        "/api/v1/newsletters",
        Some(json!({
            "subject": "Hi {{ candidate.nmae }}",
            "body_markdown": "Line one\n\nHello {{ candidate.first_name }\n",
            "segment_id": segment
        })),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    let find = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .and_then(|e| e["message"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(find("subject").contains("candidate.nmae"), "{problem}");
    assert!(find("subject").starts_with("Line 1:"), "{problem}");
    assert!(find("body_markdown").starts_with("Line 3:"), "{problem}");
    assert_eq!(app.count("newsletters").await, 0, "nothing saved");
    let (status, problem) = api(
        app,
        &token,
        "POST",
        "/api/v1/newsletters",
        Some(json!({ "subject": "Hi", "body_markdown": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", "segment_id": segment })),
    )
    .await;
    assert_eq!(status, 422, "a runaway template is refused: {problem}");
    let (status, _) = api(
        app,
        &token,
        "POST",
        "/api/v1/newsletters",
        Some(json!({ "subject": "Hi", "body_markdown": "Hi", "segment_id": 999_999 })),
    )
    .await;
    assert_eq!(status, 422);
}
db_test!(template_errors_are_reported_when_saved);

async fn staff_session(app: &TestApp) -> String {
    let email = "editor@region.test";
    talentpool_core::staff::create_admin(&app.db, email, "a long enough password")
        .await
        .expect("staff");
    let page = app
        .client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("login page");
    let token = crate::helpers::attribute(
        &page.text().await.expect("body"),
        "input[name=authenticity_token]",
        "value",
    )
    .expect("token");
    let response = app
        .client
        .post(app.url("/admin/login"))
        .form(&[
            ("email", email),
            ("password", "a long enough password"),
            ("next", "/admin"),
            ("authenticity_token", &token),
        ])
        .send()
        .await
        .expect("POST login");
    assert_eq!(response.status(), 303);
    email.to_owned()
}

async fn page_token(app: &TestApp, path: &str) -> (String, String) {
    let response = app.client.get(app.url(path)).send().await.expect("GET");
    assert_eq!(response.status(), 200, "{path}");
    let html = response.text().await.expect("body");
    let token = crate::helpers::attribute(&html, "input[name=authenticity_token]", "value")
        .expect("a CSRF token");
    (html, token)
}

async fn back_office_composes_previews_tests_and_sends(app: &TestApp) {
    let staff = staff_session(app).await;
    let grace = candidate(app, "grace@example.org", "Grace Hopper", true, true).await;
    candidate(app, "alan@example.org", "Alan Turing", true, true).await;
    candidate(app, "nope@example.org", "No Pe", true, false).await;
    let segment = everyone(app).await;

    let (form, token) = page_token(app, "/admin/newsletters/new").await;
    assert!(
        form.contains("(2 recipients)"),
        "the audience count is shown: {form}"
    );
    let bad = app
        .client
        .post(app.url("/admin/newsletters"))
        .form(&[
            ("subject", "Hi"),
            ("body_markdown", "One\n{{ candidate.first_nam }}"),
            ("segment_id", &segment.to_string()),
            ("authenticity_token", &token),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.expect("body");
    let messages = crate::helpers::select_all(&bad, ".error-summary li");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Line 2:") && m.contains("candidate.first_nam")),
        "{messages:?}"
    );
    let saved = app
        .client
        .post(app.url("/admin/newsletters"))
        .form(&[
            ("subject", "Jobs in Oslo, {{ candidate.first_name }}"),
            ("body_markdown", BODY),
            ("segment_id", &segment.to_string()),
            ("authenticity_token", &token),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(saved.status(), 303);
    let location = saved.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let id: i64 = location
        .rsplit('/')
        .next()
        .and_then(|i| i.parse().ok())
        .expect("id");

    let (show, token) = page_token(app, &location).await;
    assert!(show.contains("Send now to 2 recipients"), "{show}");
    assert!(crate::helpers::select_all(&show, "#preview-text")[0].contains("Hello Ada,"));
    let (show, _) = page_token(app, &format!("{location}?candidate={grace}")).await;
    assert_eq!(
        crate::helpers::select_all(&show, "#preview-subject"),
        ["Jobs in Oslo, Grace"]
    );
    let html = app
        .client
        .get(app.url(&format!("{location}/preview.html?candidate={grace}")))
        .send()
        .await
        .expect("preview");
    assert_eq!(html.status(), 200);
    assert!(
        html.text()
            .await
            .expect("body")
            .contains("<p>Hello Grace,</p>")
    );

    let test = app
        .client
        .post(app.url(&format!("{location}/test")))
        .form(&[
            ("candidate", grace.to_string()),
            ("authenticity_token", token.clone()),
        ])
        .send()
        .await
        .expect("test");
    assert_eq!(test.status(), 303);
    let sent = app.mail(&staff, 1).await;
    assert_eq!(sent[0].subject(), "[Test] Jobs in Oslo, Grace");
    assert!(
        app.smtp.to("grace@example.org").await.is_empty(),
        "a test goes to staff only"
    );

    let send = app
        .client
        .post(app.url(&format!("{location}/send")))
        .form(&[("authenticity_token", token.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(send.status(), 303);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let progress: Value = app
            .client
            .get(app.url(&format!("{location}/progress")))
            .send()
            .await
            .expect("progress")
            .json()
            .await
            .expect("JSON");
        if progress["status"] == "done" {
            assert_eq!(
                (progress["sent"].as_i64(), progress["recipients"].as_i64()),
                (Some(2), Some(2))
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{progress}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.smtp.to("grace@example.org").await.len(), 1);
    assert!(app.smtp.to("nope@example.org").await.is_empty());
    let list = app
        .client
        .get(app.url("/admin/newsletters"))
        .send()
        .await
        .expect("list");
    let list = list.text().await.expect("body");
    assert!(
        list.contains(&format!("/admin/newsletters/{id}")) && list.contains("done"),
        "{list}"
    );
    let script = app
        .client
        .get(app.url("/assets/newsletter.js"))
        .send()
        .await
        .expect("script");
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/javascript")
    );
}
db_test!(back_office_composes_previews_tests_and_sends);

/// Claims look after the last one first, and from the start of the ledger when that
/// is not enough: a delivery put back behind the frontier is still claimed, and every
/// delivery is claimed once per attempt.
async fn claims_move_on_and_come_back_for_what_was_put_back(app: &TestApp) {
    use talentpool_core::newsletters::delivery::{self, Outcome};
    let token = app.api_token().await;
    candidates(app, "f", "Fay", 8).await;
    let segment = everyone(app).await;
    // A draft: the app's own sender leaves it alone.
    let id = create(app, &token, segment, BODY).await;
    freeze_draft(app, id).await;
    let lease = chrono::Duration::seconds(60);
    let mut from = 0;
    let claim = |limit: u64, from: &mut i64| {
        let db = app.db.clone();
        let mut at = *from;
        async move {
            let claimed =
                delivery::claim(&db, id, "test-worker", limit, Utc::now(), lease, &mut at)
                    .await
                    .expect("claim");
            (claimed.into_iter().map(|c| c.id).collect::<Vec<i64>>(), at)
        }
    };
    let (first, next) = claim(3, &mut from).await;
    from = next;
    assert_eq!(first.len(), 3);
    assert_eq!(from, first[2] + 1, "the next claim starts after this one");
    // The middle one is put back (a pause, say).
    delivery::record(
        &app.db,
        id,
        &[Outcome::Released { id: first[1] }],
        Utc::now(),
    )
    .await
    .expect("release");
    let (second, next) = claim(3, &mut from).await;
    from = next;
    assert!(
        second.iter().all(|d| *d > first[2]),
        "what lies ahead comes first: {second:?} after {first:?}"
    );
    // Two are left ahead and one behind: a claim of ten takes all three.
    let (third, next) = claim(10, &mut from).await;
    from = next;
    assert_eq!(third.len(), 2 + 1, "{third:?}");
    assert!(third.contains(&first[1]), "the one put back: {third:?}");
    assert_eq!(from, 0, "short claims look from the start again");
    let mut all: Vec<i64> = first.iter().chain(&second).chain(&third).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 8, "every delivery claimed");
    let (none, _) = claim(10, &mut from).await;
    assert!(none.is_empty(), "nothing twice: {none:?}");

    // Once sent, the ledger's dead row versions go with a vacuum (PostgreSQL).
    let sent: Vec<Outcome> = all.iter().map(|&id| Outcome::Sent { id }).collect();
    delivery::record(&app.db, id, &sent, Utc::now())
        .await
        .expect("record sent");
    if app.backend == talentpool_tests::Backend::Postgres {
        assert!(
            dead_ledger_rows(app).await > 0,
            "claims and outcomes leave dead row versions"
        );
    }
    delivery::vacuum(&app.db).await.expect("vacuum");
    if app.backend == talentpool_tests::Backend::Postgres {
        use sea_orm::ConnectionTrait;
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT vacuum_count AS vacuums FROM pg_stat_user_tables \
                 WHERE relname = 'deliveries'",
            ))
            .await
            .expect("stats")
            .expect("a row");
        let vacuums: i64 = row.try_get("", "vacuums").expect("vacuums");
        assert!(vacuums >= 1, "the ledger was vacuumed");
        // A vacuum beside a transaction still open elsewhere keeps what that
        // transaction may see: count again after a further vacuum, a few times.
        let mut dead = dead_ledger_rows(app).await;
        for _ in 0..20 {
            if dead == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            delivery::vacuum(&app.db).await.expect("vacuum again");
            dead = dead_ledger_rows(app).await;
        }
        assert_eq!(dead, 0, "no dead row versions left");
    }
}
db_test!(claims_move_on_and_come_back_for_what_was_put_back);

/// The ledger's dead row versions, counted on its pages (`pgstattuple`) rather than read
/// from the statistics, which a pooled connection may report a while after the vacuum.
async fn dead_ledger_rows(app: &TestApp) -> i64 {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        .await
        .expect("pgstattuple");
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT dead_tuple_count AS dead FROM pgstattuple('deliveries')",
        ))
        .await
        .expect("pgstattuple")
        .expect("a row");
    row.try_get("", "dead").expect("dead")
}
