//! Indexes for the pool's filters at a million candidates (see `bench/README-pool.md`):
//! the campaign filter probes sign-ups by (campaign, candidate); residence country with
//! minimum experience is answered from one index; on PostgreSQL, free text on name and
//! email uses trigram indexes (`pg_trgm`) for `lower(x) LIKE '%…%'`.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TRIGRAM_INDEXES: [(&str, &str); 2] = [
    ("idx_candidates_email_trgm", "email"),
    ("idx_candidates_full_name_trgm", "full_name"),
];

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
            for (name, column) in TRIGRAM_INDEXES {
                db.execute_unprepared(&format!(
                    "CREATE INDEX {name} ON candidates USING gin (lower({column}) gin_trgm_ops)"
                ))
                .await?;
            }
        }
        // Statistics for the new indexes (PostgreSQL also gathers them for the indexed
        // expressions, which the planner needs to estimate `LIKE '%…%'`).
        db.execute_unprepared("ANALYZE").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for (name, _) in TRIGRAM_INDEXES {
                manager
                    .get_connection()
                    .execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                    .await?;
            }
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
