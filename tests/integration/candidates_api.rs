//! The secretariat API: Bearer tokens, the candidate list with its filters and keyset
//! pagination, single candidates (audited), and segments.

use std::collections::{BTreeSet, HashMap};

use proptest::{prelude::*, test_runner::TestRunner};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use talentpool_core::{
    entities::{candidate, citizenship, signup},
    pool::{self, Filter, Total},
};
use talentpool_tests::{Backend, TestApp, db_test};

use crate::helpers::*;

async fn get_json(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn tokens_are_required_and_revocable(app: &TestApp) {
    for path in [
        "/api/v1/candidates",
        "/api/v1/candidates/1",
        "/api/v1/segments",
        "/api/v1/segments/1/candidates",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 401, "{path} without a token");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert!(response.headers().contains_key("www-authenticate"));
        let (status, _) = get_json(app, "tp_not-a-real-token", path).await;
        assert_eq!(status, 401, "{path} with a wrong token");
    }
    let (id, token) = talentpool_core::api_tokens::create(&app.db, "ci", None)
        .await
        .expect("token");
    assert_eq!(get_json(app, &token, "/api/v1/candidates").await.0, 200);
    assert!(
        talentpool_core::api_tokens::revoke(&app.db, id)
            .await
            .expect("revoke")
    );
    assert_eq!(
        get_json(app, &token, "/api/v1/candidates").await.0,
        401,
        "revoked"
    );
    // The database keeps only the hash.
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM api_tokens WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
}
db_test!(tokens_are_required_and_revocable);

async fn one_candidate_with_audit(app: &TestApp) {
    let token = app.api_token().await;
    let mut body = api_body("detail@example.com");
    body["citizenship"] = json!(["US", "PT"]);
    assert_eq!(api_sign_up(app, &body).await.status(), 201);
    let (status, list) = get_json(app, &token, "/api/v1/candidates").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    for key in [
        "id",
        "email",
        "full_name",
        "profession",
        "eu_status",
        "residence_country",
        "confirmed",
    ] {
        assert!(!item[key].is_null(), "{key} in list items");
    }
    assert_eq!(item["eu_status"], "eu_eea");
    assert_eq!(item["confirmed"], false);
    let id = item["id"].as_i64().expect("id");
    let (status, detail) = get_json(app, &token, &format!("/api/v1/candidates/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["email"], "detail@example.com");
    assert_eq!(detail["citizenship"], json!(["PT", "US"]));
    assert_eq!(detail["consents"].as_array().expect("consents").len(), 2);
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'candidate.viewed' AND actor_kind = 'api_token' AND subject_id = {id}"
        ))
        .await,
        1
    );
    assert_eq!(
        get_json(app, &token, "/api/v1/candidates/999999").await.0,
        404
    );
}
db_test!(one_candidate_with_audit);

async fn bad_filters_are_422(app: &TestApp) {
    let token = app.api_token().await;
    for query in [
        "eu_status=maybe",
        "residence_country=XX",
        "confirmed=perhaps",
        "min_experience=ten",
        "english_level=fluent",
        "limit=0",
        "limit=100000",
        "cursor=not-a-cursor",
        "unknown_key=1",
        "profession=12345",
    ] {
        let (status, problem) = get_json(app, &token, &format!("/api/v1/candidates?{query}")).await;
        assert_eq!(status, 422, "{query}");
        assert!(
            !problem["errors"].as_array().expect("errors").is_empty(),
            "{query}"
        );
    }
}
db_test!(bad_filters_are_422);

async fn segments_crud(app: &TestApp) {
    let token = app.api_token().await;
    app.seed(60).await;
    let post = |body: Value| {
        app.client
            .post(app.url("/api/v1/segments"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let response = post(
        json!({"name": "EU developers", "filter": {"eu_status": "eu_eea", "confirmed": true}}),
    )
    .await
    .expect("post");
    assert_eq!(response.status(), 201);
    let segment: Value = response.json().await.expect("json");
    let id = segment["id"].as_i64().expect("id");
    let (_, expected) = get_json(
        app,
        &token,
        "/api/v1/candidates?eu_status=eu_eea&confirmed=true&limit=500",
    )
    .await;
    assert_eq!(segment["count"], expected["total"]);
    assert!(segment["count"].as_u64().expect("count") > 0);

    let (status, list) = get_json(app, &token, "/api/v1/segments").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["name"], "EU developers");
    assert_eq!(list["items"][0]["count"], expected["total"]);
    let (status, members) = get_json(
        app,
        &token,
        &format!("/api/v1/segments/{id}/candidates?limit=500"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(members["items"], expected["items"]);

    // The count is live: a new matching candidate counts at once.
    let mut body = api_body("new-eu@example.com");
    body["citizenship"] = json!(["SE"]);
    assert_eq!(api_sign_up(app, &body).await.status(), 201);
    let link = confirmation_link(app, "new-eu@example.com", 1).await;
    assert_eq!(
        app.client
            .get(&link)
            .send()
            .await
            .expect("confirm")
            .status(),
        200
    );
    let (_, again) = get_json(app, &token, &format!("/api/v1/segments/{id}")).await;
    assert_eq!(
        again["count"].as_u64(),
        expected["total"].as_u64().map(|n| n + 1)
    );

    for bad in [
        json!({"name": "x", "filter": {"nope": 1}}),
        json!({"name": "x", "filter": {"eu_status": "maybe"}}),
        json!({"name": "", "filter": {}}),
        json!({"filter": {}}),
    ] {
        assert_eq!(
            post(bad.clone()).await.expect("post").status(),
            422,
            "{bad}"
        );
    }
    let delete = app
        .client
        .delete(app.url(&format!("/api/v1/segments/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(delete.status(), 204);
    assert_eq!(
        get_json(app, &token, &format!("/api/v1/segments/{id}"))
            .await
            .0,
        404
    );
    assert_eq!(app.scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action IN ('segment.created', 'segment.deleted')").await, 2);
}
db_test!(segments_crud);

/// Every page in turn: each match exactly once, even while new sign-ups arrive.
async fn pagination_returns_each_match_once(app: &TestApp) {
    let token = app.api_token().await;
    app.seed(95).await;
    let (_, first) = get_json(
        app,
        &token,
        "/api/v1/candidates?consent_share=true&limit=500",
    )
    .await;
    let expected: Vec<i64> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/candidates?consent_share=true&limit=9&cursor={c}"),
            None => "/api/v1/candidates?consent_share=true&limit=9".to_owned(),
        };
        let (status, page) = get_json(app, &token, &path).await;
        assert_eq!(status, 200);
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|c| c["id"].as_i64().expect("id")),
        );
        pages += 1;
        // New matching sign-ups arrive between pages.
        for i in 0..2 {
            let email = format!("arrival{pages}x{i}@example.com");
            assert_eq!(api_sign_up(app, &api_body(&email)).await.status(), 201);
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 100, "pagination does not end");
    }
    assert_eq!(
        seen, expected,
        "every match once, in order, none added or lost"
    );
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len());
    let (_, after) = get_json(app, &token, "/api/v1/candidates?consent_share=true&limit=1").await;
    assert_eq!(
        after["total"].as_u64(),
        Some(expected.len() as u64 + 2 * pages),
        "the arrivals match too"
    );
}
db_test!(pagination_returns_each_match_once);

/// Totals are counted up to a cap (1,000 with free text, 10,000 without): above it the
/// API says `total_exact: false`, below it the total is exact; the pool page says "more
/// than". The cap does not limit the pages.
async fn totals_stop_at_their_cap(app: &TestApp) {
    app.seed(1_001).await;
    let mut body = api_body("plain@example.com");
    body["full_name"] = json!("Ada Plain");
    assert_eq!(api_sign_up(app, &body).await.status(), 201);
    let token = app.api_token().await;
    let (status, all) = get_json(app, &token, "/api/v1/candidates?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(all["total"], 1_002);
    assert_eq!(all["total_exact"], true);
    // Every seeded address contains "seed.example": 1,001 matches, above the search cap.
    let (status, seeded) =
        get_json(app, &token, "/api/v1/candidates?q=SEED.example&limit=500").await;
    assert_eq!(status, 200);
    assert_eq!(seeded["total"], 1_000);
    assert_eq!(seeded["total_exact"], false);
    let mut seen = seeded["items"].as_array().expect("items").len();
    let mut cursor = seeded["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let (_, page) = get_json(
            app,
            &token,
            &format!("/api/v1/candidates?q=seed.example&limit=500&cursor={c}"),
        )
        .await;
        seen += page["items"].as_array().expect("items").len();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 1_001, "the pages hold every match");
    let (_, one) = get_json(app, &token, "/api/v1/candidates?q=plain").await;
    assert_eq!(
        (one["total"].as_u64(), one["total_exact"].as_bool()),
        (Some(1), Some(true))
    );
    // Text spanning the address and the name matches neither (PostgreSQL searches a
    // column that joins the two with a line break; such text takes the other way).
    let (_, none) = get_json(
        app,
        &token,
        "/api/v1/candidates?q=plain%40example.com%0Aada",
    )
    .await;
    assert_eq!(none["total"], 0);
    let (_, both) = get_json(app, &token, "/api/v1/candidates?q=ADA%20plain").await;
    assert_eq!(both["total"], 1);
    // The OpenAPI document describes the new field.
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let page = &doc["components"]["schemas"]["CandidatePage"];
    assert_eq!(
        page["properties"]["total_exact"]["type"], "boolean",
        "{page}"
    );
    // In core, any cap: exactly at the cap is still exact.
    let valid = Filter::default().validate(&app.db).await.expect("valid");
    let at = |cap| pool::total(&app.db, &valid, cap);
    assert_eq!(
        at(1_002).await.expect("total"),
        Total {
            count: 1_002,
            exact: true
        }
    );
    assert_eq!(
        at(1_001).await.expect("total"),
        Total {
            count: 1_001,
            exact: false
        }
    );
    assert_eq!(pool::count(&app.db, &valid).await.expect("count"), 1_002);
    // The pool page.
    talentpool_core::staff::create_admin(&app.db, "staff@region.test", "a long enough password")
        .await
        .expect("staff");
    let (_, csrf) = open_form(app, "/admin/login").await;
    let signed_in = app
        .client
        .post(app.url("/admin/login"))
        .form(&[
            ("email", "staff@region.test"),
            ("password", "a long enough password"),
            ("next", "/admin"),
            ("authenticity_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("POST login");
    assert_eq!(signed_in.status(), 303);
    let html = app
        .client
        .get(app.url("/admin?q=seed.example"))
        .send()
        .await
        .expect("GET /admin")
        .text()
        .await
        .expect("body");
    assert_eq!(select_all(&html, "#match-count"), ["1000"]);
    assert!(html.contains("More than <strong id=\"match-count\">1000</strong> candidates match"));
}
db_test!(totals_stop_at_their_cap);

/// The bulk seed: every candidate has its sign-up, citizenship and consents, ids follow
/// the ones already taken, and a later sign-up still gets a fresh id.
async fn seed_writes_whole_candidates(app: &TestApp) {
    assert_eq!(
        api_sign_up(app, &api_body("before@example.com"))
            .await
            .status(),
        201
    );
    app.seed(25).await;
    app.seed(15).await;
    assert_eq!(
        api_sign_up(app, &api_body("after@example.com"))
            .await
            .status(),
        201
    );
    assert_eq!(app.count("candidates").await, 42);
    assert_eq!(
        app.scalar("SELECT CAST(COUNT(DISTINCT id) AS BIGINT) FROM candidates")
            .await,
        42
    );
    let seeded = "FROM candidates WHERE email LIKE '%@seed.example'";
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) {seeded} AND confirmed_at IS NOT NULL"
        ))
        .await,
        40
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) {seeded} AND id NOT IN (SELECT candidate_id FROM signups)"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) {seeded} AND id NOT IN (SELECT candidate_id FROM candidate_citizenships)"
        ))
        .await,
        0
    );
    // One consent row per consent flag that is set.
    for (kind, flag) in [
        ("pool", "consent_pool"),
        ("share", "consent_share"),
        ("newsletter", "consent_newsletter"),
    ] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM consents WHERE kind = '{kind}' AND candidate_id IN (SELECT id {seeded})"
            ))
            .await,
            app.scalar(&format!("SELECT CAST(COUNT(*) AS BIGINT) {seeded} AND {flag} = TRUE")).await,
            "{kind}"
        );
    }
    let after = app
        .scalar("SELECT id FROM candidates WHERE email = 'after@example.com'")
        .await;
    let highest = app.scalar("SELECT MAX(id) FROM candidates").await;
    assert_eq!(after, highest, "a sign-up after the seed gets a fresh id");
    // The seeded candidates are found through the pool like any other.
    let token = app.api_token().await;
    let (_, list) = get_json(
        app,
        &token,
        "/api/v1/candidates?q=seed.example&campaign=software-developers&confirmed=true",
    )
    .await;
    assert_eq!(list["total"], 40);
}
db_test!(seed_writes_whole_candidates);

fn filter_strategy() -> impl Strategy<Value = Filter> {
    let opt_str = |values: &'static [&'static str]| {
        proptest::option::weighted(
            0.35,
            proptest::sample::select(values).prop_map(str::to_owned),
        )
    };
    let opt_bool = || proptest::option::weighted(0.3, any::<bool>());
    (
        (
            opt_str(&["software-developers", "no-such-campaign"]),
            opt_str(&["2", "25", "251", "2512", "3", "7", "9"]),
            proptest::option::weighted(
                0.4,
                prop_oneof![
                    Just(talentpool_core::domain::EuStatus::EuEea),
                    Just(talentpool_core::domain::EuStatus::NonEu)
                ],
            ),
            opt_str(&["PL", "IN", "NO", "DE", "BR"]),
            opt_str(&["PL", "IN", "PT", "US", "SE"]),
            proptest::option::weighted(0.3, 0i16..25),
        ),
        (
            opt_str(&["A1", "B2", "C1", "none"]),
            opt_str(&["A1", "B1", "none"]),
            opt_bool(),
            opt_bool(),
            opt_bool(),
            opt_bool(),
            opt_str(&["kow", "SILVA", "seed.example", "an", "%", "_"]),
            proptest::option::weighted(0.2, 0i64..400),
        ),
    )
        .prop_map(
            |(
                (campaign, profession, eu_status, residence_country, citizenship, min_experience),
                (
                    english_level,
                    norwegian_level,
                    has_partner,
                    confirmed,
                    consent_share,
                    consent_newsletter,
                    q,
                    days,
                ),
            )| {
                let today = chrono::Utc::now().date_naive();
                Filter {
                    campaign,
                    profession,
                    eu_status,
                    residence_country,
                    citizenship,
                    min_experience,
                    english_level,
                    norwegian_level,
                    has_partner,
                    confirmed,
                    consent_share,
                    consent_newsletter,
                    signed_up_from: days.map(|d| today - chrono::Duration::days(d)),
                    signed_up_to: days.map(|d| today - chrono::Duration::days(d / 3)),
                    q,
                }
            },
        )
}

fn query_string(filter: &Filter) -> String {
    let value = serde_json::to_value(filter).expect("filter json");
    let pairs: Vec<(String, String)> = value
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    serde_urlencoded::to_string(pairs).expect("query")
}

/// For random filters, the API returns exactly what the same filter selects in plain
/// Rust from the whole pool, in order, across pages.
fn filters_match_plain_rust(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (app, token) = rt.block_on(async {
        let app = TestApp::spawn(backend).await;
        app.seed(240).await;
        // Some unconfirmed ones from the public API too.
        for i in 0..6 {
            let mut body = api_body(&format!("kowalska{i}@example.com"));
            let country = ["PL", "IN", "US"][i % 3];
            body["citizenship"] = json!([country]);
            assert_eq!(api_sign_up(&app, &body).await.status(), 201);
        }
        let token = app.api_token().await;
        (app, token)
    });
    let (pool, citizenships, campaigns) = rt.block_on(async {
        let pool = candidate::Entity::find()
            .all(&app.db)
            .await
            .expect("candidates");
        let mut citizenships: HashMap<i64, Vec<String>> = HashMap::new();
        for c in citizenship::Entity::find()
            .all(&app.db)
            .await
            .expect("citizenships")
        {
            citizenships
                .entry(c.candidate_id)
                .or_default()
                .push(c.country);
        }
        let mut campaigns: HashMap<i64, Vec<i64>> = HashMap::new();
        for s in signup::Entity::find().all(&app.db).await.expect("signups") {
            campaigns
                .entry(s.candidate_id)
                .or_default()
                .push(s.campaign_id);
        }
        (pool, citizenships, campaigns)
    });
    let mut runner = TestRunner::new(proptest::test_runner::Config {
        cases: 40,
        ..Default::default()
    });
    let result = runner.run(&filter_strategy(), |filter| {
        rt.block_on(async {
            let valid = filter
                .validate(&app.db)
                .await
                .expect("generated filters are valid");
            let mut expected: Vec<&candidate::Model> = pool
                .iter()
                .filter(|c| {
                    valid.matches(
                        c,
                        citizenships.get(&c.id).map_or(&[][..], Vec::as_slice),
                        campaigns.get(&c.id).map_or(&[][..], Vec::as_slice),
                    )
                })
                .collect();
            expected.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
            let expected: Vec<i64> = expected.iter().map(|c| c.id).collect();
            let query = query_string(&filter);
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/api/v1/candidates?{query}&limit=37");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let (status, page) = get_json(&app, &token, &path).await;
                prop_assert_eq!(status, 200, "{} {}", path, page);
                prop_assert_eq!(
                    page["total"].as_u64(),
                    Some(expected.len() as u64),
                    "total for {}",
                    query
                );
                seen.extend(
                    page["items"]
                        .as_array()
                        .expect("items")
                        .iter()
                        .map(|c| c["id"].as_i64().expect("id")),
                );
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
            prop_assert_eq!(&seen, &expected, "items for {}", query);
            Ok(())
        })
    });
    rt.block_on(app.teardown());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn filters_match_plain_rust_sqlite() {
    filters_match_plain_rust(Backend::Sqlite);
}

#[test]
fn filters_match_plain_rust_postgres() {
    filters_match_plain_rust(Backend::Postgres);
}
