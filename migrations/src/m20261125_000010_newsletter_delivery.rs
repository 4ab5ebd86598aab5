//! Newsletter delivery: the frozen recipient count and the moment the ledger was
//! complete, the sign-up campaign a newsletter may name, and on each delivery the lease
//! of the worker that claimed it, its Message-ID and whether it led to an unsubscribe.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn add(table: &'static str, column: ColumnDef) -> TableAlterStatement {
    // One column per statement: SQLite alters one column at a time.
    Table::alter().table(table).add_column(column).take()
}

fn drop(table: &'static str, column: &'static str) -> TableAlterStatement {
    Table::alter().table(table).drop_column(column).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for alter in [
            add("newsletters", integer("recipients").default(0).take()),
            add(
                "newsletters",
                timestamp_with_time_zone_null("frozen_at").take(),
            ),
            add(
                "deliveries",
                timestamp_with_time_zone_null("lease_until").take(),
            ),
            add("deliveries", string_len_null("claimed_by", 64).take()),
            add("deliveries", string_null("message_id").take()),
            add(
                "deliveries",
                timestamp_with_time_zone_null("unsubscribed_at").take(),
            ),
        ] {
            manager.alter_table(alter).await?;
        }
        manager
            .create_index(index("deliveries", &["candidate_id", "status"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_deliveries_candidate_id_status")
                    .table("deliveries")
                    .to_owned(),
            )
            .await?;
        for alter in [
            drop("deliveries", "unsubscribed_at"),
            drop("deliveries", "message_id"),
            drop("deliveries", "claimed_by"),
            drop("deliveries", "lease_until"),
            drop("newsletters", "frozen_at"),
            drop("newsletters", "recipients"),
        ] {
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}
