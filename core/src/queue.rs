//! Jobs that the web app enqueues, and how: a job row is written into apalis's own table
//! inside the caller's database transaction, so the job exists exactly when the write
//! that caused it commits. (apalis's `push` opens a transaction of its own and cannot
//! join a sea-orm one.) Payloads hold ids, never personal data. The handlers live in the
//! `talentpool-jobs` crate.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Emails to candidates: confirmation links and the like.
pub const CANDIDATE_EMAIL_QUEUE: &str = "candidate_email";

/// Emails to company users: invitations and forwarding digests.
pub const COMPANY_EMAIL_QUEUE: &str = "company_email";

/// How often a job is attempted before it is given up.
pub const MAX_ATTEMPTS: i32 = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CandidateEmail {
    /// Double opt-in for a new sign-up.
    ConfirmSignup { candidate_id: i64 },
    /// A repeat sign-up for a known address: a link that applies its answers.
    ConfirmChanges { signup_id: i64 },
    /// The personal link to the candidate's own page, asked for on `/me`.
    SelfServiceLink { candidate_id: i64 },
    /// Retention: an inactive candidate is asked whether to keep their data.
    StillInterested { candidate_id: i64 },
    /// A consent text the candidate agreed to has a new version to accept.
    ConsentTextChanged { candidate_id: i64, consent: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CompanyEmail {
    /// An invitation with a link to set a password.
    Invite { company_user_id: i64 },
    /// One email to one company user about one forwarding action ("12 new candidates").
    ForwardDigest {
        forward_id: i64,
        company_user_id: i64,
    },
}

/// Writes a job row for `queue` on the given connection or transaction.
pub async fn enqueue<J: Serialize>(db: &impl ConnectionTrait, queue: &str, job: &J) -> Result<()> {
    let id = new_job_id();
    let payload = serde_json::to_vec(job)?;
    let stmt = match db.get_database_backend() {
        DbBackend::Sqlite => Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO Jobs (job, id, job_type, status, attempts, max_attempts, run_at, priority, metadata, idempotency_key) \
             VALUES (?, ?, ?, 'Pending', 0, ?, strftime('%s','now'), 0, '{}', NULL)",
            [payload.into(), id.into(), queue.into(), MAX_ATTEMPTS.into()],
        ),
        DbBackend::Postgres => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata, idempotency_key) \
             VALUES ($1, $2, $3, 'Pending', 0, $4, now(), 0, ''::hstore, NULL)",
            [id.into(), queue.into(), payload.into(), MAX_ATTEMPTS.into()],
        ),
        other => return Err(Error::Invalid(format!("unsupported database {other:?}"))),
    };
    db.execute_raw(stmt).await?;
    Ok(())
}

/// Writes one job row per payload for `queue`, in one statement.
pub async fn enqueue_many<J: Serialize>(
    db: &impl ConnectionTrait,
    queue: &str,
    jobs: &[J],
) -> Result<()> {
    let backend = db.get_database_backend();
    for chunk in jobs.chunks(1000) {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 4);
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, job) in chunk.iter().enumerate() {
            let id = new_job_id();
            let payload = serde_json::to_vec(job)?;
            match backend {
                DbBackend::Sqlite => {
                    rows.push(
                        "(?, ?, ?, 'Pending', 0, ?, strftime('%s','now'), 0, '{}', NULL)"
                            .to_owned(),
                    );
                    values.extend([payload.into(), id.into(), queue.into(), MAX_ATTEMPTS.into()]);
                }
                DbBackend::Postgres => {
                    let n = i * 4;
                    rows.push(format!(
                        "(${}, ${}, ${}, 'Pending', 0, ${}, now(), 0, ''::hstore, NULL)",
                        n + 1,
                        n + 2,
                        n + 3,
                        n + 4
                    ));
                    values.extend([id.into(), queue.into(), payload.into(), MAX_ATTEMPTS.into()]);
                }
                other => return Err(Error::Invalid(format!("unsupported database {other:?}"))),
            }
        }
        let sql = match backend {
            DbBackend::Sqlite => format!(
                "INSERT INTO Jobs (job, id, job_type, status, attempts, max_attempts, run_at, priority, metadata, idempotency_key) VALUES {}",
                rows.join(", ")
            ),
            _ => format!(
                "INSERT INTO apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, priority, metadata, idempotency_key) VALUES {}",
                rows.join(", ")
            ),
        };
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// A new job row's id.
pub fn new_job_id() -> String {
    ulid::Ulid::generate().to_string()
}

/// The JSON payload of `job(id)` cut in two around the id, for a bulk statement that
/// writes the payloads itself once the ids are known (`head || id || tail`). The cut
/// is made in serde's own output, so the payloads are exactly what [`enqueue`] writes.
pub fn payload_around_id<J: Serialize>(job: impl Fn(i64) -> J) -> Result<(String, String)> {
    const MARK: i64 = -7_340_277_188_136_055_001;
    let json = serde_json::to_string(&job(MARK))?;
    let mark = MARK.to_string();
    match json.split_once(&mark) {
        Some((head, tail)) if !tail.contains(&mark) => Ok((head.to_owned(), tail.to_owned())),
        _ => Err(Error::Invalid(format!(
            "the payload {json} holds no id to write"
        ))),
    }
}

/// Records a job as done from inside its handler, in the same shape as apalis's own
/// acknowledgement. apalis 1.0 sends acknowledgements through a channel that is flushed
/// only when the worker is polled again, and an idle worker is sometimes not polled for
/// a long time: the row then stays `Running`, and a restart would run the job twice.
/// Writing the outcome here makes it durable at once; apalis's later ack is a no-op.
pub async fn mark_done(db: &impl ConnectionTrait, job_id: &str) -> Result<()> {
    let stmt = match db.get_database_backend() {
        DbBackend::Sqlite => Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "UPDATE Jobs SET status = 'Done', attempts = attempts + 1, last_result = '{\"Ok\":null}', \
             done_at = strftime('%s','now'), lock_by = NULL \
             WHERE id = ? AND status IN ('Queued', 'Running')",
            [job_id.into()],
        ),
        DbBackend::Postgres => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE apalis.jobs SET status = 'Done', attempts = attempts + 1, \
             last_result = '{\"Ok\":null}'::jsonb, done_at = now(), lock_by = NULL \
             WHERE id = $1 AND status IN ('Queued', 'Running')",
            [job_id.into()],
        ),
        other => return Err(Error::Invalid(format!("unsupported database {other:?}"))),
    };
    db.execute_raw(stmt).await?;
    Ok(())
}

/// Jobs of `queue` not yet finished (pending, running or to be retried).
pub async fn unfinished(db: &impl ConnectionTrait, queue: &str) -> Result<i64> {
    let backend = db.get_database_backend();
    let (table, placeholder) = match backend {
        DbBackend::Postgres => ("apalis.jobs", "$1"),
        _ => ("Jobs", "?"),
    };
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE job_type = {placeholder} \
         AND (status IN ('Pending', 'Queued', 'Running') OR (status = 'Failed' AND attempts < max_attempts))"
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [queue.into()]))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_written_around_an_id_are_serdes_own() {
        let (head, tail) =
            payload_around_id(|candidate_id| CandidateEmail::ConfirmSignup { candidate_id })
                .expect("cut");
        for id in [1_i64, 42, 9_007_199_254_740_993] {
            let written = format!("{head}{id}{tail}");
            assert_eq!(
                written,
                serde_json::to_string(&CandidateEmail::ConfirmSignup { candidate_id: id })
                    .expect("json")
            );
            assert_eq!(
                serde_json::from_str::<CandidateEmail>(&written).expect("parse"),
                CandidateEmail::ConfirmSignup { candidate_id: id }
            );
        }
        // A payload without the id cannot be cut.
        assert!(payload_around_id(|_| CandidateEmail::ConfirmChanges { signup_id: 1 }).is_err());
    }
}
