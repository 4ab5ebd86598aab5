//! A newsletter's counts kept on its row (sent, failed, skipped, unsubscribes), updated
//! with every outcome recorded, so that live progress and the archive read one row
//! instead of counting a ledger of up to a million deliveries on every refresh.
//! Existing newsletters are counted once here.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COUNTS: [(&str, &str); 4] = [
    ("sent_count", "status = 'sent'"),
    ("failed_count", "status = 'failed'"),
    ("skipped_count", "status = 'skipped'"),
    ("unsubscribes", "unsubscribed_at IS NOT NULL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (column, _) in COUNTS {
            // One column per statement: SQLite alters one column at a time.
            manager
                .alter_table(
                    Table::alter()
                        .table("newsletters")
                        .add_column(big_integer(column).default(0))
                        .take(),
                )
                .await?;
        }
        let db = manager.get_connection();
        for (column, condition) in COUNTS {
            db.execute_unprepared(&format!(
                "UPDATE newsletters SET {column} = (SELECT COUNT(*) FROM deliveries d \
                 WHERE d.newsletter_id = newsletters.id AND d.{condition})"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (column, _) in COUNTS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table("newsletters")
                        .drop_column(*column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
