//! What is left of an erased candidate: anonymous counts only (when, how, which
//! campaigns they came through, how many companies they had been forwarded to); and
//! the "still interested?" reminders that retention sends to inactive candidates.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let erasures = Table::create()
            .table("erasures")
            .col(big_pk_auto("id"))
            // self_service, staff, api or retention.
            .col(string_len("source", 16))
            .col(json("campaign_ids"))
            .col(integer("forwarded_to_companies").default(0))
            .col(boolean("was_confirmed").default(false))
            .col(timestamp_with_time_zone("erased_at"))
            .take();
        // One row per candidate asked; removed again when they answer or become active.
        let reminders = Table::create()
            .table("retention_reminders")
            .col(big_integer("candidate_id").primary_key())
            .col(timestamp_with_time_zone("reminded_at"))
            .foreign_key(&mut fk(
                "retention_reminders",
                "candidate_id",
                "candidates",
                ForeignKeyAction::Cascade,
            ))
            .take();
        create_all(
            manager,
            vec![erasures, reminders],
            vec![
                index("erasures", &["erased_at"]),
                index("retention_reminders", &["reminded_at"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["erasures", "retention_reminders"]).await
    }
}
