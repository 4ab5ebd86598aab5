//! Forwarding candidates to companies: the rules (confirmation, consent to sharing,
//! idempotency, skipped reasons), forward records on the timeline and in the audit log,
//! segments, the back office, and one digest email per company user and action over
//! real SMTP.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use talentpool_tests::{TestApp, db_test};

use crate::companies::{page_token, staff_client};
use crate::portal::{create_company, recruiter};

/// Seeds `n` candidates, all confirmed and consenting to sharing; returns their ids.
pub async fn shareable_candidates(app: &TestApp, n: u64) -> Vec<i64> {
    app.seed(n).await;
    app.execute("UPDATE candidates SET consent_share = TRUE")
        .await;
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM candidates ORDER BY id".to_owned(),
        ))
        .await
        .expect("ids");
    rows.iter()
        .map(|r| r.try_get::<i64>("", "id").expect("id"))
        .collect()
}

pub async fn forward(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/forwards"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("POST forwards")
}

async fn forwarding_rules_and_digests(app: &TestApp) {
    let token = app.api_token().await;
    let a = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let b = create_company(app, &token, "Bergen Bytes AS", "974760673").await;
    let _kari = recruiter(app, &token, a, "kari@fjord.example.no").await;
    let _per = recruiter(app, &token, a, "per@fjord.example.no").await;
    let _ola = recruiter(app, &token, b, "ola@bergen.example.no").await;
    // Invited but without a password yet: no digest.
    assert_eq!(
        crate::portal::invite(app, &token, b, "new@bergen.example.no")
            .await
            .status(),
        201
    );
    let ids = shareable_candidates(app, 6).await;
    let (c1, c2, no_share, unconfirmed, c5) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    app.execute(&format!(
        "UPDATE candidates SET consent_share = FALSE WHERE id = {no_share}"
    ))
    .await;
    app.execute(&format!(
        "UPDATE candidates SET confirmed_at = NULL WHERE id = {unconfirmed}"
    ))
    .await;

    let response = forward(
        app,
        &token,
        json!({ "company_ids": [a, b], "candidate_ids": [c1, c2, no_share, unconfirmed, 999_999, c1] }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.expect("json");
    assert_eq!(result["forwarded"], 4, "{result}");
    let skipped = result["skipped"].as_array().expect("skipped");
    let reasons: Vec<(i64, &str)> = skipped
        .iter()
        .map(|s| {
            (
                s["candidate_id"].as_i64().expect("id"),
                s["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (no_share, "no_consent_share"),
            (unconfirmed, "not_confirmed"),
            (999_999, "not_found")
        ]
    );
    assert_eq!(app.count("forwards").await, 2);
    assert_eq!(app.count("company_candidates").await, 4);
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'candidate.forwarded'"
        )
        .await,
        4
    );

    // One digest per user and action, never one per candidate.
    app.drain_jobs().await;
    for (address, company) in [
        ("kari@fjord.example.no", "Fjord Software AS"),
        ("per@fjord.example.no", "Fjord Software AS"),
        ("ola@bergen.example.no", "Bergen Bytes AS"),
    ] {
        let mail = app.mail(address, 2).await;
        assert_eq!(mail.len(), 2, "{address}: the invitation and one digest");
        assert_eq!(mail[1].subject(), format!("2 new candidates for {company}"));
        assert!(mail[1].text().contains(&app.url("/portal")));
    }
    assert_eq!(app.smtp.to("new@bergen.example.no").await.len(), 1);

    // Again: nothing changes, and every pair is reported.
    let again: Value = forward(
        app,
        &token,
        json!({ "company_ids": [a], "candidate_ids": [c1, c2] }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(again["forwarded"], 0);
    assert_eq!(
        again["skipped"],
        json!([
            { "candidate_id": c1, "company_id": a, "reason": "already_forwarded" },
            { "candidate_id": c2, "company_id": a, "reason": "already_forwarded" }
        ])
    );
    assert_eq!(app.count("forwards").await, 2);
    assert_eq!(app.count("company_candidates").await, 4);

    // A new candidate among known ones: one more digest saying 1.
    let third: Value = forward(
        app,
        &token,
        json!({ "company_ids": [a], "candidate_ids": [c1, c5] }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(third["forwarded"], 1);
    app.drain_jobs().await;
    let mail = app.mail("kari@fjord.example.no", 3).await;
    assert_eq!(mail[2].subject(), "1 new candidate for Fjord Software AS");
    assert_eq!(app.smtp.to("ola@bergen.example.no").await.len(), 2);

    // Forwards are on the candidate's timeline.
    let staff = staff_client(app).await;
    let page = staff
        .get(app.url(&format!("/admin/candidates/{c1}")))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(page.contains("Forwarded to Fjord Software AS"), "{page}");
    assert!(page.contains("Forwarded to Bergen Bytes AS"));
}
db_test!(forwarding_rules_and_digests);

async fn bad_forward_requests_write_nothing(app: &TestApp) {
    let token = app.api_token().await;
    let a = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let archived = create_company(app, &token, "Old AS", "974760673").await;
    let response = app
        .client
        .put(app.url(&format!("/api/v1/companies/{archived}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "Old AS", "org_number": "974760673", "archived": true }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status(), 200);
    let ids = shareable_candidates(app, 2).await;
    for (body, field) in [
        (
            json!({ "company_ids": [], "candidate_ids": [ids[0]] }),
            "company_ids",
        ),
        (
            json!({ "company_ids": [999_999], "candidate_ids": [ids[0]] }),
            "company_ids",
        ),
        (
            json!({ "company_ids": [archived], "candidate_ids": [ids[0]] }),
            "company_ids",
        ),
        (
            json!({ "company_ids": [a], "candidate_ids": [] }),
            "candidate_ids",
        ),
        (json!({ "company_ids": [a] }), "candidate_ids"),
        (
            json!({ "company_ids": [a], "candidate_ids": [ids[0]], "segment_id": 1 }),
            "candidate_ids",
        ),
        (
            json!({ "company_ids": [a], "segment_id": 999_999 }),
            "segment_id",
        ),
        (
            json!({ "company_ids": [a], "candidate_ids": [ids[0]], "expires_at": "2001-01-01T00:00:00Z" }),
            "expires_at",
        ),
    ] {
        let response = forward(app, &token, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let unauthorized = app
        .client
        .post(app.url("/api/v1/forwards"))
        .json(&json!({ "company_ids": [a], "candidate_ids": [ids[0]] }))
        .send()
        .await
        .expect("POST");
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(app.count("forwards").await, 0);
    assert_eq!(app.count("company_candidates").await, 0);

    // The API document describes forwarding and inviting.
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert!(doc["paths"]["/api/v1/forwards"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/companies/{id}/users"]["post"].is_object());
    for schema in [
        "ForwardRequest",
        "ForwardResult",
        "Skipped",
        "SkipReason",
        "CompanyBody",
        "NewCompanyUser",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is described"
        );
    }
}
db_test!(bad_forward_requests_write_nothing);

async fn forwarding_segments_and_pool_rows(app: &TestApp) {
    let token = app.api_token().await;
    let a = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let b = create_company(app, &token, "Bergen Bytes AS", "974760673").await;
    let ids = shareable_candidates(app, 5).await;
    app.execute(&format!(
        "UPDATE candidates SET residence_country = 'SE' WHERE id IN ({}, {})",
        ids[0], ids[1]
    ))
    .await;
    app.execute(&format!(
        "UPDATE candidates SET residence_country = 'DK' WHERE id NOT IN ({}, {})",
        ids[0], ids[1]
    ))
    .await;
    app.execute(&format!(
        "UPDATE candidates SET consent_share = FALSE WHERE id = {}",
        ids[1]
    ))
    .await;
    let segment: Value = app
        .client
        .post(app.url("/api/v1/segments"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Swedes", "filter": { "residence_country": "SE" } }))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    let segment_id = segment["id"].as_i64().expect("id");
    let result: Value = forward(
        app,
        &token,
        json!({ "company_ids": [a], "segment_id": segment_id }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(result["forwarded"], 1);
    assert_eq!(
        result["skipped"],
        json!([{ "candidate_id": ids[1], "reason": "no_consent_share" }])
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM forwards WHERE segment_id = {segment_id}"
        ))
        .await,
        1
    );

    // From the back office: a segment, and selected rows of the pool page.
    let staff = staff_client(app).await;
    let segments = staff
        .get(app.url("/admin/segments"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(segments.contains("action=\"/admin/forwards\""));
    let csrf = page_token(app, &staff, "/admin").await;
    let pool = staff
        .get(app.url("/admin"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(pool.contains("name=\"candidate_ids\""));
    assert!(pool.contains("Bergen Bytes AS"));
    let segment_id = segment_id.to_string();
    let b_id = b.to_string();
    let response = staff
        .post(app.url("/admin/forwards"))
        .form(&[
            ("authenticity_token", csrf.as_str()),
            ("segment_id", segment_id.as_str()),
            ("company_ids", b_id.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("id=\"forwarded-count\">1<"), "{html}");
    assert!(html.contains("did not consent"));
    let (c3, c4) = (ids[2].to_string(), ids[3].to_string());
    let a_id = a.to_string();
    let response = staff
        .post(app.url("/admin/forwards"))
        .form(&[
            ("authenticity_token", csrf.as_str()),
            ("candidate_ids", c3.as_str()),
            ("candidate_ids", c4.as_str()),
            ("company_ids", a_id.as_str()),
            ("company_ids", b_id.as_str()),
            ("expires_on", "2099-12-31"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("id=\"forwarded-count\">4<"), "{html}");
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM forwards WHERE expires_at IS NOT NULL AND actor_kind = 'staff'")
            .await,
        2
    );
    // Without the CSRF token nothing happens.
    let refused = staff
        .post(app.url("/admin/forwards"))
        .form(&[
            ("candidate_ids", c3.as_str()),
            ("company_ids", a_id.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status(), 403);
    assert_eq!(app.count("company_candidates").await, 6);
}
db_test!(forwarding_segments_and_pool_rows);

fn redact(app: &TestApp, text: &str) -> String {
    let text = text
        .replace("&#x2f;", "/")
        .replace(&app.address, "http://talentpool.test");
    let token = regex::Regex::new(r"/portal/invite/[A-Za-z0-9_-]{43}").expect("regex");
    token
        .replace_all(&text, "/portal/invite/[TOKEN]")
        .into_owned()
}

async fn company_emails(app: &TestApp) {
    let token = app.api_token().await;
    let company = create_company(app, &token, "Fjord & Fjell AS", "923609016").await;
    let _kari = recruiter(app, &token, company, "kari@fjord.example.no").await;
    let invite = app.mail("kari@fjord.example.no", 1).await.remove(0);
    insta::assert_snapshot!("company_invite_text", redact(app, &invite.text()));
    insta::assert_snapshot!("company_invite_html", redact(app, &invite.html()));
    let ids = shareable_candidates(app, 12).await;
    let result: Value = forward(
        app,
        &token,
        json!({ "company_ids": [company], "candidate_ids": ids }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(result["forwarded"], 12);
    let digest = app.mail("kari@fjord.example.no", 2).await.remove(1);
    assert_eq!(digest.subject(), "12 new candidates for Fjord & Fjell AS");
    insta::assert_snapshot!("forward_digest_text", redact(app, &digest.text()));
    insta::assert_snapshot!("forward_digest_html", redact(app, &digest.html()));
}
db_test!(company_emails);
