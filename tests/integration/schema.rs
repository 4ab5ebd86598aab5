//! The schema as migrated: the tables of the app and of the job queue (apalis) carry no
//! index twice. Every row written pays for each of a table's indexes, and a job is
//! written for every sign-up.

use sea_orm::{ConnectionTrait, Statement};
use talentpool_tests::{Backend, TestApp, db_test};

/// Each index as `table: key [WHERE predicate]`, named, for the backend's catalogue.
async fn indexes(app: &TestApp) -> Vec<(String, String)> {
    let rows = |sql: &str| {
        let db = app.db.clone();
        let sql = sql.to_owned();
        async move {
            db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect("catalogue query")
        }
    };
    let mut found = Vec::new();
    match app.backend {
        Backend::Postgres => {
            for row in rows(
                "SELECT i.indexrelid::regclass::text AS name, \
                   i.indrelid::regclass::text || ': ' || i.indkey::text || ' ' || i.indclass::text \
                   || ' ' || COALESCE(pg_get_expr(i.indexprs, i.indrelid), '') \
                   || ' WHERE ' || COALESCE(pg_get_expr(i.indpred, i.indrelid), '') AS key \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname IN ('public', 'apalis')",
            )
            .await
            {
                found.push((
                    row.try_get::<String>("", "name").expect("name"),
                    row.try_get::<String>("", "key").expect("key"),
                ));
            }
        }
        Backend::Sqlite => {
            let tables = rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .await;
            // Only a partial index's predicate tells two equal keys apart.
            let predicates: std::collections::HashMap<String, String> = rows(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
            )
            .await
            .iter()
            .map(|row| {
                let name: String = row.try_get("", "name").expect("index name");
                let sql: String = row.try_get("", "sql").expect("index sql");
                let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                let predicate = sql
                    .to_lowercase()
                    .split_once(" where ")
                    .map(|(_, predicate)| predicate.to_owned())
                    .unwrap_or_default();
                (name, predicate)
            })
            .collect();
            for table in tables {
                let table: String = table.try_get("", "name").expect("table");
                for index in rows(&format!("PRAGMA index_list('{table}')")).await {
                    let name: String = index.try_get("", "name").expect("index name");
                    let mut key = Vec::new();
                    for column in rows(&format!("PRAGMA index_xinfo('{name}')")).await {
                        let is_key: i64 = column.try_get("", "key").expect("key flag");
                        if is_key == 1 {
                            let column_name: Option<String> =
                                column.try_get("", "name").expect("column");
                            let desc: i64 = column.try_get("", "desc").expect("order");
                            key.push(format!("{column_name:?} {desc}"));
                        }
                    }
                    let predicate = predicates.get(&name).cloned().unwrap_or_default();
                    found.push((
                        name,
                        format!("{table}: {} WHERE {predicate}", key.join(", ")),
                    ));
                }
            }
        }
    }
    found
}

async fn no_table_carries_an_index_twice(app: &TestApp) {
    let found = indexes(app).await;
    assert!(
        found.iter().any(|(_, key)| key.starts_with("candidates: ")),
        "the catalogue query sees the app's indexes: {found:?}"
    );
    let mut by_key: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (name, key) in &found {
        by_key.entry(key).or_default().push(name);
    }
    // apalis's foreign key from `jobs.lock_by` depends on its first unique index of the
    // workers (a row per worker process), which the primary key added later duplicates.
    let backs_a_foreign_key = |names: &Vec<&str>| {
        let mut names = names.clone();
        names.sort_unstable();
        names == ["apalis.unique_worker_id", "apalis.workers_pkey"]
    };
    let twice: Vec<_> = by_key
        .iter()
        .filter(|(_, names)| names.len() > 1 && !backs_a_foreign_key(names))
        .collect();
    assert!(twice.is_empty(), "indexes over the same key: {twice:?}");
}
db_test!(no_table_carries_an_index_twice);

/// Migration 000016: the trigram index merges its pending list at 512 kB, not 4 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_index_merges_a_short_pending_list() {
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(
        app.scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_class \
             WHERE relname = 'idx_candidates_search_text_trgm' \
             AND 'gin_pending_list_limit=512' = ANY(reloptions)"
        )
        .await,
        1
    );
    app.teardown().await;
}
