//! Secretariat accounts, API tokens, server-side sessions, participating companies and
//! their recruiters.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "staff_users",
    "api_tokens",
    "sessions",
    "companies",
    "company_campaigns",
    "company_users",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let staff = Table::create()
            .table("staff_users")
            .col(big_pk_auto("id"))
            .col(string_uniq("email"))
            .col(string("name"))
            .col(string("password_hash"))
            .col(string_len("role", 16).default("admin"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("last_login_at"))
            .col(timestamp_with_time_zone_null("disabled_at"))
            .take();
        let api_tokens = Table::create()
            .table("api_tokens")
            .col(big_pk_auto("id"))
            .col(string("name"))
            .col(string_len_uniq("token_hash", 64))
            .col(big_integer_null("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("last_used_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .take();
        let sessions = Table::create()
            .table("sessions")
            .col(string_len("id", 64).primary_key())
            .col(text("data"))
            .col(timestamp_with_time_zone("expires_at"))
            .take();
        let companies = Table::create()
            .table("companies")
            .col(big_pk_auto("id"))
            .col(string("name"))
            .col(string_len_uniq("org_number", 9))
            .col(string_null("website"))
            .col(string_null("contact_name"))
            .col(string_null("contact_email"))
            .col(timestamp_with_time_zone_null("archived_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take();
        let company_campaigns = Table::create()
            .table("company_campaigns")
            .col(big_integer("company_id"))
            .col(big_integer("campaign_id"))
            .primary_key(Index::create().col("company_id").col("campaign_id"))
            .foreign_key(&mut fk(
                "company_campaigns",
                "company_id",
                "companies",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "company_campaigns",
                "campaign_id",
                "campaigns",
                ForeignKeyAction::Cascade,
            ))
            .take();
        let company_users = Table::create()
            .table("company_users")
            .col(big_pk_auto("id"))
            .col(big_integer("company_id"))
            .col(string_uniq("email"))
            .col(string("name"))
            .col(string_null("password_hash"))
            .col(timestamp_with_time_zone_null("terms_accepted_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("last_login_at"))
            .col(timestamp_with_time_zone_null("disabled_at"))
            .foreign_key(&mut fk(
                "company_users",
                "company_id",
                "companies",
                ForeignKeyAction::Cascade,
            ))
            .take();
        create_all(
            manager,
            vec![
                staff,
                api_tokens,
                sessions,
                companies,
                company_campaigns,
                company_users,
            ],
            vec![
                index("sessions", &["expires_at"]),
                index("company_users", &["company_id"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, TABLES).await
    }
}
