//! What happens to the companies a candidate was shared with when the candidate takes
//! back `consent_share`: they leave every portal at once, and each company keeps an
//! entry marked withdrawn that the portal shows without personal data.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};

use crate::Result;

/// Marks every live forward of the candidate withdrawn; returns how many.
pub async fn withdraw_from_companies(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    at: DateTime<Utc>,
) -> Result<u64> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "UPDATE company_candidates SET withdrawn_at = $1, updated_at = $1 \
             WHERE candidate_id = $2 AND withdrawn_at IS NULL"
        }
        _ => {
            "UPDATE company_candidates SET withdrawn_at = ?1, updated_at = ?1 \
             WHERE candidate_id = ?2 AND withdrawn_at IS NULL"
        }
    };
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [at.into(), candidate_id.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}
