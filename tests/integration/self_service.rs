//! The candidate's own page `/me/{token}` and their rights: the personal link every
//! email carries, editing the profile and the consents, the data export, and erasure
//! that leaves no trace of the person anywhere.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use talentpool_tests::{Backend, TestApp, db_test};

use crate::helpers::*;

/// Signs up through the API, confirms, and returns the candidate id and the personal
/// link from the confirmation email's footer.
async fn confirmed_candidate(app: &TestApp, email: &str, name: &str) -> (i64, String) {
    let mut body = api_body(email);
    body["full_name"] = json!(name);
    assert_eq!(api_sign_up(app, &body).await.status(), 201);
    let mail = app.mail(email, 1).await.remove(0);
    let me = mail
        .link(&app.url("/me/"))
        .expect("every email carries the personal link");
    assert!(mail.text().contains(&me), "the text part carries it too");
    let confirm = mail.link(&app.url("/confirm/")).expect("confirmation link");
    assert_eq!(
        app.client
            .get(&confirm)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    let id = app
        .scalar(&format!(
            "SELECT id FROM candidates WHERE email = '{email}'"
        ))
        .await;
    (id, me)
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().expect("token").to_owned()
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn links_open_only_their_own_profile(app: &TestApp) {
    let (_, link_a) = confirmed_candidate(app, "ada@example.com", "Ada Byron").await;
    let (_, link_b) = confirmed_candidate(app, "grace@example.com", "Grace Brewster").await;
    let (status, html) = page(app, &format!("/me/{}", token_of(&link_a))).await;
    assert_eq!(status, 200);
    assert_eq!(select_all(&html, "#email"), ["ada@example.com"]);
    assert_eq!(
        attribute(&html, "#full_name", "value").as_deref(),
        Some("Ada Byron")
    );
    assert!(!html.contains("grace@example.com") && !html.contains("Grace"));
    let (_, html) = page(app, &format!("/me/{}", token_of(&link_b))).await;
    assert_eq!(select_all(&html, "#email"), ["grace@example.com"]);
    assert!(!html.contains("ada@example.com"));
    // A's token never reaches B's data, whatever is appended to it.
    let (status, html) = page(app, &format!("/me/{}/export.json", token_of(&link_a))).await;
    assert_eq!(status, 200);
    assert!(html.contains("ada@example.com") && !html.contains("grace@example.com"));

    // A confirmation token is not a self-service token.
    assert_eq!(
        api_sign_up(app, &api_body("new@example.com"))
            .await
            .status(),
        201
    );
    let confirm = confirmation_link(app, "new@example.com", 1).await;
    let (status, html) = page(app, &format!("/me/{}", token_of(&confirm))).await;
    assert_eq!(status, 404);
    assert!(html.contains("This link does not work"));
    let (status, _) = page(app, "/me/not-a-token").await;
    assert_eq!(status, 404);
    // An expired one explains itself and offers a new link.
    app.execute(&format!(
        "UPDATE tokens SET expires_at = created_at WHERE token_hash = '{}'",
        talentpool_core::tokens::hash(&token_of(&link_b))
    ))
    .await;
    let (status, html) = page(app, &format!("/me/{}", token_of(&link_b))).await;
    assert_eq!(status, 410);
    assert_eq!(attribute(&html, "form", "action").as_deref(), Some("/me"));
}
db_test!(links_open_only_their_own_profile);

async fn a_fresh_link_is_sent_on_request(app: &TestApp) {
    confirmed_candidate(app, "ada@example.com", "Ada Byron").await;
    let (status, form) = page(app, "/me").await;
    assert_eq!(status, 200);
    let token = attribute(&form, "input[name=authenticity_token]", "value").expect("csrf");
    let ask = |email: &'static str| {
        let token = token.clone();
        async move {
            let response = app
                .client
                .post(app.url("/me"))
                .form(&[("email", email), ("authenticity_token", token.as_str())])
                .send()
                .await
                .expect("POST /me");
            (
                response.status().as_u16(),
                response.text().await.expect("body"),
            )
        }
    };
    let known = ask("ada@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(
        known, unknown,
        "the answer does not tell whether an address is known"
    );
    assert_eq!(known.0, 200);
    let mails = app.mail("ada@example.com", 2).await;
    assert_eq!(mails[1].subject(), "Your link to your Talent Pool profile");
    let link = mails[1].link(&app.url("/me/")).expect("link");
    let (status, _) = page(app, &format!("/me/{}", token_of(&link))).await;
    assert_eq!(status, 200);
    // Asking again at once sends nothing more.
    ask("ada@example.com").await;
    app.drain_jobs().await;
    assert!(app.smtp.to("nobody@example.com").await.is_empty());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM email_log WHERE template = 'self_service_link'")
            .await,
        1
    );
    // Without the form's token nothing happens.
    let forged = app
        .client
        .post(app.url("/me"))
        .form(&[("email", "ada@example.com")])
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 403);
}
db_test!(a_fresh_link_is_sent_on_request);

async fn the_profile_is_edited_with_the_sign_up_rules(app: &TestApp) {
    let (id, link) = confirmed_candidate(app, "ada@example.com", "Ada Byron").await;
    let path = format!("/me/{}", token_of(&link));
    let (_, html) = page(app, &path).await;
    let csrf = attribute(&html, "input[name=authenticity_token]", "value").expect("csrf");
    let mut fields: Vec<(&str, String)> = valid_form("ignored@example.com")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("consent_"))
        .collect();
    fields.push(("authenticity_token", csrf.clone()));
    let post = |fields: Vec<(&'static str, String)>| {
        let url = app.url(&format!("{path}/profile"));
        async move {
            app.client
                .post(url)
                .form(&fields)
                .send()
                .await
                .expect("POST profile")
        }
    };
    let bad = post(
        fields
            .iter()
            .cloned()
            .map(|(k, v)| match k {
                "years_experience" => (k, "many".to_owned()),
                "residence_country" => (k, "XX".to_owned()),
                _ => (k, v),
            })
            .collect(),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.expect("body");
    for field in ["years_experience", "residence_country"] {
        assert_eq!(
            attribute(&html, &format!("#{field}"), "aria-invalid").as_deref(),
            Some("true"),
            "{field}"
        );
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(years_experience AS BIGINT) FROM candidates WHERE id = {id}"
        ))
        .await,
        12,
        "nothing changed"
    );
    let saved = post(fields.clone()).await;
    assert_eq!(saved.status(), 303);
    let candidate = talentpool_core::candidates::find(&app.db, id)
        .await
        .expect("find")
        .expect("candidate");
    assert_eq!(
        candidate.email, "ada@example.com",
        "the address is not part of the form"
    );
    assert_eq!(candidate.full_name, "Ada Lovelace");
    assert_eq!(candidate.residence_country, "GB");
    assert_eq!(candidate.years_experience, 7);
    assert_eq!(
        candidate.eu_status, "eu_eea",
        "an Irish citizenship makes an EU citizen"
    );
    assert_eq!(
        talentpool_core::candidates::citizenships(&app.db, id)
            .await
            .expect("citizenships"),
        ["GB", "IE"]
    );
    assert!(candidate.consent_pool && candidate.consent_share && !candidate.consent_newsletter);
}
db_test!(the_profile_is_edited_with_the_sign_up_rules);

/// A company that was shared the candidate, with a note about them.
async fn share_with_company(app: &TestApp, candidate_id: i64, name: &str, note: &str) {
    let now = "2026-11-20T10:00:00+00:00";
    app.execute(&format!(
        "INSERT INTO companies (name, org_number, created_at, updated_at) VALUES ('{name}', '{}', '{now}', '{now}')",
        &format!("{:09}", 923_609_016 + candidate_id)[..9]
    ))
    .await;
    let company = app
        .scalar(&format!("SELECT id FROM companies WHERE name = '{name}'"))
        .await;
    app.execute(&format!(
        "INSERT INTO forwards (company_id, actor_kind, candidate_count, created_at) VALUES ({company}, 'staff', 1, '{now}')"
    ))
    .await;
    let forward = app
        .scalar(&format!(
            "SELECT MAX(id) FROM forwards WHERE company_id = {company}"
        ))
        .await;
    app.execute(&format!(
        "INSERT INTO company_candidates (company_id, candidate_id, forward_id, status, created_at, updated_at) \
         VALUES ({company}, {candidate_id}, {forward}, 'interviewing', '{now}', '{now}')"
    ))
    .await;
    let cc = app
        .scalar(&format!(
            "SELECT id FROM company_candidates WHERE company_id = {company}"
        ))
        .await;
    app.execute(&format!(
        "INSERT INTO company_candidate_events (company_candidate_id, kind, body, actor_kind, created_at) \
         VALUES ({cc}, 'note', '{note}', 'company_user', '{now}')"
    ))
    .await;
}

async fn consents_change_with_a_complete_history(app: &TestApp) {
    let (id, link) = confirmed_candidate(app, "ada@example.com", "Ada Byron").await;
    share_with_company(app, id, "Fjord Software AS", "Strong candidate").await;
    let path = format!("/me/{}", token_of(&link));
    let (_, html) = page(app, &path).await;
    let csrf = attribute(&html, "input[name=authenticity_token]", "value").expect("csrf");
    assert_eq!(
        select_all(&html, "table td:first-child"),
        ["Fjord Software AS"]
    );
    let change = |kind: &'static str, action: &'static str| {
        let url = app.url(&format!("{path}/consents"));
        let csrf = csrf.clone();
        async move {
            let response = app
                .client
                .post(url)
                .form(&[
                    ("kind", kind),
                    ("action", action),
                    ("authenticity_token", csrf.as_str()),
                ])
                .send()
                .await
                .expect("POST consents");
            assert_eq!(response.status(), 303, "{kind} {action}");
        }
    };
    change("newsletter", "grant").await;
    change("newsletter", "withdraw").await;
    change("newsletter", "grant").await;
    change("share", "withdraw").await;
    let history: Vec<(String, String, Option<String>)> =
        talentpool_core::consents::for_candidate(&app.db, id)
            .await
            .expect("history")
            .into_iter()
            .map(|c| (c.kind, c.granted_source, c.withdrawn_source))
            .collect();
    let expected = [
        ("pool", "api", None),
        ("share", "api", Some("self_service")),
        ("newsletter", "self_service", Some("self_service")),
        ("newsletter", "self_service", None),
    ];
    assert_eq!(
        history,
        expected
            .iter()
            .map(|(k, g, w)| ((*k).to_owned(), (*g).to_owned(), w.map(str::to_owned)))
            .collect::<Vec<_>>()
    );
    let candidate = talentpool_core::candidates::find(&app.db, id)
        .await
        .expect("find")
        .expect("row");
    assert!(candidate.consent_newsletter && !candidate.consent_share);
    // Withdrawing the sharing consent takes the candidate out of the company's portal:
    // the company keeps an entry marked withdrawn, without the link or its notes.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM company_candidates WHERE candidate_id = {id}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM company_candidates WHERE candidate_id IS NULL AND withdrawn_at IS NOT NULL").await,
        1
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM company_candidate_events WHERE body LIKE '%Strong candidate%'"
        )
        .await,
        0
    );
    let (_, html) = page(app, &path).await;
    assert!(select_all(&html, "table td").is_empty());
    assert!(html.contains("No company can see your profile now."));
    // The pool consent is not withdrawn here: deleting the data is the way.
    let response = app
        .client
        .post(app.url(&format!("{path}/consents")))
        .form(&[
            ("kind", "pool"),
            ("action", "withdraw"),
            ("authenticity_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 400);
    assert!(
        talentpool_core::candidates::find(&app.db, id)
            .await
            .expect("find")
            .expect("row")
            .consent_pool
    );
}
db_test!(consents_change_with_a_complete_history);

async fn the_export_holds_every_kind_of_record(app: &TestApp) {
    let (id, link) = confirmed_candidate(app, "ada@example.com", "Ada Byron").await;
    share_with_company(app, id, "Fjord Software AS", "Strong candidate").await;
    let token = app.api_token().await;
    let response = app
        .client
        .get(app.url(&format!("/api/v1/candidates/{id}/export")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
    let export: Value = response.json().await.expect("json");
    assert_eq!(export["profile"]["email"], "ada@example.com");
    assert_eq!(export["profile"]["full_name"], "Ada Byron");
    assert_eq!(export["profile"]["profession"], "Software developers");
    assert_eq!(export["citizenships"], json!(["US"]));
    assert_eq!(export["campaigns"][0]["campaign"], "software-developers");
    assert_eq!(export["campaigns"][0]["source"], "api");
    let kinds: Vec<&str> = export["consents"]
        .as_array()
        .expect("consents")
        .iter()
        .map(|c| c["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["pool", "share"]);
    assert!(
        export["consents"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("talent pool"))
    );
    assert_eq!(export["consents"][0]["text_version"], 1);
    assert_eq!(
        export["emails"][0]["subject"],
        "Confirm your sign-up to the talent pool"
    );
    assert_eq!(export["companies"][0]["company"], "Fjord Software AS");
    assert_eq!(export["companies"][0]["status"], "interviewing");
    // The candidate gets the same document from their own page.
    let mine: Value = app
        .client
        .get(app.url(&format!("/me/{}/export.json", token_of(&link))))
        .send()
        .await
        .expect("own export")
        .json()
        .await
        .expect("json");
    assert_eq!(mine["profile"], export["profile"]);
    assert_eq!(mine["companies"], export["companies"]);
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'candidate.exported' AND subject_id = {id}")).await,
        2
    );
    // Unknown ids and missing tokens.
    let missing = app
        .client
        .get(app.url("/api/v1/candidates/999999/export"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("missing");
    assert_eq!(missing.status(), 404);
    let anonymous = app
        .client
        .get(app.url(&format!("/api/v1/candidates/{id}/export")))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(anonymous.status(), 401);
}
db_test!(the_export_holds_every_kind_of_record);

/// Every text-like column of every table (the job queue's included) that contains `needle`.
async fn traces_of(app: &TestApp, needle: &str) -> Vec<String> {
    let db = &app.db;
    let backend = db.get_database_backend();
    let columns: Vec<(String, String, String)> = match app.backend {
        Backend::Sqlite => {
            let tables = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                ))
                .await
                .expect("tables");
            let mut columns = Vec::new();
            for t in tables {
                let table: String = t.try_get("", "name").expect("name");
                let info = db
                    .query_all_raw(Statement::from_string(
                        DbBackend::Sqlite,
                        format!("SELECT name FROM pragma_table_info('{table}')"),
                    ))
                    .await
                    .expect("columns");
                for c in info {
                    let column: String = c.try_get("", "name").expect("column");
                    columns.push((format!("\"{table}\""), column, String::new()));
                }
            }
            columns
        }
        Backend::Postgres => db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns \
                 WHERE table_schema IN ('public', 'apalis')",
            ))
            .await
            .expect("columns")
            .into_iter()
            .map(|r| {
                let schema: String = r.try_get("", "table_schema").expect("schema");
                let table: String = r.try_get("", "table_name").expect("table");
                (
                    format!("\"{schema}\".\"{table}\""),
                    r.try_get("", "column_name").expect("column"),
                    r.try_get("", "data_type").expect("type"),
                )
            })
            .collect(),
    };
    let mut found = Vec::new();
    for (table, column, data_type) in columns {
        let expr = if data_type == "bytea" {
            format!("encode(\"{column}\", 'escape')")
        } else {
            format!("CAST(\"{column}\" AS TEXT)")
        };
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE LOWER({expr}) LIKE '%{}%'",
            needle.to_lowercase()
        );
        let n: i64 = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .expect("scan")
            .map(|r| r.try_get("", "n").expect("n"))
            .unwrap_or(0);
        if n > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_in(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

async fn erasure_leaves_no_trace(app: &TestApp) {
    const EMAIL: &str = "erase.me@example.com";
    const NAME: &str = "Zenobia Quillfeather";
    // A form sign-up with a CV whose text carries the name, confirmed; then a repeat
    // sign-up whose answers (and second CV) stay pending.
    let cv = format!("%PDF-1.4\n1 0 obj << /Title ({NAME}) >> endobj\n%%EOF\n");
    let (_, csrf) = open_form(app, &format!("/c/{SLUG}")).await;
    let fields = with(valid_form(EMAIL), "full_name", NAME);
    let response = post_form(
        app,
        &format!("/c/{SLUG}"),
        Some(&csrf),
        &fields,
        Some(("cv.pdf", cv.as_bytes())),
    )
    .await;
    assert_eq!(response.status(), 303);
    let link = confirmation_link(app, EMAIL, 1).await;
    assert_eq!(
        app.client
            .get(&link)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    let response = post_form(
        app,
        &format!("/c/{SLUG}"),
        Some(&csrf),
        &fields,
        Some(("cv2.pdf", cv.as_bytes())),
    )
    .await;
    assert_eq!(response.status(), 303);
    app.mail(EMAIL, 2).await;
    let id = app
        .scalar(&format!(
            "SELECT id FROM candidates WHERE email = '{EMAIL}'"
        ))
        .await;
    share_with_company(app, id, "Fjord Software AS", &format!("Met {NAME} in Oslo")).await;
    let newsletter_now = "2026-11-20T10:00:00+00:00";
    app.execute(&format!(
        "INSERT INTO newsletters (subject, body_markdown, status, created_at, updated_at) VALUES ('News', 'Hi', 'done', '{newsletter_now}', '{newsletter_now}')"
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO deliveries (newsletter_id, candidate_id, recipient, status, created_at) \
         VALUES ((SELECT MAX(id) FROM newsletters), {id}, '{EMAIL}', 'sent', '{newsletter_now}')"
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO outbox_messages (recipient, subject, raw, created_at) VALUES ('{EMAIL}', 'Hello', 'To: {EMAIL}\r\n\r\nHello {NAME}', '{newsletter_now}')"
    ))
    .await;
    app.execute(&format!(
        "INSERT INTO suppressions (email, reason, created_at) VALUES ('{EMAIL}', '550 mailbox unavailable', '{newsletter_now}')"
    ))
    .await;
    app.drain_jobs().await;
    let cv_dir = app.settings.data_dir.join("files");
    assert!(
        !traces_of(app, EMAIL).await.is_empty(),
        "the scan finds the data before"
    );
    assert!(!traces_of(app, NAME).await.is_empty());
    let with_name_before: Vec<_> = files_in(&cv_dir)
        .into_iter()
        .filter(|p| std::fs::read(p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(NAME)))
        .collect();
    assert_eq!(
        with_name_before.len(),
        2,
        "both CVs are on disk: {with_name_before:?}"
    );

    let token = app.api_token().await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/candidates/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), 204);
    assert_eq!(traces_of(app, EMAIL).await, Vec::<String>::new());
    assert_eq!(traces_of(app, NAME).await, Vec::<String>::new());
    assert_eq!(traces_of(app, "Quillfeather").await, Vec::<String>::new());
    let with_name_after: Vec<_> = files_in(&cv_dir)
        .into_iter()
        .filter(|p| std::fs::read(p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(NAME)))
        .collect();
    assert_eq!(
        with_name_after,
        Vec::<std::path::PathBuf>::new(),
        "no CV file holds the name"
    );
    // What stays: anonymous counts and the fact of the erasure.
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM erasures WHERE source = 'api' AND forwarded_to_companies = 1"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'candidate.erased' AND subject_id = {id}"
        ))
        .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM company_candidates WHERE candidate_id IS NULL AND withdrawn_at IS NOT NULL").await, 1);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM deliveries WHERE candidate_id IS NULL AND recipient IS NULL"
        )
        .await,
        1
    );
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/candidates/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("DELETE again");
    assert_eq!(again.status(), 404);
}
db_test!(erasure_leaves_no_trace);

async fn candidates_delete_their_own_data(app: &TestApp) {
    let (id, link) = confirmed_candidate(app, "ada@example.com", "Ada Byron").await;
    let path = format!("/me/{}", token_of(&link));
    let (_, html) = page(app, &path).await;
    let csrf = attribute(&html, "input[name=authenticity_token]", "value").expect("csrf");
    // Without ticking the box nothing is deleted.
    let unconfirmed = app
        .client
        .post(app.url(&format!("{path}/delete")))
        .form(&[("authenticity_token", csrf.as_str())])
        .send()
        .await
        .expect("POST delete");
    assert_eq!(unconfirmed.status(), 422);
    assert_eq!(app.count("candidates").await, 1);
    let deleted = app
        .client
        .post(app.url(&format!("{path}/delete")))
        .form(&[("authenticity_token", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .expect("POST delete");
    assert_eq!(deleted.status(), 200);
    assert!(
        deleted
            .text()
            .await
            .expect("body")
            .contains("Your data is deleted")
    );
    assert_eq!(app.count("candidates").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM erasures WHERE source = 'self_service'")
            .await,
        1
    );
    // The link is dead with the data.
    let (status, _) = page(app, &path).await;
    assert_eq!(status, 404);
    assert!(traces_of(app, "ada@example.com").await.is_empty());
    let _ = id;
}
db_test!(candidates_delete_their_own_data);

async fn the_cv_is_replaced_and_deleted(app: &TestApp) {
    let (id, link) = confirmed_candidate(app, "ada@example.com", "Ada Byron").await;
    let path = format!("/me/{}", token_of(&link));
    let (_, html) = page(app, &path).await;
    let csrf = attribute(&html, "input[name=authenticity_token]", "value").expect("csrf");
    assert!(html.contains("You have not given us a CV."));
    let upload = |action: &'static str, file: Option<&'static [u8]>| {
        let url = app.url(&format!("{path}/cv"));
        let csrf = csrf.clone();
        async move {
            let mut form = reqwest::multipart::Form::new()
                .text("authenticity_token", csrf)
                .text("action", action);
            if let Some(bytes) = file {
                form = form.part(
                    "cv",
                    reqwest::multipart::Part::bytes(bytes.to_vec())
                        .file_name("cv.pdf")
                        .mime_str("application/pdf")
                        .expect("mime"),
                );
            }
            app.client
                .post(url)
                .multipart(form)
                .send()
                .await
                .expect("POST cv")
        }
    };
    let cv_key = || async {
        talentpool_core::candidates::find(&app.db, id)
            .await
            .expect("find")
            .expect("row")
            .cv_key
    };
    let files = || std::fs::read_dir(app.settings.data_dir.join("files")).map_or(0, |d| d.count());
    // Not a PDF, or no file: explained, nothing stored.
    let bad = upload("replace", Some(b"GIF89a not a pdf")).await;
    assert_eq!(bad.status(), 422);
    assert_eq!(
        attribute(&bad.text().await.expect("body"), "#cv", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(upload("replace", None).await.status(), 422);
    assert_eq!(cv_key().await, None);
    assert_eq!(upload("replace", Some(PDF)).await.status(), 303);
    let first = cv_key().await.expect("a CV");
    assert_eq!(files(), 1);
    let (_, html) = page(app, &path).await;
    assert!(html.contains("We hold a CV for you."));
    let download = app
        .client
        .get(app.url(&format!("{path}/cv")))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), PDF);
    // Replacing keeps one file: the old one is deleted.
    assert_eq!(upload("replace", Some(PDF)).await.status(), 303);
    let second = cv_key().await.expect("a CV");
    assert_ne!(first, second);
    assert_eq!(files(), 1);
    assert_eq!(upload("delete", None).await.status(), 303);
    assert_eq!(cv_key().await, None);
    assert_eq!(files(), 0);
    let missing = app
        .client
        .get(app.url(&format!("{path}/cv")))
        .send()
        .await
        .expect("download");
    assert_eq!(missing.status(), 404);
}
db_test!(the_cv_is_replaced_and_deleted);
