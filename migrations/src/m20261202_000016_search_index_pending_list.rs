//! PostgreSQL: a shorter pending list for the trigram index of candidates' names and
//! addresses (migration 000008). A GIN index with `fastupdate` collects new entries in a
//! pending list and merges them into the index when the list outgrows
//! `gin_pending_list_limit` (4 MB by default), inside the statement that tipped it over.
//! With group-committed sign-ups that statement is a batch of a few dozen sign-ups, and
//! every sign-up waiting behind it: under load a 4 MB merge took 30–120 ms about once a
//! second, enough to put the 99th percentile of sign-up latency over 50 ms. At 512 kB
//! the merges are eight times as frequent and as many times shorter; the work is the same
//! (see `bench/README.md`). `fastupdate = off` measured half the sign-up rate.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_candidates_search_text_trgm";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter_index(manager, "SET (gin_pending_list_limit = 512)").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        alter_index(manager, "RESET (gin_pending_list_limit)").await
    }
}

/// `ALTER INDEX … change` on PostgreSQL; SQLite has no trigram index.
async fn alter_index(manager: &SchemaManager<'_>, change: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::Postgres {
        manager
            .get_connection()
            .execute_unprepared(&format!("ALTER INDEX {INDEX} {change}"))
            .await?;
    }
    Ok(())
}
