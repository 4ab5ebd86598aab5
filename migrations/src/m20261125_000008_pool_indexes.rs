//! Indexes for the pool's filters at a million candidates (see `bench/README-pool.md`):
//! the campaign filter probes sign-ups by (campaign, candidate); residence country with
//! minimum experience is answered from one index; on PostgreSQL, free text on name and
//! email is matched against one stored, lowered column with a trigram index (`pg_trgm`),
//! instead of lowering two columns of every row scanned (`pool::ValidFilter::condition_for`).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index("signups", &["campaign_id", "candidate_id"]))
            .await?;
        manager
            .create_index(index(
                "candidates",
                &["residence_country", "years_experience"],
            ))
            .await?;
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            // A trusted extension since PostgreSQL 13: the database owner may create it.
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .await?;
            db.execute_unprepared(
                "ALTER TABLE candidates ADD COLUMN search_text text GENERATED ALWAYS AS \
                 (lower(email) || E'\\n' || lower(full_name)) STORED",
            )
            .await?;
            db.execute_unprepared(
                "CREATE INDEX idx_candidates_search_text_trgm ON candidates \
                 USING gin (search_text gin_trgm_ops)",
            )
            .await?;
        }
        // Statistics for the new indexes and column (the planner's estimate of
        // `search_text LIKE '%…%'` comes from them) — but only for a pool that has
        // candidates. Statistics taken of empty tables tell the planner they are empty:
        // PostgreSQL then plans the foreign-key checks of every sign-up as sequential
        // scans of `candidates`, keeps those plans for the life of each connection, and
        // with autovacuum off (or late) sign-ups slow down as the pool grows.
        let has_candidates = db
            .query_one_raw(sea_orm::Statement::from_string(
                manager.get_database_backend(),
                "SELECT 1 FROM candidates LIMIT 1",
            ))
            .await?
            .is_some();
        if has_candidates {
            db.execute_unprepared("ANALYZE").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE candidates DROP COLUMN IF EXISTS search_text")
                .await?;
        }
        for (table, name) in [
            (
                "candidates",
                "idx_candidates_residence_country_years_experience",
            ),
            ("signups", "idx_signups_campaign_id_candidate_id"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
