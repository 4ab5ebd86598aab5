//! The company portal: which version of the terms of use a recruiter accepted, and the
//! indexes that the portal's company-scoped queries and the forward records use.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("company_users")
                    .add_column(string_len_null("terms_version", 16))
                    .take(),
            )
            .await?;
        for stmt in [
            index("company_candidates", &["company_id", "id"]),
            index("company_candidates", &["forward_id"]),
            index("forwards", &["company_id", "created_at"]),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in [
            ("company_candidates", "idx_company_candidates_company_id_id"),
            ("company_candidates", "idx_company_candidates_forward_id"),
            ("forwards", "idx_forwards_company_id_created_at"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("company_users")
                    .drop_column("terms_version")
                    .take(),
            )
            .await
    }
}
