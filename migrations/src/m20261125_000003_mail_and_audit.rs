//! Every email the system sends is logged; in development, mail goes to an outbox table
//! instead of SMTP. The audit log records who did what to candidate data.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{create_all, drop_all, fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &[&str] = &["email_log", "outbox_messages", "audit_log"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let email_log = Table::create()
            .table("email_log")
            .col(big_pk_auto("id"))
            .col(big_integer_null("candidate_id"))
            .col(string("recipient"))
            .col(string_len("template", 40))
            .col(string("subject"))
            .col(string("message_id"))
            .col(string_len("status", 16))
            .col(text_null("error"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut fk(
                "email_log",
                "candidate_id",
                "candidates",
                ForeignKeyAction::SetNull,
            ))
            .take();
        let outbox = Table::create()
            .table("outbox_messages")
            .col(big_pk_auto("id"))
            .col(string("recipient"))
            .col(string("subject"))
            .col(text("raw"))
            .col(timestamp_with_time_zone("created_at"))
            .take();
        let audit = Table::create()
            .table("audit_log")
            .col(big_pk_auto("id"))
            .col(string_len("actor_kind", 16))
            .col(big_integer_null("actor_id"))
            .col(string_len("action", 40))
            .col(string_len("subject_kind", 16))
            .col(big_integer_null("subject_id"))
            .col(json_null("details"))
            .col(timestamp_with_time_zone("created_at"))
            .take();
        create_all(
            manager,
            vec![email_log, outbox, audit],
            vec![
                index("email_log", &["candidate_id", "created_at"]),
                index("email_log", &["recipient", "template", "created_at"]),
                index("audit_log", &["subject_kind", "subject_id"]),
                index("audit_log", &["created_at"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, TABLES).await
    }
}
