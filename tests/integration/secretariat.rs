//! The secretariat's view of forwarded candidates: every company's status and notes on
//! the candidate page, a funnel per company, hires per campaign; revoking and expiring
//! forwards; and the withdrawal of the consent to sharing, which takes a candidate out
//! of every portal at once.

use serde_json::json;
use talentpool_tests::{TestApp, db_test};

use crate::companies::{page_token, staff_client};
use crate::forwards::{forward, shareable_candidates};
use crate::helpers::*;
use crate::portal::{create_company, recruiter};

async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = page_token(app, client, page).await;
    let mut form = vec![("authenticity_token", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .expect("POST")
}

async fn text(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.expect("GET");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

async fn set_status(app: &TestApp, client: &reqwest::Client, id: i64, status: &str) {
    let page = format!("/portal/candidates/{id}");
    let response = post_form(
        app,
        client,
        &page,
        &format!("{page}/status"),
        &[("status", status)],
    )
    .await;
    assert_eq!(response.status(), 303);
}

async fn statuses_notes_funnel_and_hires(app: &TestApp) {
    let token = app.api_token().await;
    let a = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let b = create_company(app, &token, "Bergen Bytes AS", "974760673").await;
    let kari = recruiter(app, &token, a, "kari@fjord.example.no").await;
    let ola = recruiter(app, &token, b, "ola@bergen.example.no").await;
    let ids = shareable_candidates(app, 3).await;
    let (c1, c2) = (ids[0], ids[1]);
    let campaign = app
        .scalar("SELECT id FROM campaigns WHERE slug = 'software-developers'")
        .await;
    app.execute(&format!(
        "UPDATE signups SET campaign_id = {campaign} WHERE candidate_id IN ({c1}, {c2})"
    ))
    .await;
    let response = forward(
        app,
        &token,
        json!({ "company_ids": [a, b], "candidate_ids": [c1, c2] }),
    )
    .await;
    assert_eq!(response.status(), 200);

    for status in ["interested", "interviewing", "hired"] {
        set_status(app, &kari, c1, status).await;
    }
    set_status(app, &kari, c2, "interested").await;
    set_status(app, &kari, c2, "not_a_fit").await;
    set_status(app, &ola, c1, "not_a_fit").await;
    let page = format!("/portal/candidates/{c1}");
    let response = post_form(
        app,
        &kari,
        &page,
        &format!("{page}/notes"),
        &[("body", "Signed the contract on Friday.")],
    )
    .await;
    assert_eq!(response.status(), 303);

    let staff = staff_client(app).await;
    let (status, html) = text(&staff, app.url(&format!("/admin/candidates/{c1}"))).await;
    assert_eq!(status, 200);
    assert!(html.contains("Fjord Software AS</a>: Hired"), "{html}");
    assert!(html.contains("Bergen Bytes AS</a>: Not a fit"));
    assert!(html.contains("Signed the contract on Friday."));
    assert!(html.contains("Note by Kari Nordmann"));
    assert!(html.contains("Fjord Software AS set the status to “Hired”"));

    let (_, company) = text(&staff, app.url(&format!("/admin/companies/{a}"))).await;
    let funnel = select_all(&company, "table.funnel tbody td");
    // forwarded, interested, contacted, interviewing, offered, hired, not a fit
    assert_eq!(funnel, ["2", "2", "1", "1", "1", "1", "1"], "{company}");

    let (_, campaign_page) = text(&staff, app.url(&format!("/admin/campaigns/{campaign}"))).await;
    assert!(
        campaign_page.contains("<dd id=\"hires\">1</dd>"),
        "{campaign_page}"
    );
}
db_test!(statuses_notes_funnel_and_hires);

async fn revoked_and_expired_forwards_leave_the_portal(app: &TestApp) {
    let token = app.api_token().await;
    let a = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let kari = recruiter(app, &token, a, "kari@fjord.example.no").await;
    let ids = shareable_candidates(app, 3).await;
    let (c1, c2, c3) = (ids[0], ids[1], ids[2]);
    assert_eq!(
        forward(
            app,
            &token,
            json!({ "company_ids": [a], "candidate_ids": [c1, c2] })
        )
        .await
        .status(),
        200
    );
    let (_, list) = text(&kari, app.url("/portal")).await;
    assert_eq!(select_all(&list, "table tbody tr").len(), 2);

    // The secretariat revokes one candidate from the company.
    let staff = staff_client(app).await;
    let page = format!("/admin/candidates/{c1}");
    let response = post_form(
        app,
        &staff,
        &page,
        &format!("{page}/companies/{a}/revoke"),
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, list) = text(&kari, app.url("/portal")).await;
    assert_eq!(select_all(&list, "table tbody tr").len(), 1);
    let (status, _) = text(&kari, app.url(&format!("/portal/candidates/{c1}"))).await;
    assert_eq!(status, 404);
    let (_, html) = text(&staff, app.url(&page)).await;
    assert!(html.contains("forward revoked"));
    assert!(html.contains("Forward to Fjord Software AS revoked"));

    // Forwarding again brings the candidate back (a new forward record).
    let again: serde_json::Value = forward(
        app,
        &token,
        json!({ "company_ids": [a], "candidate_ids": [c1] }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(again["forwarded"], 1);
    let (status, _) = text(&kari, app.url(&format!("/portal/candidates/{c1}"))).await;
    assert_eq!(status, 200);

    // A forward that expires takes its candidates away.
    let expiring: serde_json::Value = forward(
        app,
        &token,
        json!({ "company_ids": [a], "candidate_ids": [c3], "expires_at": "2099-01-01T00:00:00Z" }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(expiring["forwarded"], 1);
    let (status, _) = text(&kari, app.url(&format!("/portal/candidates/{c3}"))).await;
    assert_eq!(status, 200);
    let forward_id = expiring["forward_ids"][0].as_i64().expect("id");
    app.execute(&format!(
        "UPDATE forwards SET expires_at = '2000-01-01T00:00:00+00:00' WHERE id = {forward_id}"
    ))
    .await;
    let (status, _) = text(&kari, app.url(&format!("/portal/candidates/{c3}"))).await;
    assert_eq!(status, 404);

    // Revoking a whole forward record from the company page.
    let (_, company) = text(&staff, app.url(&format!("/admin/companies/{a}"))).await;
    assert!(company.contains("Expired"));
    let first_forward = app
        .scalar(&format!(
            "SELECT MIN(id) FROM forwards WHERE company_id = {a}"
        ))
        .await;
    let response = post_form(
        app,
        &staff,
        &format!("/admin/companies/{a}"),
        &format!("/admin/forwards/{first_forward}/revoke"),
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, list) = text(&kari, app.url("/portal")).await;
    let rows = select_all(&list, "table tbody tr");
    assert_eq!(
        rows.len(),
        1,
        "only the renewed forward of c1 is left: {rows:?}"
    );
    let (status, _) = text(&kari, app.url(&format!("/portal/candidates/{c2}"))).await;
    assert_eq!(status, 404);

    // And by API.
    let last_forward = app
        .scalar(&format!("SELECT MAX(id) FROM forwards WHERE company_id = {a} AND segment_id IS NULL AND revoked_at IS NULL AND expires_at IS NULL"))
        .await;
    let revoke = |id: i64| {
        app.client
            .delete(app.url(&format!("/api/v1/forwards/{id}")))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(revoke(last_forward).await.expect("DELETE").status(), 204);
    assert_eq!(revoke(last_forward).await.expect("DELETE").status(), 404);
    assert_eq!(revoke(999_999).await.expect("DELETE").status(), 404);
    let (_, list) = text(&kari, app.url("/portal")).await;
    assert_eq!(select_all(&list, "table tbody tr").len(), 0);
}
db_test!(revoked_and_expired_forwards_leave_the_portal);

async fn withdrawing_consent_empties_every_portal(app: &TestApp) {
    let token = app.api_token().await;
    let a = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let b = create_company(app, &token, "Bergen Bytes AS", "974760673").await;
    let kari = recruiter(app, &token, a, "kari@fjord.example.no").await;
    let ola = recruiter(app, &token, b, "ola@bergen.example.no").await;
    let email = "ada@example.com";
    assert_eq!(sign_up(app, &valid_form(email)).await.status(), 303);
    let link = confirmation_link(app, email, 1).await;
    assert_eq!(
        app.client.get(&link).send().await.expect("GET").status(),
        200
    );
    let id = app
        .scalar(&format!(
            "SELECT id FROM candidates WHERE email = '{email}'"
        ))
        .await;
    let result: serde_json::Value = forward(
        app,
        &token,
        json!({ "company_ids": [a, b], "candidate_ids": [id] }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(result["forwarded"], 2);
    let page = format!("/portal/candidates/{id}");
    let response = post_form(
        app,
        &kari,
        &page,
        &format!("{page}/notes"),
        &[("body", "Ada would fit the platform team.")],
    )
    .await;
    assert_eq!(response.status(), 303);
    for client in [&kari, &ola] {
        let (status, html) = text(client, app.url(&page)).await;
        assert_eq!(status, 200);
        assert!(html.contains("Ada Lovelace"));
    }

    // The candidate signs up again without consenting to sharing, and confirms.
    let answers = without(valid_form(email), "consent_share");
    assert_eq!(sign_up(app, &answers).await.status(), 303);
    let link = confirmation_link(app, email, 2).await;
    assert_eq!(
        app.client.get(&link).send().await.expect("GET").status(),
        200
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE id = {id} AND consent_share = FALSE"
        ))
        .await,
        1
    );

    for client in [&kari, &ola] {
        let (status, html) = text(client, app.url(&page)).await;
        assert_eq!(status, 404);
        assert!(!html.contains("Ada"));
        let (_, list) = text(client, app.url("/portal")).await;
        assert!(!list.contains("Ada Lovelace"));
        assert!(list.contains("Withdrawn candidates"), "{list}");
        let csv = client
            .get(app.url("/portal/export.csv"))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        assert!(!csv.contains(email));
    }
    // Each company keeps an entry without personal data.
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM company_candidates WHERE candidate_id IS NULL AND withdrawn_at IS NOT NULL")
            .await,
        2
    );
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM company_candidate_events WHERE body IS NOT NULL"
        )
        .await,
        0
    );
    // Forwarding again is refused for lack of consent.
    let again: serde_json::Value = forward(
        app,
        &token,
        json!({ "company_ids": [a], "candidate_ids": [id] }),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(again["skipped"][0]["reason"], "no_consent_share");
}
db_test!(withdrawing_consent_empties_every_portal);
