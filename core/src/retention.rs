//! Retention: what is kept only for a while is deleted when its time is up. Unconfirmed
//! sign-ups go after a week; confirmed candidates inactive for two years are asked
//! whether they are still interested, and erased if they do not answer within a month.
//! Every function takes the time as `now`, so tests can move the clock.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};

use crate::{
    Result,
    audit::{self, Actor},
    entities::{candidate, email_log},
    privacy::{self, ErasureSource},
    queue::{self, CANDIDATE_EMAIL_QUEUE, CandidateEmail},
    sql::{self, execute},
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

/// Confirmed candidates inactive for `inactive_days` who have not been asked yet (or
/// were asked before their latest activity) get a "still interested?" email: the
/// reminder row and the email job are written in one transaction. Returns how many.
pub async fn remind_inactive(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    inactive_days: i64,
) -> Result<u64> {
    let cutoff = now - Duration::days(inactive_days);
    let mut reminded = 0u64;
    loop {
        let txn = crate::db::begin_write(db).await?;
        let ids: Vec<i64> = query_ids(
            &txn,
            "SELECT c.id FROM candidates c LEFT JOIN retention_reminders r ON r.candidate_id = c.id \
             WHERE c.confirmed_at IS NOT NULL AND c.last_active_at < ? \
             AND (r.candidate_id IS NULL OR r.reminded_at < c.last_active_at) \
             ORDER BY c.id LIMIT 500",
            vec![cutoff.into()],
        )
        .await?;
        if ids.is_empty() {
            break;
        }
        for &id in &ids {
            execute(
                &txn,
                "DELETE FROM retention_reminders WHERE candidate_id = ?",
                vec![id.into()],
            )
            .await?;
            execute(
                &txn,
                "INSERT INTO retention_reminders (candidate_id, reminded_at) VALUES (?, ?)",
                vec![id.into(), now.into()],
            )
            .await?;
            queue::enqueue(
                &txn,
                CANDIDATE_EMAIL_QUEUE,
                &CandidateEmail::StillInterested { candidate_id: id },
            )
            .await?;
        }
        txn.commit().await?;
        reminded += ids.len() as u64;
    }
    tracing::info!(
        reminded,
        inactive_days,
        "retention: inactive candidates asked"
    );
    Ok(reminded)
}

/// Candidates asked more than `answer_days` ago who have not answered (no keep link
/// followed, no activity since) are erased. Returns how many.
pub async fn erase_unanswered(
    db: &DatabaseConnection,
    files: &dyn FileStore,
    now: DateTime<Utc>,
    answer_days: i64,
) -> Result<u64> {
    let cutoff = now - Duration::days(answer_days);
    let ids = query_ids(
        db,
        "SELECT c.id FROM candidates c JOIN retention_reminders r ON r.candidate_id = c.id \
         WHERE r.reminded_at < ? AND c.last_active_at <= r.reminded_at ORDER BY c.id",
        vec![cutoff.into()],
    )
    .await?;
    let mut erased = 0u64;
    for id in ids {
        if privacy::erase(db, files, id, Actor::System, ErasureSource::Retention).await? {
            erased += 1;
        }
    }
    tracing::info!(
        erased,
        answer_days,
        "retention: unanswered candidates erased"
    );
    Ok(erased)
}

/// The candidate followed the keep link (or was active): they are not asked again until
/// they are inactive for the whole period once more.
pub async fn keep(db: &DatabaseConnection, candidate_id: i64, now: DateTime<Utc>) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    execute(
        &txn,
        "DELETE FROM retention_reminders WHERE candidate_id = ?",
        vec![candidate_id.into()],
    )
    .await?;
    execute(
        &txn,
        "UPDATE candidates SET last_active_at = ?, updated_at = ? WHERE id = ?",
        vec![now.into(), now.into(), candidate_id.into()],
    )
    .await?;
    audit::record(
        &txn,
        Actor::Candidate(candidate_id),
        "candidate.kept",
        "candidate",
        Some(candidate_id),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Counts of one retention run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Run {
    pub unconfirmed_deleted: u64,
    pub reminded: u64,
    pub erased: u64,
}

/// Periods of a retention run.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    pub unconfirmed_days: i64,
    pub inactive_days: i64,
    pub answer_days: i64,
}

/// One retention run at `now`: unconfirmed sign-ups deleted, inactive candidates asked,
/// unanswered ones erased; the counts go into the audit log, zeros included.
pub async fn run(
    db: &DatabaseConnection,
    files: &dyn FileStore,
    now: DateTime<Utc>,
    periods: Periods,
) -> Result<Run> {
    let counts = Run {
        unconfirmed_deleted: purge_unconfirmed(db, files, now, periods.unconfirmed_days).await?,
        erased: erase_unanswered(db, files, now, periods.answer_days).await?,
        reminded: remind_inactive(db, now, periods.inactive_days).await?,
    };
    audit::record(
        db,
        Actor::System,
        "retention.run",
        "retention",
        None,
        Some(serde_json::to_value(counts)?),
    )
    .await?;
    Ok(counts)
}

async fn query_ids(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<i64>> {
    sql::query(db, sql, values)
        .await?
        .into_iter()
        .map(|row| Ok(row.try_get::<i64>("", "id")?))
        .collect()
}
