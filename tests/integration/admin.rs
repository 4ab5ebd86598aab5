//! The back office: staff sign-in with server-side sessions, throttling, the pool page,
//! candidate pages (audited), segments from the page, and the CSV export.

use serde_json::json;
use talentpool_tests::{Backend, Options, TestApp, db_test};

use crate::helpers::*;

const EMAIL: &str = "staff@region.test";
const PASSWORD: &str = "a long enough password";

async fn create_staff(app: &TestApp) {
    talentpool_core::staff::create_admin(&app.db, EMAIL, PASSWORD)
        .await
        .expect("staff");
}

async fn login_form_token(app: &TestApp) -> String {
    let response = app
        .client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(response.status(), 200);
    attribute(
        &response.text().await.expect("body"),
        "input[name=authenticity_token]",
        "value",
    )
    .expect("token")
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let token = login_form_token(app).await;
    app.client
        .post(app.url("/admin/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/admin"),
            ("authenticity_token", &token),
        ])
        .send()
        .await
        .expect("POST login")
}

async fn pages_need_a_session(app: &TestApp) {
    for path in [
        "/admin",
        "/admin/candidates/1",
        "/admin/export.csv",
        "/admin/password",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 303, "{path}");
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        assert!(
            location.starts_with("/admin/login?next="),
            "{path} -> {location}"
        );
    }
    let response = app
        .client
        .post(app.url("/admin/segments"))
        .form(&[("name", "x")])
        .send()
        .await
        .expect("POST");
    assert!(
        response.status() == 303 || response.status() == 403,
        "{}",
        response.status()
    );
    assert_eq!(app.count("segments").await, 0);
}
db_test!(pages_need_a_session);

async fn sign_in_and_out(app: &TestApp) {
    create_staff(app).await;
    let wrong = sign_in(app, EMAIL, "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.expect("body").contains("not right"));
    let unknown = sign_in(app, "nobody@region.test", PASSWORD).await;
    assert_eq!(unknown.status(), 401);

    // Without the CSRF token the form is refused.
    let response = app
        .client
        .post(app.url("/admin/login"))
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);

    let ok = sign_in(app, EMAIL, PASSWORD).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/admin");
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tp_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(
        app.count("sessions").await,
        1,
        "the session lives in the database"
    );

    let pool = app
        .client
        .get(app.url("/admin"))
        .send()
        .await
        .expect("pool");
    assert_eq!(pool.status(), 200);
    let html = pool.text().await.expect("body");
    assert!(html.contains("The pool"));
    let token = attribute(
        &html,
        "form[action='/admin/logout'] input[name=authenticity_token]",
        "value",
    )
    .expect("token");
    let out = app
        .client
        .post(app.url("/admin/logout"))
        .form(&[("authenticity_token", token.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    assert_eq!(
        app.client
            .get(app.url("/admin"))
            .send()
            .await
            .expect("pool")
            .status(),
        303
    );
}
db_test!(sign_in_and_out);

async fn sessions_expire(app: &TestApp) {
    create_staff(app).await;
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);
    assert_eq!(
        app.client
            .get(app.url("/admin"))
            .send()
            .await
            .expect("pool")
            .status(),
        200
    );
    app.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00'")
        .await;
    assert_eq!(
        app.client
            .get(app.url("/admin"))
            .send()
            .await
            .expect("pool")
            .status(),
        303
    );
}
db_test!(sessions_expire);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_throttled() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("LOGIN_ATTEMPTS_PER_HOUR", "3".into())],
        },
    )
    .await;
    create_staff(&app).await;
    for _ in 0..3 {
        assert_eq!(sign_in(&app, EMAIL, "wrong password!").await.status(), 401);
    }
    // Even the right password waits now.
    let response = sign_in(&app, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), 429);
    assert!(response.text().await.expect("body").contains("Too many"));
    app.teardown().await;
}

async fn pool_page_candidate_page_and_export(app: &TestApp) {
    create_staff(app).await;
    app.seed(30).await;
    let mut body = api_body("formula@example.com");
    body["full_name"] = json!("=HYPERLINK(\"http://evil.example\",\"Click\")");
    body["citizenship"] = json!(["DE"]);
    assert_eq!(api_sign_up(app, &body).await.status(), 201);
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);

    let token = app.api_token().await;
    let api: serde_json::Value = app
        .client
        .get(app.url("/api/v1/candidates?eu_status=eu_eea&limit=1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json");
    let page = app
        .client
        .get(app.url("/admin?eu_status=eu_eea&confirmed="))
        .send()
        .await
        .expect("pool");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert_eq!(
        select_all(&html, "#match-count"),
        [api["total"].to_string()]
    );
    let bad = app
        .client
        .get(app.url("/admin?eu_status=maybe"))
        .send()
        .await
        .expect("pool");
    assert_eq!(bad.status(), 422);

    // A candidate page, and its reading is audited.
    let link = attribute(&html, "tbody a", "href").expect("a candidate link");
    let id: i64 = link
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let candidate = app
        .client
        .get(app.url(&link))
        .send()
        .await
        .expect("candidate");
    assert_eq!(candidate.status(), 200);
    let candidate_html = candidate.text().await.expect("body");
    assert!(candidate_html.contains("Consents"));
    assert!(candidate_html.contains("text version 1"));
    assert_eq!(
        app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'candidate.viewed' AND actor_kind = 'staff' AND subject_id = {id}")).await,
        1
    );
    assert_eq!(
        app.client
            .get(app.url("/admin/candidates/999999"))
            .send()
            .await
            .expect("404")
            .status(),
        404
    );

    // Save the filter as a segment from the page.
    let csrf = attribute(
        &html,
        "form[action='/admin/segments'] input[name=authenticity_token]",
        "value",
    )
    .expect("token");
    let query = attribute(
        &html,
        "form[action='/admin/segments'] input[name=query]",
        "value",
    )
    .expect("query");
    assert_eq!(query, "eu_status=eu_eea");
    let saved = app
        .client
        .post(app.url("/admin/segments"))
        .form(&[
            ("name", "EU candidates"),
            ("query", query.as_str()),
            ("authenticity_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("save");
    assert_eq!(saved.status(), 303);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM segments WHERE name = 'EU candidates'")
            .await,
        1
    );

    // The export: every match, formulas neutralised, audited.
    let csv = app
        .client
        .get(app.url("/admin/export.csv?eu_status=eu_eea"))
        .send()
        .await
        .expect("export");
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = csv.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(&headers[1], "full_name");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len() as u64, api["total"].as_u64().expect("total"));
    let formula = rows
        .iter()
        .find(|r| &r[2] == "formula@example.com")
        .expect("the formula candidate");
    assert_eq!(
        &formula[1],
        "'=HYPERLINK(\"http://evil.example\",\"Click\")"
    );
    assert!(
        rows.iter()
            .all(|r| !r.iter().any(|cell| cell.starts_with(['=', '+', '-', '@'])))
    );
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'candidates.exported'"
        )
        .await,
        1
    );
}
db_test!(pool_page_candidate_page_and_export);

async fn password_change(app: &TestApp) {
    create_staff(app).await;
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);
    let form = app
        .client
        .get(app.url("/admin/password"))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("body");
    let token = attribute(
        &form,
        "form[action='/admin/password'] input[name=authenticity_token]",
        "value",
    )
    .expect("token");
    let wrong = app
        .client
        .post(app.url("/admin/password"))
        .form(&[
            ("current", "not it"),
            ("new", "another long password"),
            ("authenticity_token", token.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 422);
    let ok = app
        .client
        .post(app.url("/admin/password"))
        .form(&[
            ("current", PASSWORD),
            ("new", "another long password"),
            ("authenticity_token", token.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 200);
    assert!(
        talentpool_core::staff::authenticate(&app.db, EMAIL, "another long password")
            .await
            .expect("auth")
            .is_some()
    );
    assert!(
        talentpool_core::staff::authenticate(&app.db, EMAIL, PASSWORD)
            .await
            .expect("auth")
            .is_none()
    );
}
db_test!(password_change);

async fn tokens_segments_and_audit_pages(app: &TestApp) {
    create_staff(app).await;
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);
    // Create a token on the page; it works on the API; revoke it on the page.
    let page = app
        .client
        .get(app.url("/admin/tokens"))
        .send()
        .await
        .expect("tokens")
        .text()
        .await
        .expect("body");
    let csrf = attribute(
        &page,
        "form[action='/admin/tokens'] input[name=authenticity_token]",
        "value",
    )
    .expect("token");
    let created = app
        .client
        .post(app.url("/admin/tokens"))
        .form(&[("name", "CRM sync"), ("authenticity_token", csrf.as_str())])
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let html = created.text().await.expect("body");
    let token = select_all(&html, "#new-token")
        .pop()
        .expect("the new token is shown once");
    let api = |token: String| {
        let client = app.client.clone();
        let url = app.url("/api/v1/candidates");
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("api")
                .status()
        }
    };
    assert_eq!(api(token.clone()).await, 200);
    let listed = app
        .client
        .get(app.url("/admin/tokens"))
        .send()
        .await
        .expect("tokens")
        .text()
        .await
        .expect("body");
    assert!(!listed.contains(&token), "the token is never shown again");
    let revoke = attribute(&listed, "form[action$='/revoke']", "action").expect("a revoke form");
    let response = app
        .client
        .post(app.url(&revoke))
        .form(&[("authenticity_token", csrf.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(response.status(), 303);
    assert_eq!(api(token).await, 401);

    // Segments list with live counts; delete one.
    app.seed(12).await;
    talentpool_core::segments::create(
        &app.db,
        "Everyone confirmed",
        &talentpool_core::pool::Filter {
            confirmed: Some(true),
            ..Default::default()
        },
        None,
    )
    .await
    .expect("segment");
    let confirmed = app
        .scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM candidates WHERE confirmed_at IS NOT NULL")
        .await;
    let segments = app
        .client
        .get(app.url("/admin/segments"))
        .send()
        .await
        .expect("segments")
        .text()
        .await
        .expect("body");
    assert_eq!(
        select_all(&segments, ".segment-count"),
        [confirmed.to_string()]
    );
    let delete = attribute(&segments, "form[action$='/delete']", "action").expect("delete form");
    let response = app
        .client
        .post(app.url(&delete))
        .form(&[("authenticity_token", csrf.as_str())])
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 303);
    assert_eq!(app.count("segments").await, 0);

    // The audit log shows all of it.
    let audit = app
        .client
        .get(app.url("/admin/audit"))
        .send()
        .await
        .expect("audit")
        .text()
        .await
        .expect("body");
    for action in [
        "staff.login",
        "api_token.created",
        "api_token.revoked",
        "segment.deleted",
    ] {
        assert!(audit.contains(action), "{action} in the audit log");
    }
}
db_test!(tokens_segments_and_audit_pages);

async fn campaigns_are_managed_and_measured(app: &TestApp) {
    create_staff(app).await;
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);
    let form = app
        .client
        .get(app.url("/admin/campaigns/new"))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("body");
    let csrf = attribute(&form, "input[name=authenticity_token]", "value").expect("token");
    let post = |fields: Vec<(&'static str, &'static str)>| {
        post_campaign(app, "/admin/campaigns", fields, csrf.clone())
    };
    // Preview renders the Markdown without saving.
    let preview = post(vec![
        ("title", "Nurses"),
        ("slug", "nurses"),
        ("body_markdown", "## Care jobs\n\n**Oslo**"),
        ("status", "open"),
        ("action", "preview"),
    ])
    .await
    .expect("preview");
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.expect("body");
    assert_eq!(select_all(&html, ".preview h2"), ["Preview", "Care jobs"]);
    assert_eq!(app.count("campaigns").await, 1);
    // Bad answers and a taken address are explained.
    let bad = post(vec![
        ("title", ""),
        ("slug", "Bad Slug"),
        ("status", "open"),
        ("opens_on", "2027-05-01"),
        ("closes_on", "2027-04-01"),
        ("action", "save"),
    ])
    .await
    .expect("bad");
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.expect("body");
    for field in ["title", "slug", "closes_on"] {
        assert_eq!(
            attribute(&html, &format!("#{field}"), "aria-invalid").as_deref(),
            Some("true"),
            "{field}"
        );
    }
    let taken = post(vec![
        ("title", "Again"),
        ("slug", "software-developers"),
        ("status", "open"),
        ("action", "save"),
    ])
    .await
    .expect("taken");
    assert_eq!(taken.status(), 422);
    let saved = post(vec![
        ("title", "Nurses for Oslo"),
        ("slug", "nurses"),
        ("summary", "Care jobs"),
        ("body_markdown", "## Care"),
        ("status", "open"),
        ("action", "save"),
    ])
    .await
    .expect("save");
    assert_eq!(saved.status(), 303);
    let location = saved.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(
        app.client
            .get(app.url("/c/nurses"))
            .send()
            .await
            .expect("landing")
            .status(),
        200
    );
    // Closing it by hand closes the landing page.
    let id = location.rsplit('/').next().expect("id").to_owned();
    let closed = app
        .client
        .post(app.url(&format!("/admin/campaigns/{id}")))
        .form(&[
            ("title", "Nurses for Oslo"),
            ("slug", "nurses"),
            ("status", "closed"),
            ("action", "save"),
            ("authenticity_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("close");
    assert_eq!(closed.status(), 303);
    assert_eq!(
        app.client
            .get(app.url("/c/nurses"))
            .send()
            .await
            .expect("landing")
            .status(),
        410
    );

    // Figures of the demo campaign.
    for (i, source) in [Some("linkedin"), Some("linkedin"), None]
        .into_iter()
        .enumerate()
    {
        let mut body = api_body(&format!("fig{i}@example.com"));
        if let Some(source) = source {
            body["utm_source"] = json!(source);
        }
        body["citizenship"] = json!([if i == 0 { "PL" } else { "IN" }]);
        assert_eq!(api_sign_up(app, &body).await.status(), 201);
    }
    let link = confirmation_link(app, "fig0@example.com", 1).await;
    assert_eq!(
        app.client
            .get(&link)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    let demo = app
        .scalar("SELECT CAST(MIN(id) AS BIGINT) FROM campaigns")
        .await;
    let page = app
        .client
        .get(app.url(&format!("/admin/campaigns/{demo}")))
        .send()
        .await
        .expect("figures");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert_eq!(select_all(&html, "#signups"), ["3"]);
    assert_eq!(select_all(&html, "#confirmed"), ["1 (33 %)"]);
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("linkedin"));
    assert_eq!(app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action IN ('campaign.created', 'campaign.updated')").await, 2);
}
db_test!(campaigns_are_managed_and_measured);

async fn campaign_targets_and_previews(app: &TestApp) {
    create_staff(app).await;
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);
    let form = app
        .client
        .get(app.url("/admin/campaigns/new"))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("body");
    let csrf = attribute(&form, "input[name=authenticity_token]", "value").expect("token");
    // The form offers every selectable profession.
    assert!(select_all(&form, "#professions option").len() > 400);
    let fields = |professions: &[&'static str]| {
        let mut fields = vec![
            ("title", "Nurses for Bergen"),
            ("slug", "nurses-bergen"),
            ("body_markdown", "## Care"),
            ("status", "draft"),
            ("action", "save"),
        ];
        fields.extend(professions.iter().map(|p| ("professions", *p)));
        fields
    };
    let unknown = post_campaign(
        app,
        "/admin/campaigns",
        fields(&["2221", "99999"]),
        csrf.clone(),
    )
    .await
    .expect("unknown profession");
    assert_eq!(unknown.status(), 422);
    let html = unknown.text().await.expect("body");
    assert_eq!(
        attribute(&html, "#professions", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        app.count("campaign_professions").await,
        8,
        "only the demo's targets"
    );

    let saved = post_campaign(
        app,
        "/admin/campaigns",
        fields(&["3221", "2221", "2221"]),
        csrf.clone(),
    )
    .await
    .expect("save");
    assert_eq!(saved.status(), 303);
    let id: i64 = saved.headers()["location"]
        .to_str()
        .expect("location")
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("id");
    assert_eq!(
        talentpool_core::campaigns::target_professions(&app.db, id)
            .await
            .expect("targets"),
        ["2221", "3221"]
    );
    let edit = app
        .client
        .get(app.url(&format!("/admin/campaigns/{id}/edit")))
        .send()
        .await
        .expect("edit")
        .text()
        .await
        .expect("body");
    let selected: Vec<String> = ["2221", "3221"]
        .iter()
        .filter_map(|code| {
            attribute(
                &edit,
                &format!("#professions option[value='{code}']"),
                "selected",
            )
        })
        .collect();
    assert_eq!(
        selected.len(),
        2,
        "both targets are selected in the edit form"
    );
    let show = app
        .client
        .get(app.url(&format!("/admin/campaigns/{id}")))
        .send()
        .await
        .expect("show")
        .text()
        .await
        .expect("body");
    assert_eq!(
        select_all(&show, "ul.targets li"),
        [
            "Nursing professionals (2221)",
            "Nursing associate professionals (3221)"
        ]
    );

    // A draft has no public page, but staff see it as candidates will, form disabled.
    assert_eq!(
        app.client
            .get(app.url("/c/nurses-bergen"))
            .send()
            .await
            .expect("public")
            .status(),
        404
    );
    let preview = app
        .client
        .get(app.url(&format!("/admin/campaigns/{id}/landing")))
        .send()
        .await
        .expect("landing preview");
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.expect("body");
    assert_eq!(select_all(&html, "h1"), ["Nurses for Bergen"]);
    assert!(attribute(&html, "button[type=submit]", "disabled").is_some());
    assert_eq!(attribute(&html, "form", "action").as_deref(), Some("#"));
    // The campaign's professions come first, and only once.
    assert_eq!(
        select_all(&html, "#profession optgroup:first-of-type option"),
        ["Nursing professionals", "Nursing associate professionals"]
    );
    assert_eq!(
        attribute(&html, "#profession optgroup:first-of-type", "label").as_deref(),
        Some("Wanted in this campaign")
    );
    assert_eq!(
        select_all(&html, "#profession option[value='2221']").len(),
        1
    );
    assert!(select_all(&html, "#profession option").len() > 400);

    // The editor's live preview renders Markdown as the landing page does, with script
    // links neutralised; it needs a session and the CSRF token.
    let live = app
        .client
        .post(app.url("/admin/campaigns/preview"))
        .form(&[
            (
                "body_markdown",
                "## Care jobs\n\n[apply](javascript:alert(1)) <b>x</b>",
            ),
            ("authenticity_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("live preview");
    assert_eq!(live.status(), 200);
    let fragment = live.text().await.expect("body");
    assert_eq!(select_all(&fragment, "h2"), ["Care jobs"]);
    assert!(!fragment.contains("javascript:"));
    assert!(fragment.contains("&lt;b&gt;"));
    let forged = app
        .client
        .post(app.url("/admin/campaigns/preview"))
        .form(&[("body_markdown", "## x"), ("authenticity_token", "forged")])
        .send()
        .await
        .expect("forged");
    assert!(forged.status().is_client_error(), "{}", forged.status());
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(app.url("/admin/campaigns/preview"))
        .form(&[
            ("body_markdown", "## x"),
            ("authenticity_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("anonymous");
    assert_eq!(anonymous.status(), 303);
}
db_test!(campaign_targets_and_previews);

async fn post_campaign(
    app: &TestApp,
    path: &str,
    mut fields: Vec<(&'static str, &'static str)>,
    csrf: String,
) -> reqwest::Result<reqwest::Response> {
    let mut owned: Vec<(String, String)> = fields
        .drain(..)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    owned.push(("authenticity_token".into(), csrf));
    app.client.post(app.url(path)).form(&owned).send().await
}

async fn consent_text_versions(app: &TestApp) {
    create_staff(app).await;
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);
    let mut me_links = Vec::new();
    for email in ["a@example.com", "b@example.com"] {
        assert_eq!(api_sign_up(app, &api_body(email)).await.status(), 201);
        let mail = app.mail(email, 1).await.remove(0);
        let confirm = mail.link(&app.url("/confirm/")).expect("confirm link");
        assert_eq!(
            app.client
                .get(&confirm)
                .send()
                .await
                .expect("confirm")
                .status(),
            200
        );
        me_links.push(mail.link(&app.url("/me/")).expect("personal link"));
    }
    let page = |app: &TestApp| {
        let url = app.url("/admin/consents");
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("consents page")
                .text()
                .await
                .expect("body")
        }
    };
    let html = page(app).await;
    assert_eq!(select_all(&html, "#kind-pool ~ table .holders"), ["2"]);
    let csrf = attribute(&html, "input[name=authenticity_token]", "value").expect("csrf");
    let publish = |body: &'static str| {
        let csrf = csrf.clone();
        let url = app.url("/admin/consents");
        async move {
            app.client
                .post(url)
                .form(&[
                    ("kind", "pool"),
                    ("body", body),
                    ("authenticity_token", csrf.as_str()),
                ])
                .send()
                .await
                .expect("publish")
        }
    };
    assert_eq!(publish("  ").await.status(), 422);
    assert_eq!(
        publish("Keep my profile for two years, version two.")
            .await
            .status(),
        303
    );
    let html = page(app).await;
    // Newest first: version 2 held by nobody yet, version 1 by both.
    assert_eq!(
        select_all(&html, "#kind-pool ~ table .holders")[..2],
        ["0", "2"]
    );
    assert!(html.contains("Email the 2 holders of older versions"));

    // Candidate A sees the new text on their page and accepts it.
    let a_page = app
        .client
        .get(&me_links[0])
        .send()
        .await
        .expect("me")
        .text()
        .await
        .expect("body");
    assert!(a_page.contains("This text has changed"));
    assert!(a_page.contains("Keep my profile for two years, version two."));
    let a_csrf = attribute(&a_page, "input[name=authenticity_token]", "value").expect("csrf");
    let accepted = app
        .client
        .post(format!("{}/consents", me_links[0]))
        .form(&[
            ("kind", "pool"),
            ("action", "accept"),
            ("authenticity_token", a_csrf.as_str()),
        ])
        .send()
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 303);
    let a_id = app
        .scalar("SELECT id FROM candidates WHERE email = 'a@example.com'")
        .await;
    let pool: Vec<(i64, String, Option<String>)> =
        talentpool_core::consents::for_candidate(&app.db, a_id)
            .await
            .expect("consents")
            .into_iter()
            .filter(|c| c.kind == "pool")
            .map(|c| (c.consent_text_id, c.granted_source, c.withdrawn_source))
            .collect();
    let v2 = app
        .scalar("SELECT id FROM consent_texts WHERE kind = 'pool' AND version = 2")
        .await;
    let v1 = app
        .scalar("SELECT id FROM consent_texts WHERE kind = 'pool' AND version = 1")
        .await;
    assert_eq!(
        pool,
        [
            (v1, "api".to_owned(), Some("renewed".to_owned())),
            (v2, "self_service".to_owned(), None)
        ]
    );
    let after = app
        .client
        .get(&me_links[0])
        .send()
        .await
        .expect("me")
        .text()
        .await
        .expect("body");
    assert!(!after.contains("This text has changed"));
    let html = page(app).await;
    assert_eq!(
        select_all(&html, "#kind-pool ~ table .holders")[..2],
        ["1", "1"]
    );

    // The holders of the old version are emailed; A, who accepted, is not.
    let notified = app
        .client
        .post(app.url("/admin/consents/pool/notify"))
        .form(&[("authenticity_token", csrf.as_str())])
        .send()
        .await
        .expect("notify");
    assert_eq!(notified.status(), 303);
    assert_eq!(notified.headers()["location"], "/admin/consents?queued=1");
    let mails = app.mail("b@example.com", 2).await;
    assert_eq!(
        mails[1].subject(),
        "We have updated a consent text you agreed to"
    );
    assert!(mails[1].text().contains("version two"));
    assert!(mails[1].link(&app.url("/me/")).is_some());
    app.drain_jobs().await;
    assert_eq!(app.smtp.to("a@example.com").await.len(), 1);
    // New sign-ups agree to the new version.
    assert_eq!(
        api_sign_up(app, &api_body("c@example.com")).await.status(),
        201
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM consents WHERE kind = 'pool' AND consent_text_id = {v2} AND candidate_id = (SELECT id FROM candidates WHERE email = 'c@example.com')")).await,
        1
    );
}
db_test!(consent_text_versions);

async fn staff_export_and_erase_a_candidate(app: &TestApp) {
    create_staff(app).await;
    assert_eq!(sign_in(app, EMAIL, PASSWORD).await.status(), 303);
    assert_eq!(
        api_sign_up(app, &api_body("erase@example.com"))
            .await
            .status(),
        201
    );
    app.drain_jobs().await;
    let id = app
        .scalar("SELECT id FROM candidates WHERE email = 'erase@example.com'")
        .await;
    let page = app
        .client
        .get(app.url(&format!("/admin/candidates/{id}")))
        .send()
        .await
        .expect("candidate page")
        .text()
        .await
        .expect("body");
    let csrf = attribute(&page, "input[name=authenticity_token]", "value").expect("csrf");
    let export = app
        .client
        .get(app.url(&format!("/admin/candidates/{id}/export.json")))
        .send()
        .await
        .expect("export");
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .expect("header")
            .contains("attachment")
    );
    let export: serde_json::Value = export.json().await.expect("json");
    assert_eq!(export["profile"]["email"], "erase@example.com");
    // Erasing needs the box ticked and the form's token.
    let erase = |fields: Vec<(&'static str, String)>| {
        let url = app.url(&format!("/admin/candidates/{id}/erase"));
        async move {
            app.client
                .post(url)
                .form(&fields)
                .send()
                .await
                .expect("erase")
        }
    };
    assert_eq!(
        erase(vec![("authenticity_token", csrf.clone())])
            .await
            .status(),
        400
    );
    assert_eq!(
        erase(vec![
            ("confirm", "yes".into()),
            ("authenticity_token", "forged".into())
        ])
        .await
        .status(),
        403
    );
    assert_eq!(app.count("candidates").await, 1);
    let erased = erase(vec![
        ("confirm", "yes".into()),
        ("authenticity_token", csrf.clone()),
    ])
    .await;
    assert_eq!(erased.status(), 303);
    assert_eq!(app.count("candidates").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM erasures WHERE source = 'staff'")
            .await,
        1
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'candidate.erased' AND actor_kind = 'staff' AND subject_id = {id}")).await,
        1
    );
    assert_eq!(
        app.client
            .get(app.url(&format!("/admin/candidates/{id}")))
            .send()
            .await
            .expect("gone")
            .status(),
        404
    );
}
db_test!(staff_export_and_erase_a_candidate);
