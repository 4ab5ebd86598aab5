//! The isolation sweep: two companies A and B. For every portal route (walked from the
//! route table the portal's router is built from, so a new route is swept without
//! anyone remembering to add it) and every API route (walked from the OpenAPI
//! document), B's recruiter asking for A's candidate, CV, notes, statuses or export
//! gets 404/403 (or a sign-in redirect, or 401 from the API) and never a byte of A's
//! data; and nothing B sends changes A's records.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use talentpool::http::portal::{Access, route_table};
use talentpool_tests::{TestApp, db_test};

use crate::companies::{new_client, page_token};
use crate::forwards::{forward, shareable_candidates};
use crate::portal::{RECRUITER_PASSWORD, create_company, give_cv, portal_sign_in, recruiter};

const A_NOTE: &str = "A-only note: offered 750k NOK";
const A_SHARED_NOTE: &str = "A-only note on the shared candidate";

async fn text_of(app: &TestApp, sql: &str, column: &str) -> String {
    app.db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get("", column)
        .expect("text")
}

/// Sends `method path` as `client` with a form that has every field any portal form
/// takes, and returns status and body.
async fn probe(
    app: &TestApp,
    client: &reqwest::Client,
    method: &reqwest::Method,
    path: &str,
    csrf: &str,
) -> (u16, Vec<u8>) {
    let request = client.request(method.clone(), app.url(path));
    let request = if method == reqwest::Method::POST {
        request.form(&[
            ("authenticity_token", csrf),
            ("status", "hired"),
            ("body", "B was here"),
            ("accept", "yes"),
            ("email", "ola@bergen.example.no"),
            ("password", "a new password 123"),
            ("password_again", "a new password 123"),
            ("next", "/portal"),
        ])
    } else {
        request
    };
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("body").to_vec())
}

fn leaks(body: &[u8], secrets: &[String]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    secrets
        .iter()
        .filter(|s| text.contains(s.as_str()))
        .cloned()
        .collect()
}

async fn company_b_never_sees_company_a(app: &TestApp) {
    let token = app.api_token().await;
    let a = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let b = create_company(app, &token, "Bergen Bytes AS", "974760673").await;
    let kari = recruiter(app, &token, a, "kari@fjord.example.no").await;
    let ola = recruiter(app, &token, b, "ola@bergen.example.no").await;
    let ids = shareable_candidates(app, 3).await;
    let (x, shared) = (ids[0], ids[1]);
    give_cv(app, x).await;
    app.execute(&format!(
        "UPDATE candidates SET full_name = 'Xenia Onlyforfjord' WHERE id = {x}"
    ))
    .await;
    assert_eq!(
        forward(
            app,
            &token,
            json!({ "company_ids": [a], "candidate_ids": [x, shared] })
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        forward(
            app,
            &token,
            json!({ "company_ids": [b], "candidate_ids": [shared] })
        )
        .await
        .status(),
        200
    );
    // A works on its candidates.
    let csrf = page_token(app, &kari, &format!("/portal/candidates/{x}")).await;
    for (path, field, value) in [
        (
            format!("/portal/candidates/{x}/status"),
            "status",
            "offered",
        ),
        (format!("/portal/candidates/{x}/notes"), "body", A_NOTE),
        (
            format!("/portal/candidates/{shared}/status"),
            "status",
            "contacted",
        ),
        (
            format!("/portal/candidates/{shared}/notes"),
            "body",
            A_SHARED_NOTE,
        ),
    ] {
        let response = kari
            .post(app.url(&path))
            .form(&[("authenticity_token", csrf.as_str()), (field, value)])
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 303, "{path}");
    }
    let x_email = text_of(
        app,
        &format!("SELECT email FROM candidates WHERE id = {x}"),
        "email",
    )
    .await;
    let secrets = vec![
        "Xenia Onlyforfjord".to_owned(),
        x_email.clone(),
        format!("% candidate {x}"),
        A_NOTE.to_owned(),
        A_SHARED_NOTE.to_owned(),
        "Fjord Software AS".to_owned(),
    ];
    let events_before = app.count("company_candidate_events").await;
    let statuses_before = app
        .scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM company_candidates WHERE status = 'new'")
        .await;

    // Every portal route, as B's recruiter and as nobody, with A's candidate id.
    let b_csrf = page_token(app, &ola, "/portal").await;
    let anonymous = new_client();
    let anonymous_csrf = page_token(app, &anonymous, "/portal/login").await;
    let mut routes = route_table();
    assert!(routes.len() >= 13, "the sweep sees the whole table");
    // Signing out ends B's session: that route goes last.
    routes.sort_by_key(|r| r.path.ends_with("/logout"));
    for route in &routes {
        let path = route
            .path
            .replace("{id}", &x.to_string())
            .replace("{token}", "not-a-real-token-0123456789");
        let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
        let (status, body) = probe(app, &ola, &method, &path, &b_csrf).await;
        let leaked = leaks(&body, &secrets);
        assert!(leaked.is_empty(), "{method} {path} as B leaked {leaked:?}");
        if route.path.contains("{id}") {
            assert!(
                status == 404 || status == 403,
                "{method} {path} as B answered {status}"
            );
        }
        let (status, body) = probe(app, &anonymous, &method, &path, &anonymous_csrf).await;
        let leaked = leaks(&body, &secrets);
        assert!(
            leaked.is_empty(),
            "{method} {path} anonymously leaked {leaked:?}"
        );
        if route.access == Access::Recruiter {
            assert!(
                status == 303 || status == 403,
                "{method} {path} anonymously answered {status}"
            );
        }
    }
    // B's requests changed nothing of A's.
    assert_eq!(app.count("company_candidate_events").await, events_before);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM company_candidates WHERE status = 'new'")
            .await,
        statuses_before
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM company_candidates WHERE candidate_id = {x} AND status = 'offered' AND company_id = {a}"
        ))
        .await,
        1
    );

    // The sweep ended with signing out.
    let response = portal_sign_in(app, &ola, "ola@bergen.example.no", RECRUITER_PASSWORD).await;
    assert_eq!(response.status(), 303);

    // On the shared candidate B sees the profile, but A's status and notes never.
    let response = ola
        .get(app.url(&format!("/portal/candidates/{shared}")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(!html.contains(A_SHARED_NOTE));
    assert!(!html.contains("Status: Contacted"));
    assert!(!html.contains("Fjord"));
    // B's list and export hold the shared candidate only.
    let list = ola
        .get(app.url("/portal"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(list.contains(&format!("/portal/candidates/{shared}\"")));
    assert!(!list.contains(&format!("/portal/candidates/{x}\"")));
    let export = ola
        .get(app.url("/portal/export.csv"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert_eq!(export.lines().count(), 2, "{export}");
    assert!(leaks(export.as_bytes(), &secrets).is_empty());

    // Every API route refuses B's portal session and shows nothing of A.
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 8);
    for (path, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            let concrete = path.replace("{id}", &x.to_string());
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = ola
                .request(method.clone(), app.url(&concrete))
                .json(&json!({ "company_ids": [b], "candidate_ids": [x] }))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body = response.bytes().await.expect("body");
            assert!(
                leaks(&body, &secrets).is_empty(),
                "{method} {concrete} leaked to B"
            );
            if concrete != "/api/v1/signups" {
                assert_eq!(status, 401, "{method} {concrete} with a portal session");
            }
        }
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM company_candidates WHERE company_id = {b}"
        ))
        .await,
        1,
        "B could not forward anyone to itself"
    );
}
db_test!(company_b_never_sees_company_a);
