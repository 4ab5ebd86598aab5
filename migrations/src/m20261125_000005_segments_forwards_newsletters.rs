//! Saved segments, forwards of candidates to companies (with the company's status and
//! notes per candidate), newsletters with their per-recipient delivery ledger, and
//! suppressed addresses.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all, fk, index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &[
    "segments",
    "forwards",
    "company_candidates",
    "company_candidate_events",
    "newsletters",
    "deliveries",
    "suppressions",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let segments = Table::create()
            .table("segments")
            .col(big_pk_auto("id"))
            .col(string("name"))
            .col(json("filter"))
            .col(big_integer_null("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .take();
        let forwards = Table::create()
            .table("forwards")
            .col(big_pk_auto("id"))
            .col(big_integer("company_id"))
            .col(big_integer_null("segment_id"))
            .col(string_len("actor_kind", 16))
            .col(big_integer_null("actor_id"))
            .col(integer("candidate_count"))
            .col(timestamp_with_time_zone_null("expires_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut fk(
                "forwards",
                "company_id",
                "companies",
                ForeignKeyAction::Cascade,
            ))
            .take();
        // One row per (company, candidate): forwarding again changes nothing.
        let company_candidates = Table::create()
            .table("company_candidates")
            .col(big_pk_auto("id"))
            .col(big_integer("company_id"))
            .col(big_integer_null("candidate_id"))
            .col(big_integer("forward_id"))
            .col(string_len("status", 16).default("new"))
            .col(timestamp_with_time_zone_null("withdrawn_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk(
                "company_candidates",
                "company_id",
                "companies",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "company_candidates",
                "candidate_id",
                "candidates",
                ForeignKeyAction::SetNull,
            ))
            .foreign_key(&mut fk(
                "company_candidates",
                "forward_id",
                "forwards",
                ForeignKeyAction::Cascade,
            ))
            .take();
        // Status changes, notes and profile views of a company on one candidate.
        let events = Table::create()
            .table("company_candidate_events")
            .col(big_pk_auto("id"))
            .col(big_integer("company_candidate_id"))
            .col(string_len("kind", 16))
            .col(string_len_null("status", 16))
            .col(text_null("body"))
            .col(string_len("actor_kind", 16))
            .col(big_integer_null("actor_id"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut fk(
                "company_candidate_events",
                "company_candidate_id",
                "company_candidates",
                ForeignKeyAction::Cascade,
            ))
            .take();
        let newsletters = Table::create()
            .table("newsletters")
            .col(big_pk_auto("id"))
            .col(string("subject"))
            .col(text("body_markdown"))
            .col(big_integer_null("segment_id"))
            .col(string_len("status", 16).default("draft"))
            .col(text_null("status_reason"))
            .col(timestamp_with_time_zone_null("send_at"))
            .col(big_integer_null("created_by"))
            .col(timestamp_with_time_zone_null("started_at"))
            .col(timestamp_with_time_zone_null("finished_at"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut fk(
                "newsletters",
                "segment_id",
                "segments",
                ForeignKeyAction::SetNull,
            ))
            .take();
        let deliveries = Table::create()
            .table("deliveries")
            .col(big_pk_auto("id"))
            .col(big_integer("newsletter_id"))
            .col(big_integer_null("candidate_id"))
            .col(string_null("recipient"))
            .col(string_len("status", 16).default("queued"))
            .col(integer("attempts").default(0))
            .col(text_null("last_error"))
            .col(timestamp_with_time_zone_null("next_attempt_at"))
            .col(timestamp_with_time_zone_null("sent_at"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut fk(
                "deliveries",
                "newsletter_id",
                "newsletters",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "deliveries",
                "candidate_id",
                "candidates",
                ForeignKeyAction::SetNull,
            ))
            .take();
        let suppressions = Table::create()
            .table("suppressions")
            .col(big_pk_auto("id"))
            .col(string_uniq("email"))
            .col(text("reason"))
            .col(timestamp_with_time_zone("created_at"))
            .take();
        create_all(
            manager,
            vec![
                segments,
                forwards,
                company_candidates,
                events,
                newsletters,
                deliveries,
                suppressions,
            ],
            vec![
                unique("company_candidates", &["company_id", "candidate_id"]),
                index("company_candidates", &["candidate_id"]),
                index(
                    "company_candidate_events",
                    &["company_candidate_id", "created_at"],
                ),
                unique("deliveries", &["newsletter_id", "candidate_id"]),
                index("deliveries", &["newsletter_id", "status", "id"]),
                index("newsletters", &["status", "send_at"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, TABLES).await
    }
}
