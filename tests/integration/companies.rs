//! Participating companies: the organisation number check, the API (create, list, get,
//! update, archive; problem+json naming bad fields) and the back-office pages.

use serde_json::{Value, json};
use talentpool_tests::{TestApp, db_test};

use crate::helpers::*;

pub const STAFF_EMAIL: &str = "secretariat@region.test";
pub const STAFF_PASSWORD: &str = "a long enough password";

/// A client with its own cookie jar (a browser of its own).
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

/// The value of the first `authenticity_token` field on the page at `path`.
pub async fn page_token(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.expect("GET");
    assert_eq!(response.status(), 200, "GET {path}");
    attribute(
        &response.text().await.expect("body"),
        "input[name=authenticity_token]",
        "value",
    )
    .expect("a CSRF token")
}

/// Creates the secretariat account (once) and signs `client` in to the back office.
pub async fn staff_client(app: &TestApp) -> reqwest::Client {
    // Already there when a second client signs in.
    let _ = talentpool_core::staff::create_admin(&app.db, STAFF_EMAIL, STAFF_PASSWORD).await;
    let client = new_client();
    let token = page_token(app, &client, "/admin/login").await;
    let response = client
        .post(app.url("/admin/login"))
        .form(&[
            ("email", STAFF_EMAIL),
            ("password", STAFF_PASSWORD),
            ("next", "/admin"),
            ("authenticity_token", &token),
        ])
        .send()
        .await
        .expect("POST login");
    assert_eq!(response.status(), 303);
    client
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn companies_by_api(app: &TestApp) {
    let token = app.api_token().await;
    let campaign_id = app
        .scalar("SELECT id FROM campaigns WHERE slug = 'software-developers'")
        .await;
    let unauthorized = app
        .client
        .get(app.url("/api/v1/companies"))
        .send()
        .await
        .expect("GET");
    assert_eq!(unauthorized.status(), 401);

    let created = app
        .client
        .post(app.url("/api/v1/companies"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "Fjord Software AS", "org_number": "923 609 016",
            "website": "fjord.example.no", "contact_name": "Kari Nordmann",
            "contact_email": "kari@fjord.example.no", "campaign_ids": [campaign_id]
        }))
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    assert_eq!(created["org_number"], "923609016");
    assert_eq!(created["website"], "https://fjord.example.no");
    assert_eq!(created["campaign_ids"], json!([campaign_id]));
    assert_eq!(created["archived"], false);
    let id = created["id"].as_i64().expect("id");

    // Every bad field is named, and nothing is written.
    let bad = app
        .client
        .post(app.url("/api/v1/companies"))
        .bearer_auth(&token)
        .json(&json!({ "name": "", "org_number": "923609017", "contact_email": "nope", "campaign_ids": [999999] }))
        .send()
        .await
        .expect("POST");
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let problem: Value = bad.json().await.expect("json");
    assert_eq!(fields(&problem), ["name", "org_number", "contact_email"]);
    for (org, ok) in [
        ("12345678", false),
        ("1234567890", false),
        ("97476067a", false),
        ("974760673", true),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/companies"))
            .bearer_auth(&token)
            .json(&json!({ "name": format!("Org {org}"), "org_number": org }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status() == 201, ok, "{org}");
    }
    let unknown_campaign = app
        .client
        .post(app.url("/api/v1/companies"))
        .bearer_auth(&token)
        .json(&json!({ "name": "X", "org_number": "984851006", "campaign_ids": [999999] }))
        .send()
        .await
        .expect("POST");
    assert_eq!(unknown_campaign.status(), 422);
    assert_eq!(
        fields(&unknown_campaign.json().await.expect("json")),
        ["campaign_ids"]
    );
    let duplicate = app
        .client
        .post(app.url("/api/v1/companies"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Copy", "org_number": "923609016" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(duplicate.status(), 422);
    assert_eq!(
        fields(&duplicate.json().await.expect("json")),
        ["org_number"]
    );
    assert_eq!(app.count("companies").await, 2);

    let fetched: Value = app
        .client
        .get(app.url(&format!("/api/v1/companies/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(fetched["name"], "Fjord Software AS");
    let missing = app
        .client
        .get(app.url("/api/v1/companies/999999"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);

    let updated = app
        .client
        .put(app.url(&format!("/api/v1/companies/{id}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "Fjord Software ASA", "org_number": "923609016", "campaign_ids": [], "archived": true }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.expect("json");
    assert_eq!(updated["name"], "Fjord Software ASA");
    assert_eq!(updated["archived"], true);
    assert_eq!(updated["campaign_ids"], json!([]));
    let clash = app
        .client
        .put(app.url(&format!("/api/v1/companies/{id}")))
        .bearer_auth(&token)
        .json(&json!({ "name": "Fjord", "org_number": "974760673" }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(clash.status(), 422);

    let list: Value = app
        .client
        .get(app.url("/api/v1/companies"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Fjord Software ASA", "Org 974760673"]);

    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert!(doc["paths"]["/api/v1/companies"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/companies/{id}"]["put"].is_object());
}
db_test!(companies_by_api);

async fn companies_in_the_back_office(app: &TestApp) {
    let staff = staff_client(app).await;
    let token = page_token(app, &staff, "/admin/companies/new").await;
    // Without the token nothing is saved.
    let refused = staff
        .post(app.url("/admin/companies"))
        .form(&[("name", "Fjord"), ("org_number", "923609016")])
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status(), 403);
    let invalid = staff
        .post(app.url("/admin/companies"))
        .form(&[
            ("authenticity_token", token.as_str()),
            ("name", "Fjord Software AS"),
            ("org_number", "923609017"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(invalid.status(), 422);
    let html = invalid.text().await.expect("body");
    assert!(html.contains("check digit"), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(app.count("companies").await, 0);

    let campaign_id = app
        .scalar("SELECT id FROM campaigns WHERE slug = 'software-developers'")
        .await
        .to_string();
    let created = staff
        .post(app.url("/admin/companies"))
        .form(&[
            ("authenticity_token", token.as_str()),
            ("name", "Fjord Software AS"),
            ("org_number", "923609016"),
            ("website", "https://fjord.example.no"),
            ("campaign_ids", campaign_id.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let show = staff
        .get(app.url(&location))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(show.contains("Fjord Software AS"));
    assert!(show.contains("923609016"));
    assert!(show.contains("Software developers"), "{show}");
    let list = staff
        .get(app.url("/admin/companies"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(list.contains("Fjord Software AS"));

    let edit = staff
        .get(app.url(&format!("{location}/edit")))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(edit.contains("value=\"923609016\""));
    assert!(edit.contains("checked"));
    let token = attribute(&edit, "input[name=authenticity_token]", "value").expect("token");
    let updated = staff
        .post(app.url(&location))
        .form(&[
            ("authenticity_token", token.as_str()),
            ("name", "Fjord Software ASA"),
            ("org_number", "923609016"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(updated.status(), 303);
    assert_eq!(app.count("company_campaigns").await, 0);
    let archived = staff
        .post(app.url(&format!("{location}/archive")))
        .form(&[("authenticity_token", token.as_str()), ("archived", "true")])
        .send()
        .await
        .expect("POST");
    assert_eq!(archived.status(), 303);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM companies WHERE archived_at IS NOT NULL AND name = 'Fjord Software ASA'")
            .await,
        1
    );
    assert!(
        app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action LIKE 'company.%'")
            .await
            >= 3
    );
}
db_test!(companies_in_the_back_office);
