//! The first published version of the consent texts shown on the sign-up form. A new
//! version is a new row; candidates' consents point at the exact row they agreed to.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TEXTS: [(&str, &str); 3] = [
    (
        "pool",
        "I agree that the regional talent attraction secretariat stores my profile in its talent pool to match me with jobs in the region. I can change or delete my profile at any time.",
    ),
    (
        "share",
        "Share my profile, including my CV, with participating companies that are recruiting for jobs that match it.",
    ),
    (
        "newsletter",
        "Send me newsletters about jobs, events and life in the region. I can unsubscribe at any time.",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut insert = Query::insert();
        insert.into_table("consent_texts").columns([
            "kind",
            "version",
            "language",
            "body",
            "published_at",
        ]);
        for (kind, body) in TEXTS {
            insert.values_panic([
                kind.into(),
                1.into(),
                "en".into(),
                body.into(),
                Expr::current_timestamp(),
            ]);
        }
        manager.exec_stmt(insert.take()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("consent_texts")
                    .and_where(Expr::col("version").eq(1))
                    .take(),
            )
            .await
    }
}
