//! What is left of an erased candidate: anonymous counts only (when, how, which
//! campaigns they came through, how many companies they had been forwarded to).

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all, index};

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
        create_all(
            manager,
            vec![erasures],
            vec![index("erasures", &["erased_at"])],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["erasures"]).await
    }
}
