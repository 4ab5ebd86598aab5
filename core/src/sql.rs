//! Hand-written statements that run on both databases: written with `?` placeholders,
//! numbered `$1, $2, …` for PostgreSQL.

use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

use crate::Result;

/// A statement with `?` placeholders, numbered for PostgreSQL. The SQL must not hold a
/// literal `?` of its own.
pub fn numbered(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Runs a query written with `?` placeholders on either database.
pub async fn query(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>> {
    let backend = db.get_database_backend();
    Ok(db.query_all_raw(numbered(backend, sql, values)).await?)
}

/// Runs a statement written with `?` placeholders on either database; rows affected.
pub async fn execute(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64> {
    let backend = db.get_database_backend();
    Ok(db
        .execute_raw(numbered(backend, sql, values))
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let pg = numbered(
            DbBackend::Postgres,
            "a = ? AND b = ?",
            vec![1.into(), 2.into()],
        );
        assert_eq!(pg.sql, "a = $1 AND b = $2");
        let lite = numbered(
            DbBackend::Sqlite,
            "a = ? AND b = ?",
            vec![1.into(), 2.into()],
        );
        assert_eq!(lite.sql, "a = ? AND b = ?");
    }
}
