//! The delivery ledger: claiming batches of deliveries with a lease, what a sender needs
//! to know about their recipients, and recording outcomes in batched writes.
//!
//! A delivery is `queued` (maybe with `next_attempt_at` for a retry), `sending` (claimed
//! by `claimed_by` until `lease_until`), then `sent`, `failed` or `skipped`. A claim on
//! PostgreSQL takes rows `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the
//! same row; on SQLite the claim runs in a `BEGIN IMMEDIATE` transaction, which
//! serialises claims. A `sending` row whose lease has run out (its worker died) can be
//! claimed again.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement, Value,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};

use crate::{
    Error, Result,
    db::begin_write,
    entities::{candidate, delivery, suppression},
};

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub candidate_id: Option<i64>,
    pub recipient: String,
    /// Attempts including this one.
    pub attempts: i32,
}

fn placeholders(backend: DbBackend, from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            if backend == DbBackend::Postgres {
                format!("${i}")
            } else {
                "?".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Claims up to `limit` deliveries of `newsletter_id` for `worker` until `now + lease`:
/// waiting rows first (in ledger order), then rows whose lease ran out.
///
/// `from` is where the caller's last claim ended: waiting rows are looked for from
/// there first, then, if too few are found, from the start of the ledger (rows
/// released or to be retried, and any a crashed claimer put back). Planners cannot see
/// that the ledger's front is all sent: PostgreSQL, with statistics taken while every
/// row was waiting, walked the primary key and filtered, reading every sent row on each
/// claim. `from` only says where to look first; it never decides what is sent.
/// A claim's statement slower than this is logged (the target is a whole claim < 100 ms).
const SLOW_CLAIM: std::time::Duration = std::time::Duration::from_millis(50);

pub async fn claim(
    db: &DatabaseConnection,
    newsletter_id: i64,
    worker: &str,
    limit: u64,
    now: DateTime<Utc>,
    lease: Duration,
    from: &mut i64,
) -> Result<Vec<Claimed>> {
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let p = |i: usize| placeholders(backend, i, 1);
    let limit = i64::try_from(Ord::max(limit, 1)).unwrap_or(1000);
    let txn = begin_write(db).await?;
    if backend == DbBackend::Postgres {
        // Without column statistics (a ledger is written and claimed faster than
        // autovacuum analyzes it) the planner expects a handful of waiting rows, takes
        // every waiting delivery through a bitmap and sorts them: 250-350 ms per claim
        // with 800,000 waiting. A plain scan of the index stops at the limit.
        txn.execute_unprepared("SET LOCAL enable_bitmapscan = off")
            .await?;
    }
    let mut claimed = Vec::new();
    let waiting = |from: i64| {
        format!(
            "status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= {}) \
             AND id >= {from}",
            p(2)
        )
    };
    let mut branches = vec![("queued", waiting(*from))];
    if *from > 0 {
        branches.push(("queued again", waiting(0)));
    }
    branches.push((
        "expired",
        format!("status = 'sending' AND lease_until < {}", p(2)),
    ));
    for (which, condition) in branches {
        let want = limit - claimed.len() as i64;
        if want <= 0 {
            break;
        }
        if which == "queued again" {
            // Too few after the last claim: from the start of the ledger, now and next
            // time, until a full claim moves on again.
            *from = 0;
        }
        let sql = format!(
            "UPDATE deliveries SET status = 'sending', lease_until = {lease}, claimed_by = {worker}, \
             attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM deliveries WHERE newsletter_id = {nl} AND {condition} \
             ORDER BY id LIMIT {limit}{lock}) \
             RETURNING id, candidate_id, recipient, attempts",
            lease = p(3),
            worker = p(4),
            nl = p(1),
            limit = p(5),
        );
        let values: Vec<Value> = vec![
            newsletter_id.into(),
            now.into(),
            (now + lease).into(),
            worker.into(),
            want.into(),
        ];
        // SQLite numbers `?` by position: repeat the values in the order they appear.
        let values = if backend == DbBackend::Postgres {
            values
        } else {
            vec![
                values[2].clone(),
                values[3].clone(),
                values[0].clone(),
                values[1].clone(),
                values[4].clone(),
            ]
        };
        let started = std::time::Instant::now();
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        let took = started.elapsed();
        if took >= SLOW_CLAIM {
            tracing::warn!(
                newsletter = newsletter_id,
                branch = which,
                from = *from,
                rows = rows.len(),
                ms = took.as_secs_f64() * 1000.0,
                "slow delivery claim"
            );
        }
        let before = claimed.len();
        for row in rows {
            claimed.push(Claimed {
                id: row.try_get("", "id")?,
                candidate_id: row.try_get("", "candidate_id")?,
                recipient: row
                    .try_get::<Option<String>>("", "recipient")?
                    .unwrap_or_default(),
                attempts: row.try_get("", "attempts")?,
            });
        }
        if which.starts_with("queued") && claimed.len() as i64 >= limit {
            if let Some(last) = claimed[before..].iter().map(|c| c.id).max() {
                *from = last + 1;
            }
            break;
        }
    }
    txn.commit().await?;
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// On PostgreSQL, vacuums the ledger: every claim and every outcome leaves a dead row
/// version and dead index entries behind, and a search that has to pass them (the
/// waiting deliveries from the start, the expired leases) reads each one until a vacuum
/// removes them: at a million sent, 150-550 ms per search on a server without
/// autovacuum. Senders call this as they go (`SKIP_LOCKED`: never waits for another
/// vacuum); SQLite reuses space itself.
pub async fn vacuum(db: &DatabaseConnection) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        sea_orm::sqlx::query("VACUUM (SKIP_LOCKED) deliveries")
            .execute(db.get_postgres_connection_pool())
            .await
            .map_err(crate::db::sqlx_error)?;
    }
    Ok(())
}

/// What the sender needs about a recipient, read when the delivery is claimed (not when
/// the ledger was written), so that an unsubscribe or a suppression meanwhile counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientInfo {
    pub full_name: String,
    pub first_name: String,
    pub campaign_title: String,
    /// Why this candidate must not get the newsletter any more.
    pub skip: Option<&'static str>,
}

pub async fn recipients(
    db: &impl ConnectionTrait,
    claimed: &[Claimed],
) -> Result<HashMap<i64, RecipientInfo>> {
    let ids: Vec<i64> = claimed.iter().filter_map(|c| c.candidate_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // One statement whose text does not depend on how many were claimed (the ids are a
    // JSON list), so each connection prepares it once.
    let ids_in = match db.get_database_backend() {
        DbBackend::Postgres => {
            "SELECT value::bigint FROM jsonb_array_elements_text(CAST(? AS jsonb))"
        }
        _ => "SELECT value FROM json_each(?)",
    };
    let rows = crate::sql::query(
        db,
        &format!(
            "SELECT c.id, c.full_name, c.consent_newsletter, \
             CASE WHEN c.suppressed_at IS NOT NULL OR EXISTS (SELECT 1 FROM suppressions s \
               WHERE s.email = c.email) THEN 1 ELSE 0 END AS suppressed, \
             CASE WHEN c.confirmed_at IS NULL THEN 0 ELSE 1 END AS confirmed, \
             (SELECT ca.title FROM signups su JOIN campaigns ca ON ca.id = su.campaign_id \
               WHERE su.candidate_id = c.id ORDER BY su.id LIMIT 1) AS campaign_title \
             FROM candidates c WHERE c.id IN ({ids_in})"
        ),
        vec![serde_json::to_string(&ids)?.into()],
    )
    .await?;
    let mut infos = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("", "id")?;
        let full_name: String = row.try_get("", "full_name")?;
        let skip = if !row.try_get::<bool>("", "consent_newsletter")? {
            Some("unsubscribed")
        } else if row.try_get::<i32>("", "suppressed")? != 0 {
            Some("suppressed")
        } else if row.try_get::<i32>("", "confirmed")? == 0 {
            Some("unconfirmed")
        } else {
            None
        };
        infos.insert(
            id,
            RecipientInfo {
                first_name: full_name
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                full_name,
                campaign_title: row
                    .try_get::<Option<String>>("", "campaign_title")?
                    .unwrap_or_default(),
                skip,
            },
        );
    }
    Ok(infos)
}

/// How a claimed delivery ended (for now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        id: i64,
    },
    /// A temporary failure (4xx, lost connection): try again at `at`.
    Retry {
        id: i64,
        error: String,
        at: DateTime<Utc>,
    },
    /// A permanent failure (5xx): the address is suppressed.
    Failed {
        id: i64,
        error: String,
        email: Option<String>,
    },
    Skipped {
        id: i64,
        reason: &'static str,
    },
    /// Claimed but not attempted (pause, shutdown): back in the queue, the attempt not
    /// counted.
    Released {
        id: i64,
    },
}

fn ids<'a>(outcomes: &'a [Outcome], pick: impl Fn(&'a Outcome) -> Option<i64>) -> Vec<i64> {
    outcomes.iter().filter_map(pick).collect()
}

/// Records outcomes in one transaction: one statement for all sent deliveries, one per
/// skip reason, one for the released, and one per failure (rare).
pub async fn record(
    db: &DatabaseConnection,
    newsletter_id: i64,
    outcomes: &[Outcome],
    now: DateTime<Utc>,
) -> Result<()> {
    use delivery::Column as D;
    if outcomes.is_empty() {
        return Ok(());
    }
    let sent = ids(outcomes, |o| match o {
        Outcome::Sent { id } => Some(*id),
        _ => None,
    });
    if sent.len() == outcomes.len() {
        // The usual case, and the one every sent message waits for.
        return record_sent(db, newsletter_id, &sent, now).await;
    }
    let mut counts = Counts::default();
    let txn = begin_write(db).await?;
    for chunk in sent.chunks(1000) {
        counts.sent += delivery::Entity::update_many()
            .col_expr(D::Status, Expr::value("sent"))
            .col_expr(D::SentAt, Expr::value(Some(now)))
            .col_expr(D::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
            .filter(D::Id.is_in(chunk.to_vec()))
            .filter(D::Status.eq("sending"))
            .exec(&txn)
            .await?
            .rows_affected;
    }
    let released = ids(outcomes, |o| match o {
        Outcome::Released { id } => Some(*id),
        _ => None,
    });
    for chunk in released.chunks(1000) {
        delivery::Entity::update_many()
            .col_expr(D::Status, Expr::value("queued"))
            .col_expr(D::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
            .col_expr(D::Attempts, Expr::col(D::Attempts).sub(1))
            .filter(D::Id.is_in(chunk.to_vec()))
            .filter(D::Status.eq("sending"))
            .exec(&txn)
            .await?;
    }
    let mut skipped: HashMap<&'static str, Vec<i64>> = HashMap::new();
    for o in outcomes {
        if let Outcome::Skipped { id, reason } = o {
            skipped.entry(reason).or_default().push(*id);
        }
    }
    for (reason, ids) in skipped {
        for chunk in ids.chunks(1000) {
            counts.skipped += delivery::Entity::update_many()
                .col_expr(D::Status, Expr::value("skipped"))
                .col_expr(D::LastError, Expr::value(reason))
                .col_expr(D::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
                .filter(D::Id.is_in(chunk.to_vec()))
                .filter(D::Status.is_in(["sending", "queued"]))
                .exec(&txn)
                .await?
                .rows_affected;
        }
    }
    for o in outcomes {
        match o {
            Outcome::Retry { id, error, at } => {
                delivery::Entity::update_many()
                    .col_expr(D::Status, Expr::value("queued"))
                    .col_expr(D::LastError, Expr::value(error.as_str()))
                    .col_expr(D::NextAttemptAt, Expr::value(Some(*at)))
                    .col_expr(D::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
                    .filter(D::Id.eq(*id))
                    .filter(D::Status.eq("sending"))
                    .exec(&txn)
                    .await?;
            }
            Outcome::Failed { id, error, email } => {
                counts.failed += delivery::Entity::update_many()
                    .col_expr(D::Status, Expr::value("failed"))
                    .col_expr(D::LastError, Expr::value(error.as_str()))
                    .col_expr(D::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
                    .filter(D::Id.eq(*id))
                    .filter(D::Status.eq("sending"))
                    .exec(&txn)
                    .await?
                    .rows_affected;
                if let Some(email) = email {
                    suppress(&txn, email, error, now).await?;
                }
            }
            _ => {}
        }
    }
    count(&txn, newsletter_id, counts).await?;
    txn.commit().await?;
    Ok(())
}

/// Changes to a newsletter's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub unsubscribes: u64,
}

/// Adds to a newsletter's counts, in the transaction that changed its deliveries.
pub async fn count(db: &impl ConnectionTrait, newsletter_id: i64, counts: Counts) -> Result<()> {
    if counts == Counts::default() {
        return Ok(());
    }
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    crate::sql::execute(
        db,
        "UPDATE newsletters SET sent_count = sent_count + ?, failed_count = failed_count + ?, \
         skipped_count = skipped_count + ?, unsubscribes = unsubscribes + ? WHERE id = ?",
        vec![
            n(counts.sent).into(),
            n(counts.failed).into(),
            n(counts.skipped).into(),
            n(counts.unsubscribes).into(),
            newsletter_id.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Counts skipped deliveries from the `newsletter_id` column of rows an update returned.
pub async fn count_skipped_rows(
    db: &impl ConnectionTrait,
    rows: &[sea_orm::QueryResult],
) -> Result<()> {
    let mut per_newsletter: HashMap<i64, u64> = HashMap::new();
    for row in rows {
        *per_newsletter
            .entry(row.try_get::<i64>("", "newsletter_id")?)
            .or_default() += 1;
    }
    for (newsletter_id, skipped) in per_newsletter {
        count(
            db,
            newsletter_id,
            Counts {
                skipped,
                ..Counts::default()
            },
        )
        .await?;
    }
    Ok(())
}

/// Marks deliveries sent and counts them, with statements whose text does not depend
/// on how many there are (so they are prepared once per connection): on PostgreSQL one
/// statement with an array, on SQLite a JSON list in a transaction of two statements.
async fn record_sent(
    db: &DatabaseConnection,
    newsletter_id: i64,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<()> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            sea_orm::sqlx::query(
                "WITH sent AS (UPDATE deliveries SET status = 'sent', sent_at = $2, \
                 lease_until = NULL WHERE id = ANY($1) AND status = 'sending' RETURNING 1) \
                 UPDATE newsletters SET sent_count = sent_count + (SELECT COUNT(*) FROM sent) \
                 WHERE id = $3",
            )
            .bind(ids)
            .bind(now)
            .bind(newsletter_id)
            .execute(db.get_postgres_connection_pool())
            .await
            .map_err(crate::db::sqlx_error)?;
        }
        backend => {
            let txn = begin_write(db).await?;
            let sent = txn
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    "UPDATE deliveries SET status = 'sent', sent_at = ?, lease_until = NULL \
                     WHERE id IN (SELECT value FROM json_each(?)) AND status = 'sending'",
                    [now.into(), serde_json::to_string(ids)?.into()],
                ))
                .await?
                .rows_affected();
            count(
                &txn,
                newsletter_id,
                Counts {
                    sent,
                    ..Counts::default()
                },
            )
            .await?;
            txn.commit().await?;
        }
    }
    Ok(())
}

/// Suppresses an address: no newsletter goes to it any more.
pub async fn suppress(
    db: &impl ConnectionTrait,
    email: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let backend = db.get_database_backend();
    let insert = Query::insert()
        .into_table(suppression::Entity)
        .columns([
            suppression::Column::Email,
            suppression::Column::Reason,
            suppression::Column::CreatedAt,
        ])
        .values([email.into(), reason.into(), now.into()])
        .map_err(|e| Error::Invalid(e.to_string()))?
        .on_conflict(
            OnConflict::column(suppression::Column::Email)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    db.execute_raw(backend.build(&insert)).await?;
    candidate::Entity::update_many()
        .col_expr(candidate::Column::SuppressedAt, Expr::value(Some(now)))
        .filter(candidate::Column::Email.eq(email))
        .filter(candidate::Column::SuppressedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Whether anything is left to send or retry, and when the earliest retry is due.
pub async fn open_count(db: &impl ConnectionTrait, newsletter_id: i64) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(delivery::Entity::find()
        .filter(delivery::Column::NewsletterId.eq(newsletter_id))
        .filter(delivery::Column::Status.is_in(["queued", "sending"]))
        .count(db)
        .await?)
}
