//! The company portal: invitations (single-use, expiring links over real SMTP), sign-in,
//! the terms of use at first sign-in, and the wall between portal and back office.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use talentpool_tests::{TestApp, db_test};

use crate::companies::{new_client, page_token, staff_client};
use crate::helpers::*;

pub const RECRUITER_PASSWORD: &str = "recruiter password 1";

/// Creates a company by API and returns its id.
pub async fn create_company(app: &TestApp, token: &str, name: &str, org_number: &str) -> i64 {
    let response = app
        .client
        .post(app.url("/api/v1/companies"))
        .bearer_auth(token)
        .json(&json!({ "name": name, "org_number": org_number }))
        .send()
        .await
        .expect("POST company");
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id")
}

pub async fn invite(app: &TestApp, token: &str, company_id: i64, email: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/companies/{company_id}/users")))
        .bearer_auth(token)
        .json(&json!({ "email": email, "name": "Kari Nordmann" }))
        .send()
        .await
        .expect("POST user")
}

/// The invitation link in the `nth` email to `email`.
pub async fn invite_link(app: &TestApp, email: &str, nth: usize) -> String {
    let messages = app.mail(email, nth).await;
    messages[nth - 1]
        .link(&app.url("/portal/invite/"))
        .expect("the email carries an invitation link")
}

pub async fn set_password(
    app: &TestApp,
    client: &reqwest::Client,
    link: &str,
    password: &str,
) -> reqwest::Response {
    let path = link.trim_start_matches(&app.address).to_owned();
    let token = page_token(app, client, &path).await;
    client
        .post(link)
        .form(&[
            ("authenticity_token", token.as_str()),
            ("password", password),
            ("password_again", password),
        ])
        .send()
        .await
        .expect("POST password")
}

pub async fn portal_sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let token = page_token(app, client, "/portal/login").await;
    client
        .post(app.url("/portal/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/portal"),
            ("authenticity_token", &token),
        ])
        .send()
        .await
        .expect("POST login")
}

pub async fn accept_terms(app: &TestApp, client: &reqwest::Client) {
    let token = page_token(app, client, "/portal/terms").await;
    let response = client
        .post(app.url("/portal/terms"))
        .form(&[("authenticity_token", token.as_str()), ("accept", "yes")])
        .send()
        .await
        .expect("POST terms");
    assert_eq!(response.status(), 303);
}

/// Invites `email` to the company and walks the whole way to a signed-in recruiter who
/// accepted the terms.
pub async fn recruiter(
    app: &TestApp,
    token: &str,
    company_id: i64,
    email: &str,
) -> reqwest::Client {
    assert_eq!(invite(app, token, company_id, email).await.status(), 201);
    let link = invite_link(app, email, 1).await;
    let client = new_client();
    assert_eq!(
        set_password(app, &client, &link, RECRUITER_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        portal_sign_in(app, &client, email, RECRUITER_PASSWORD)
            .await
            .status(),
        303
    );
    accept_terms(app, &client).await;
    client
}

async fn invite_set_password_and_sign_in(app: &TestApp) {
    let token = app.api_token().await;
    let company = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let email = "kari@fjord.example.no";

    let response = invite(app, &token, company, email).await;
    assert_eq!(response.status(), 201);
    let user: Value = response.json().await.expect("json");
    assert_eq!(user["status"], "invited");
    assert_eq!(user["company_id"], company);

    let messages = app.mail(email, 1).await;
    assert_eq!(
        messages[0].subject(),
        "You are invited to the Talent Pool company portal"
    );
    assert!(messages[0].html().contains("Fjord Software AS"));
    let link = invite_link(app, email, 1).await;
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM tokens WHERE purpose = 'company_invite' AND candidate_id IS NULL")
            .await,
        1,
        "only the token's hash is stored, bound to the company user"
    );

    let client = new_client();
    let page = client.get(&link).send().await.expect("GET invite");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("body").contains(email));

    // A short password is refused and the link still works.
    let path = link.trim_start_matches(&app.address).to_owned();
    let csrf = page_token(app, &client, &path).await;
    let short = client
        .post(&link)
        .form(&[
            ("authenticity_token", csrf.as_str()),
            ("password", "short"),
            ("password_again", "short"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(short.status(), 422);
    let done = set_password(app, &client, &link, RECRUITER_PASSWORD).await;
    assert_eq!(done.status(), 303);

    // Single use.
    let again = client.get(&link).send().await.expect("GET invite");
    assert_eq!(again.status(), 410);
    assert!(again.text().await.expect("body").contains("used already"));

    let wrong = portal_sign_in(app, &client, email, "not the password!").await;
    assert_eq!(wrong.status(), 401);
    let ok = portal_sign_in(app, &client, email, RECRUITER_PASSWORD).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/portal/terms");
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tp_portal="))
        .expect("a portal session cookie")
        .to_owned();
    assert!(cookie.contains("Path=/portal"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");

    // The terms come first.
    let portal = client.get(app.url("/portal")).send().await.expect("GET");
    assert_eq!(portal.status(), 303);
    assert_eq!(portal.headers()["location"], "/portal/terms");
    let csrf = page_token(app, &client, "/portal/terms").await;
    let refused = client
        .post(app.url("/portal/terms"))
        .form(&[("authenticity_token", csrf.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status(), 422);
    accept_terms(app, &client).await;
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM company_users WHERE terms_accepted_at IS NOT NULL AND terms_version IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'company_user.terms_accepted'")
            .await,
        1
    );
    let portal = client.get(app.url("/portal")).send().await.expect("GET");
    assert_eq!(portal.status(), 200);
    assert!(
        portal
            .text()
            .await
            .expect("body")
            .contains("Fjord Software AS")
    );

    // Sign out ends the session.
    let csrf = page_token(app, &client, "/portal").await;
    let out = client
        .post(app.url("/portal/logout"))
        .form(&[("authenticity_token", csrf.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(out.status(), 303);
    let portal = client.get(app.url("/portal")).send().await.expect("GET");
    assert_eq!(portal.status(), 303);

    // The users of an archived company cannot sign in.
    let archived = app
        .client
        .put(app.url(&format!("/api/v1/companies/{company}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "Fjord Software AS", "org_number": "923609016", "archived": true }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(archived.status(), 200);
    let refused = portal_sign_in(app, &client, email, RECRUITER_PASSWORD).await;
    assert_eq!(refused.status(), 401);
}
db_test!(invite_set_password_and_sign_in);

async fn expired_and_repeated_invitations(app: &TestApp) {
    let token = app.api_token().await;
    let company = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let other = create_company(app, &token, "Bergen Bytes AS", "974760673").await;
    let email = "kari@fjord.example.no";
    assert_eq!(invite(app, &token, company, email).await.status(), 201);
    let first = invite_link(app, email, 1).await;
    app.execute("UPDATE tokens SET expires_at = '2000-01-01T00:00:00+00:00'")
        .await;
    let client = new_client();
    let expired = client.get(&first).send().await.expect("GET");
    assert_eq!(expired.status(), 410);
    assert!(expired.text().await.expect("body").contains("expired"));

    // A new invitation sends a new link; the old one stays dead.
    assert_eq!(invite(app, &token, company, email).await.status(), 201);
    let second = invite_link(app, email, 2).await;
    assert_ne!(first, second);
    assert_eq!(app.count("company_users").await, 1);
    assert_eq!(
        set_password(app, &client, &second, RECRUITER_PASSWORD)
            .await
            .status(),
        303
    );
    // An expired link cannot set a password.
    let path = first.trim_start_matches(&app.address).to_owned();
    let csrf = {
        let html = client
            .get(app.url(&path))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        attribute(&html, "input[name=authenticity_token]", "value")
    };
    assert!(csrf.is_none(), "an expired link shows no form");

    // Bad input and clashes are named.
    for (company_id, body, status, field) in [
        (
            company,
            json!({ "email": "nope", "name": "X" }),
            422,
            "email",
        ),
        (
            company,
            json!({ "email": "a@b.no", "name": " " }),
            422,
            "name",
        ),
        (other, json!({ "email": email, "name": "X" }), 422, "email"),
        (999_999, json!({ "email": "x@y.no", "name": "X" }), 404, ""),
    ] {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/companies/{company_id}/users")))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), status, "{body}");
        if !field.is_empty() {
            let problem: Value = response.json().await.expect("json");
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }
    assert_eq!(app.count("company_users").await, 1);

    // The back office invites too.
    let staff = staff_client(app).await;
    let csrf = page_token(app, &staff, &format!("/admin/companies/{other}")).await;
    let response = staff
        .post(app.url(&format!("/admin/companies/{other}/users")))
        .form(&[
            ("authenticity_token", csrf.as_str()),
            ("email", "ola@bergen.example.no"),
            ("name", "Ola Nordmann"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 303);
    assert_eq!(app.mail("ola@bergen.example.no", 1).await.len(), 1);
    let page = staff
        .get(app.url(&format!("/admin/companies/{other}")))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(page.contains("ola@bergen.example.no"));
    assert!(page.contains("Invited"));
}
db_test!(expired_and_repeated_invitations);

async fn portal_and_back_office_are_separate(app: &TestApp) {
    let token = app.api_token().await;
    let company = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let recruiter = recruiter(app, &token, company, "kari@fjord.example.no").await;
    assert_eq!(
        recruiter
            .get(app.url("/portal"))
            .send()
            .await
            .expect("GET")
            .status(),
        200
    );
    // The recruiter's session does not open the back office...
    for path in ["/admin", "/admin/companies", "/admin/export.csv"] {
        let response = recruiter.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 303, "{path}");
        assert!(
            response.headers()["location"]
                .to_str()
                .expect("location")
                .starts_with("/admin/login"),
            "{path}"
        );
    }
    // ...not even when its session id is presented as a back-office cookie.
    let client = new_client();
    let response = portal_sign_in(app, &client, "kari@fjord.example.no", RECRUITER_PASSWORD).await;
    let raw_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tp_portal="))
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned();
    let bare = new_client();
    let response = bare
        .get(app.url("/admin"))
        .header("cookie", format!("tp_session={raw_cookie}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 303);
    // Nor the secretariat's API.
    for path in [
        "/api/v1/candidates",
        "/api/v1/companies",
        "/api/v1/segments",
    ] {
        let response = bare
            .get(app.url(path))
            .header("cookie", format!("tp_portal={raw_cookie}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 401, "{path}");
    }
    // And a staff session does not open the portal.
    let staff = staff_client(app).await;
    let response = staff.get(app.url("/portal")).send().await.expect("GET");
    assert_eq!(response.status(), 303);
    assert!(
        response.headers()["location"]
            .to_str()
            .expect("location")
            .starts_with("/portal/login")
    );
    let response = bare
        .get(app.url("/portal"))
        .header("cookie", format!("tp_portal={}", staff_cookie(app).await))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 303);
}
db_test!(portal_and_back_office_are_separate);

/// A fresh back-office session id.
async fn staff_cookie(app: &TestApp) -> String {
    let client = new_client();
    let token = page_token(app, &client, "/admin/login").await;
    let response = client
        .post(app.url("/admin/login"))
        .form(&[
            ("email", crate::companies::STAFF_EMAIL),
            ("password", crate::companies::STAFF_PASSWORD),
            ("authenticity_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tp_session="))
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned()
}

/// Gives the candidate a CV file in the app's storage and returns its bytes.
pub async fn give_cv(app: &TestApp, candidate_id: i64) -> Vec<u8> {
    let key = format!("cv-test{candidate_id}.pdf");
    let dir = app.data_dir.path().join("files");
    std::fs::create_dir_all(&dir).expect("files dir");
    let bytes = [PDF, format!("% candidate {candidate_id}\n").as_bytes()].concat();
    std::fs::write(dir.join(&key), &bytes).expect("write CV");
    app.execute(&format!(
        "UPDATE candidates SET cv_key = '{key}' WHERE id = {candidate_id}"
    ))
    .await;
    bytes
}

async fn get_text(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.expect("GET");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

async fn the_portal_lists_filters_and_records(app: &TestApp) {
    let token = app.api_token().await;
    let company = create_company(app, &token, "Fjord Software AS", "923609016").await;
    let kari = recruiter(app, &token, company, "kari@fjord.example.no").await;
    let ids = crate::forwards::shareable_candidates(app, 4).await;
    let (first, second, third, not_forwarded) = (ids[0], ids[1], ids[2], ids[3]);
    app.execute(&format!(
        "UPDATE candidates SET full_name = '=HYPERLINK(\"http://evil.example\")', residence_country = 'SE' WHERE id = {first}"
    ))
    .await;
    app.execute(&format!(
        "UPDATE candidates SET residence_country = 'DK' WHERE id <> {first}"
    ))
    .await;
    let response = crate::forwards::forward(
        app,
        &token,
        json!({ "company_ids": [company], "candidate_ids": [first, second, third] }),
    )
    .await;
    assert_eq!(response.status(), 200);

    let (status, html) = get_text(&kari, app.url("/portal")).await;
    assert_eq!(status, 200);
    let rows = select_all(&html, "table tbody tr");
    assert_eq!(rows.len(), 3, "{html}");
    assert!(!html.contains(&format!("/portal/candidates/{not_forwarded}\"")));
    let (_, filtered) = get_text(&kari, app.url("/portal?residence_country=SE")).await;
    assert_eq!(select_all(&filtered, "table tbody tr").len(), 1);
    let (_, later) = get_text(&kari, app.url("/portal?forwarded_from=2099-01-01")).await;
    assert_eq!(select_all(&later, "table tbody tr").len(), 0);
    let (_, today) = get_text(
        &kari,
        app.url(&format!(
            "/portal?forwarded_from={}&forwarded_to={}",
            chrono::Utc::now().date_naive(),
            chrono::Utc::now().date_naive()
        )),
    )
    .await;
    assert_eq!(select_all(&today, "table tbody tr").len(), 3);
    let (status, _) = get_text(&kari, app.url("/portal?status=bogus")).await;
    assert_eq!(status, 422);

    // Profile and CV: shown and logged.
    let email: String = {
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                format!("SELECT email FROM candidates WHERE id = {second}"),
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get("", "email").expect("email")
    };
    let cv = give_cv(app, second).await;
    let (status, profile) = get_text(&kari, app.url(&format!("/portal/candidates/{second}"))).await;
    assert_eq!(status, 200);
    assert!(profile.contains(&email));
    assert!(profile.contains(&format!("/portal/candidates/{second}/cv")));
    let download = kari
        .get(app.url(&format!("/portal/candidates/{second}/cv")))
        .send()
        .await
        .expect("GET");
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), cv);
    let (status, _) = get_text(
        &kari,
        app.url(&format!("/portal/candidates/{not_forwarded}")),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM company_candidate_events WHERE kind IN ('viewed', 'viewed_cv')")
            .await,
        2
    );

    // Status with history, and a note.
    let csrf = page_token(app, &kari, &format!("/portal/candidates/{second}")).await;
    for status in ["interested", "interviewing"] {
        let response = kari
            .post(app.url(&format!("/portal/candidates/{second}/status")))
            .form(&[("authenticity_token", csrf.as_str()), ("status", status)])
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 303);
    }
    let bad = kari
        .post(app.url(&format!("/portal/candidates/{second}/status")))
        .form(&[
            ("authenticity_token", csrf.as_str()),
            ("status", "promoted"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(bad.status(), 422);
    let note = kari
        .post(app.url(&format!("/portal/candidates/{second}/notes")))
        .form(&[
            ("authenticity_token", csrf.as_str()),
            ("body", "Strong Rust background; call on Monday."),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(note.status(), 303);
    let (_, profile) = get_text(&kari, app.url(&format!("/portal/candidates/{second}"))).await;
    assert!(profile.contains("Strong Rust background"));
    assert!(profile.contains("Status: Interested"));
    assert!(profile.contains("Status: Interviewing"));
    let (_, interviewing) = get_text(&kari, app.url("/portal?status=interviewing")).await;
    assert_eq!(select_all(&interviewing, "table tbody tr").len(), 1);

    // The export: the company's own list, formulas neutralised.
    let csv = kari
        .get(app.url("/portal/export.csv"))
        .send()
        .await
        .expect("GET");
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let csv = csv.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), 3);
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains(&email));

    // The secretariat sees the views on the candidate's timeline.
    let staff = staff_client(app).await;
    let (_, page) = get_text(&staff, app.url(&format!("/admin/candidates/{second}"))).await;
    assert!(
        page.contains("Fjord Software AS opened the profile"),
        "{page}"
    );
    assert!(page.contains("Fjord Software AS downloaded the CV"));
}
db_test!(the_portal_lists_filters_and_records);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_sign_in_attempts_are_throttled() {
    let app = TestApp::spawn_with(
        talentpool_tests::Backend::Sqlite,
        talentpool_tests::Options {
            env: vec![("LOGIN_ATTEMPTS_PER_HOUR", "3".into())],
        },
    )
    .await;
    let token = app.api_token().await;
    let company = create_company(&app, &token, "Fjord Software AS", "923609016").await;
    let email = "kari@fjord.example.no";
    assert_eq!(invite(&app, &token, company, email).await.status(), 201);
    let link = invite_link(&app, email, 1).await;
    let client = new_client();
    assert_eq!(
        set_password(&app, &client, &link, RECRUITER_PASSWORD)
            .await
            .status(),
        303
    );
    for _ in 0..3 {
        assert_eq!(
            portal_sign_in(&app, &client, email, "wrong password!!")
                .await
                .status(),
            401
        );
    }
    // Even the right password waits now.
    let response = portal_sign_in(&app, &client, email, RECRUITER_PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(response.text().await.expect("body").contains("Too many"));
    app.teardown().await;
}
