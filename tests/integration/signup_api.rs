//! `POST /api/v1/signups`: 201 and problem documents, EU/EEA status, concurrency.

use serde_json::{Value, json};
use talentpool_tests::{TestApp, db_test};

use crate::helpers::*;

async fn created_and_emailed(app: &TestApp) {
    let mut body = api_body("grace@example.com");
    body["utm_source"] = json!("partner-site");
    let response = api_sign_up(app, &body).await;
    assert_eq!(response.status(), 201);
    let json: Value = response.json().await.expect("json");
    assert_eq!(json, json!({ "status": "pending_confirmation" }));
    assert_eq!(app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM signups WHERE source = 'api' AND utm_source = 'partner-site'").await, 1);
    let link = confirmation_link(app, "grace@example.com", 1).await;
    assert_eq!(
        app.client
            .get(&link)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE confirmed_at IS NOT NULL"
        )
        .await,
        1
    );
}
db_test!(created_and_emailed);

async fn problem_document_names_every_bad_field(app: &TestApp) {
    let body = json!({
        "campaign": SLUG,
        "full_name": "",
        "email": "nope",
        "citizenship": ["XX"],
        "residence_country": "QQ",
        "profession": "0000",
        "years_experience": -3,
        "english_level": "Z9",
        "norwegian_level": "",
        "phone": "123",
        "consent_pool": false
    });
    let response = api_sign_up(app, &body).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.expect("json");
    assert_eq!(problem["status"], 422);
    assert_eq!(problem["type"], "/problems/validation");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        [
            "full_name",
            "email",
            "citizenship",
            "residence_country",
            "profession",
            "years_experience",
            "english_level",
            "norwegian_level",
            "phone",
            "consent_pool"
        ]
    );
    assert!(
        problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .all(|e| !e["message"].as_str().unwrap_or("").is_empty())
    );
    assert_eq!(app.count("candidates").await, 0);

    // Wrong JSON types are a 422 problem too; broken JSON a 400.
    let mut wrong_type = api_body("types@example.com");
    wrong_type["years_experience"] = json!("seven");
    let response = api_sign_up(app, &wrong_type).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.expect("json");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("years_experience")
    );
    let response = app
        .client
        .post(app.url("/api/v1/signups"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let mut unknown = api_body("unknown@example.com");
    unknown["campaign"] = json!("no-such-campaign");
    assert_eq!(api_sign_up(app, &unknown).await.status(), 404);
    assert_eq!(app.count("candidates").await, 0);
}
db_test!(problem_document_names_every_bad_field);

async fn eu_status_follows_any_citizenship(app: &TestApp) {
    for (email, citizenships, expected) in [
        ("dual-pt@example.com", vec!["US", "PT"], "eu_eea"),
        ("dual-ch@example.com", vec!["CH", "IN"], "eu_eea"),
        ("na@example.com", vec!["US", "CA"], "non_eu"),
        ("uk@example.com", vec!["GB"], "non_eu"),
        ("no@example.com", vec!["NO"], "eu_eea"),
    ] {
        let mut body = api_body(email);
        body["citizenship"] = json!(citizenships);
        assert_eq!(api_sign_up(app, &body).await.status(), 201, "{email}");
        let status = app
            .scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE email = '{email}' AND eu_status = '{expected}'"
            ))
            .await;
        assert_eq!(status, 1, "{email} should be {expected}");
    }
}
db_test!(eu_status_follows_any_citizenship);

async fn concurrent_identical_signups_make_one_candidate(app: &TestApp) {
    let body = api_body("race@example.com");
    let attempts = (0..8).map(|_| api_sign_up(app, &body));
    let responses = futures::future::join_all(attempts).await;
    for response in responses {
        assert_eq!(response.status(), 201);
    }
    assert_eq!(app.count("candidates").await, 1);
    assert_eq!(app.count("signups").await, 8);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM signups WHERE kind = 'new'")
            .await,
        1
    );
}
db_test!(concurrent_identical_signups_make_one_candidate);

/// The LinkedIn address is judged by the host a browser would go to, so look-alikes that
/// mention linkedin.com elsewhere in the URL are refused, and nothing is stored.
async fn linkedin_lookalikes_are_refused(app: &TestApp) {
    for (n, url) in [
        r"https://evil.example\@www.linkedin.com/in/x",
        "https://evil.example?.linkedin.com/in/x",
        "https://evil.example#.linkedin.com/in/x",
        "https://user@www.linkedin.com/in/x",
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = api_body(&format!("lookalike{n}@example.com"));
        body["linkedin_url"] = json!(url);
        let response = api_sign_up(app, &body).await;
        assert_eq!(response.status(), 422, "{url}");
        let problem: Value = response.json().await.expect("problem");
        assert!(
            problem["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .any(|e| e["field"] == "linkedin_url"),
            "{url}: {problem}"
        );
    }
    assert_eq!(app.count("candidates").await, 0);
    let mut body = api_body("genuine@example.com");
    body["linkedin_url"] = json!("https://www.linkedin.com/in/grace-hopper");
    assert_eq!(api_sign_up(app, &body).await.status(), 201);
}
db_test!(linkedin_lookalikes_are_refused);
