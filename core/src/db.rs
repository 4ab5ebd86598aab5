//! Opening the database: SQLite (embedded default) or PostgreSQL, by URL.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::Result;

/// Connections per process to PostgreSQL unless `DATABASE_MAX_CONNECTIONS` says otherwise.
pub const DEFAULT_PG_CONNECTIONS: u32 = 16;

/// Connects with pool sizes and SQLite pragmas suited to a web app with in-process
/// workers: WAL, `synchronous=NORMAL`, a busy timeout instead of "database is locked".
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    connect_with(url, DEFAULT_PG_CONNECTIONS).await
}

/// Like [`connect`], with at most `pg_max_connections` PostgreSQL connections (every
/// process of the app has its own pool, and the server's `max_connections` is shared).
pub async fn connect_with(url: &str, pg_max_connections: u32) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5));
    if url.starts_with("sqlite:") {
        if let Some(path) = sqlite_file(url)
            && let Some(parent) = std::path::Path::new(&path).parent()
        {
            std::fs::create_dir_all(parent)?;
        }
        options
            .max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
    } else {
        options
            .max_connections(pg_max_connections.max(2))
            .min_connections(2);
    }
    Ok(Database::connect(options).await?)
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so that a transaction which reads first cannot fail with
/// "database is locked" when it later writes; PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    Ok(db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?)
}

/// After apalis's setup (which turns `synchronous` off on one connection), restore the
/// durability we chose on every pooled connection we can reach.
pub async fn restore_sqlite_pragmas(db: &DatabaseConnection) -> Result<()> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA synchronous = NORMAL").await?;
    }
    Ok(())
}

/// Refreshes the planner's statistics after a bulk load, so that the pool's filters
/// pick their indexes at once. PostgreSQL also vacuums the pool's tables, which sets the
/// visibility map that index-only counts rely on (autovacuum may be off or late).
pub async fn analyze(db: &DatabaseConnection) -> Result<()> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared(
                "VACUUM (ANALYZE) candidates, candidate_citizenships, signups, consents",
            )
            .await?;
        }
        _ => {
            db.execute_unprepared("ANALYZE").await?;
        }
    }
    Ok(())
}

fn sqlite_file(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sqlite_file_paths() {
        assert_eq!(
            sqlite_file("sqlite://data/tp.db?mode=rwc").as_deref(),
            Some("data/tp.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
