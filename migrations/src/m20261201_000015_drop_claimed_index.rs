//! Drops the partial index of claimed deliveries (migration 000014). Every sent row
//! leaves a dead entry in it until the table is vacuumed, and the planner, expecting few
//! rows in a partial index, combined it with the primary key when outcomes were
//! recorded (`id = ANY(…) AND status = 'sending'`): each batch of outcomes read every
//! dead entry, so sending slowed as the newsletter went on (1,400 messages/s instead of
//! 2,800 at 100,000 on a server without autovacuum). Expired leases are found through
//! the (newsletter, status, id) index, whose equality prefix gives the id order.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_deliveries_claimed")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_deliveries_claimed ON deliveries (newsletter_id, id) \
                 WHERE status = 'sending'",
            )
            .await?;
        Ok(())
    }
}
