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
            .min_connections(2)
            .map_sqlx_postgres_pool_opts(|pool| {
                pool.after_connect(|_connection, _meta| {
                    Box::pin(async {
                        tcp_nodelay::set_on_open_sockets();
                        Ok(())
                    })
                })
            });
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

/// sqlx 0.9.0 no longer turns Nagle's algorithm off on its TCP connections (sqlx issue
/// #4335; fixed upstream, not released yet). A statement written in two pieces (over
/// TLS, a bulk statement larger than a TLS record) then waits for the server's delayed
/// ACK: about 40 ms, seen here as a cluster of sign-up batches taking 45–57 ms instead
/// of 2–6 ms. Until sqlx sets it again, every new database connection sets
/// `TCP_NODELAY` on the process's open TCP sockets; for other sockets it fails or
/// changes nothing harmful (the web server's connections gain the same setting).
mod tcp_nodelay {
    #[cfg(target_os = "linux")]
    pub fn set_on_open_sockets() {
        let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
            return;
        };
        for fd in fds.flatten() {
            let Some(fd) = fd
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<libc::c_int>().ok())
            else {
                continue;
            };
            let on: libc::c_int = 1;
            // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live local; the
            // kernel checks the descriptor (EBADF, ENOTSOCK and EOPNOTSUPP are ignored).
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&raw const on).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn set_on_open_sockets() {}
}

/// An error of a statement run through sqlx directly (bulk paths), as a database error.
pub(crate) fn sqlx_error(e: sea_orm::sqlx::Error) -> crate::Error {
    crate::Error::Database(sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(
        std::sync::Arc::new(e),
    )))
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

    /// The sockets of this process connected to `port`, with their `TCP_NODELAY`.
    #[cfg(target_os = "linux")]
    fn nodelay_of_sockets_to(port: u16) -> Vec<bool> {
        let mut found = Vec::new();
        for fd in std::fs::read_dir("/proc/self/fd").expect("fds").flatten() {
            let Some(fd) = fd
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<libc::c_int>().ok())
            else {
                continue;
            };
            // SAFETY: both calls write at most the given lengths into live locals.
            unsafe {
                let mut addr: libc::sockaddr_in = std::mem::zeroed();
                let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                if libc::getpeername(fd, (&raw mut addr).cast(), &mut len) != 0
                    || i32::from(addr.sin_family) != libc::AF_INET
                    || u16::from_be(addr.sin_port) != port
                {
                    continue;
                }
                let mut on: libc::c_int = 0;
                let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                libc::getsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&raw mut on).cast(),
                    &mut len,
                );
                found.push(on != 0);
            }
        }
        found
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn postgres_connections_have_nagle_off() {
        let url = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let db = connect_with(&url, 3).await.expect("PostgreSQL is required");
        db.execute_unprepared("SELECT 1").await.expect("query");
        let port = url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(5432);
        let sockets = nodelay_of_sockets_to(port);
        assert!(!sockets.is_empty(), "no connection to port {port} found");
        assert!(
            sockets.iter().all(|on| *on),
            "TCP_NODELAY off on a database connection: {sockets:?}"
        );
        db.close().await.ok();
    }

    #[test]
    fn finds_sqlite_file_paths() {
        assert_eq!(
            sqlite_file("sqlite://data/tp.db?mode=rwc").as_deref(),
            Some("data/tp.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
