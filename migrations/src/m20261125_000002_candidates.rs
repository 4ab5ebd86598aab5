//! The talent pool: candidates (one per normalised email), their citizenships, every
//! campaign sign-up with its source, the consents they gave and the single-use tokens
//! that email links carry.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "candidates",
    "candidate_citizenships",
    "signups",
    "consents",
    "tokens",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let candidates = Table::create()
            .table("candidates")
            .col(big_pk_auto("id"))
            .col(string_uniq("email"))
            .col(string_len("full_name", 200))
            .col(string_len("residence_country", 2))
            .col(string_len("profession_code", 4))
            .col(small_integer("years_experience"))
            .col(string_len("english_level", 4))
            .col(string_len("norwegian_level", 4))
            .col(string_len_null("linkedin_url", 300))
            .col(string_len_null("phone", 16))
            .col(string_len_null("education_level", 20))
            .col(boolean("work_permit_norway").default(false))
            .col(boolean("has_partner").default(false))
            .col(string_len_null("partner_profession", 200))
            .col(string_null("cv_key"))
            .col(string_len("eu_status", 8))
            .col(boolean("consent_pool").default(false))
            .col(boolean("consent_share").default(false))
            .col(boolean("consent_newsletter").default(false))
            .col(timestamp_with_time_zone_null("confirmed_at"))
            .col(timestamp_with_time_zone_null("suppressed_at"))
            .col(timestamp_with_time_zone("last_active_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take();
        let citizenships = Table::create()
            .table("candidate_citizenships")
            .col(big_integer("candidate_id"))
            .col(string_len("country", 2))
            .primary_key(Index::create().col("candidate_id").col("country"))
            .foreign_key(&mut fk(
                "candidate_citizenships",
                "candidate_id",
                "candidates",
                ForeignKeyAction::Cascade,
            ))
            .take();
        let signups = Table::create()
            .table("signups")
            .col(big_pk_auto("id"))
            .col(big_integer("campaign_id"))
            .col(big_integer("candidate_id"))
            // `new` created the candidate; `repeat` came for a known address and keeps
            // its answers in `pending_answers` until the owner confirms them.
            .col(string_len("kind", 8))
            .col(json_null("pending_answers"))
            .col(timestamp_with_time_zone_null("applied_at"))
            .col(string_len("source", 8))
            .col(string_len_null("utm_source", 200))
            .col(string_len_null("utm_medium", 200))
            .col(string_len_null("utm_campaign", 200))
            .col(string_len_null("utm_term", 200))
            .col(string_len_null("utm_content", 200))
            .col(string_len_null("referrer", 500))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut fk(
                "signups",
                "campaign_id",
                "campaigns",
                ForeignKeyAction::Restrict,
            ))
            .foreign_key(&mut fk(
                "signups",
                "candidate_id",
                "candidates",
                ForeignKeyAction::Cascade,
            ))
            .take();
        let consents = Table::create()
            .table("consents")
            .col(big_pk_auto("id"))
            .col(big_integer("candidate_id"))
            .col(string_len("kind", 16))
            .col(big_integer("consent_text_id"))
            .col(timestamp_with_time_zone("granted_at"))
            .col(string_len("granted_source", 16))
            .col(timestamp_with_time_zone_null("withdrawn_at"))
            .col(string_len_null("withdrawn_source", 16))
            .foreign_key(&mut fk(
                "consents",
                "candidate_id",
                "candidates",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "consents",
                "consent_text_id",
                "consent_texts",
                ForeignKeyAction::Restrict,
            ))
            .take();
        let tokens = Table::create()
            .table("tokens")
            .col(big_pk_auto("id"))
            .col(string_len_uniq("token_hash", 64))
            .col(string_len("purpose", 16))
            .col(big_integer_null("candidate_id"))
            .col(big_integer_null("subject_id"))
            .col(timestamp_with_time_zone("expires_at"))
            .col(timestamp_with_time_zone_null("used_at"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut fk(
                "tokens",
                "candidate_id",
                "candidates",
                ForeignKeyAction::Cascade,
            ))
            .take();
        create_all(
            manager,
            vec![candidates, citizenships, signups, consents, tokens],
            vec![
                index("candidates", &["created_at", "id"]),
                index("candidates", &["profession_code", "created_at"]),
                index("candidates", &["eu_status", "created_at"]),
                index("candidates", &["residence_country", "created_at"]),
                index("candidates", &["confirmed_at"]),
                index("candidates", &["last_active_at"]),
                index("candidate_citizenships", &["country"]),
                index("signups", &["campaign_id", "created_at"]),
                index("signups", &["candidate_id"]),
                index("consents", &["candidate_id", "kind"]),
                index("tokens", &["candidate_id", "purpose"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, TABLES).await
    }
}
