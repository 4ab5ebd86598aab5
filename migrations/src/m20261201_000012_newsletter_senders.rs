//! The newsletter senders alive: each worker process records itself every second, so
//! that `SEND_RATE_PER_SEC` is shared among the processes sending at that moment.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let senders = Table::create()
            .table("newsletter_senders")
            .col(string_len("worker", 80).primary_key())
            .col(timestamp_with_time_zone("seen_at"))
            .take();
        create_all(manager, vec![senders], vec![]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["newsletter_senders"]).await
    }
}
