//! Professions (ISCO-08 hierarchy), campaigns and the consent texts candidates agree to.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all, fk, index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "professions",
    "campaigns",
    "campaign_professions",
    "consent_texts",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let professions = Table::create()
            .table("professions")
            .col(string_len("code", 4).primary_key())
            .col(small_integer("level"))
            .col(string("title"))
            .col(string_null("custom_title"))
            .col(string_len_null("parent_code", 4))
            .col(boolean("hidden").default(false))
            .take();
        let campaigns = Table::create()
            .table("campaigns")
            .col(big_pk_auto("id"))
            .col(string_uniq("slug"))
            .col(string("title"))
            .col(text("summary"))
            .col(text("body_markdown"))
            .col(string_len("language", 8).default("en"))
            .col(string_len("status", 16).default("draft"))
            .col(timestamp_with_time_zone_null("opens_at"))
            .col(timestamp_with_time_zone_null("closes_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take();
        let campaign_professions = Table::create()
            .table("campaign_professions")
            .col(big_integer("campaign_id"))
            .col(string_len("profession_code", 4))
            .primary_key(Index::create().col("campaign_id").col("profession_code"))
            .foreign_key(&mut fk(
                "campaign_professions",
                "campaign_id",
                "campaigns",
                ForeignKeyAction::Cascade,
            ))
            .take();
        let consent_texts = Table::create()
            .table("consent_texts")
            .col(big_pk_auto("id"))
            .col(string_len("kind", 16))
            .col(integer("version"))
            .col(string_len("language", 8))
            .col(text("body"))
            .col(timestamp_with_time_zone("published_at"))
            .take();
        create_all(
            manager,
            vec![professions, campaigns, campaign_professions, consent_texts],
            vec![
                index("professions", &["parent_code"]),
                index("campaigns", &["status"]),
                unique("consent_texts", &["kind", "version", "language"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, TABLES).await
    }
}
