//! Retention: what is kept only for a while is deleted when its time is up.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    Result,
    audit::{self, Actor},
    entities::{candidate, email_log},
    storage::FileStore,
};

/// Deletes candidates who never confirmed their address within `days` of signing up,
/// with everything that hangs on them (citizenships, sign-ups, consents, tokens) and
/// their CV files. Returns how many were deleted.
pub async fn purge_unconfirmed(
    db: &DatabaseConnection,
    files: &dyn FileStore,
    now: DateTime<Utc>,
    days: i64,
) -> Result<u64> {
    let cutoff = now - Duration::days(days);
    let mut deleted = 0u64;
    loop {
        let batch: Vec<(i64, Option<String>)> = candidate::Entity::find()
            .select_only()
            .column(candidate::Column::Id)
            .column(candidate::Column::CvKey)
            .filter(candidate::Column::ConfirmedAt.is_null())
            .filter(candidate::Column::CreatedAt.lt(cutoff))
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        if batch.is_empty() {
            break;
        }
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let txn = crate::db::begin_write(db).await?;
        // The email log keeps addresses: it goes with them.
        email_log::Entity::delete_many()
            .filter(email_log::Column::CandidateId.is_in(ids.clone()))
            .exec(&txn)
            .await?;
        let result = candidate::Entity::delete_many()
            .filter(candidate::Column::Id.is_in(ids))
            .filter(candidate::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        for key in batch.iter().filter_map(|(_, cv)| cv.as_deref()) {
            if let Err(e) = files.delete(key).await {
                tracing::warn!(error = %e, "could not delete the CV of a purged sign-up");
            }
        }
        deleted += result.rows_affected;
    }
    if deleted > 0 {
        audit::record(
            db,
            Actor::System,
            "retention.unconfirmed_deleted",
            "candidate",
            None,
            Some(serde_json::json!({ "count": deleted, "older_than_days": days })),
        )
        .await?;
    }
    tracing::info!(deleted, days, "retention: unconfirmed sign-ups deleted");
    Ok(deleted)
}
