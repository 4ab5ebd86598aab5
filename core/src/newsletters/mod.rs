//! Newsletters: drafts checked when saved, their audience (a segment, always narrowed to
//! confirmed candidates with newsletter consent who are not suppressed), sending now or
//! at a time, pause, resume and cancel, progress, and one-click unsubscribe.
//!
//! Sending freezes the audience into the `deliveries` ledger (one row per recipient,
//! `UNIQUE(newsletter_id, candidate_id)`, inserted in chunks) before the first message
//! goes out; workers then claim rows from the ledger (see [`delivery`]). The state of a
//! newsletter lives in its own row and in the ledger, never in the job queue.

pub mod delivery;
pub mod senders;
pub mod template;
pub mod unsubscribe;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use serde::Serialize;

use crate::{
    Error, Result,
    audit::{self, Actor},
    consents::{self, Kind},
    db::begin_write,
    entities::{candidate, delivery as delivery_entity, newsletter, suppression},
    pool::ValidFilter,
    segments,
};

pub use newsletter::Model as Newsletter;
pub use template::{NewsletterTemplate, Recipient, TemplateProblem};
pub use unsubscribe::UnsubscribeToken;

/// The secretariat's time zone: scheduled times are entered and shown in it.
pub const TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Oslo;

/// Recipients inserted into the ledger per statement when sending starts.
const FREEZE_CHUNK: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Scheduled,
    Sending,
    Paused,
    Cancelled,
    Done,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
            Self::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Draft,
            Self::Scheduled,
            Self::Sending,
            Self::Paused,
            Self::Cancelled,
            Self::Done,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

pub fn status_of(newsletter: &Newsletter) -> Status {
    Status::parse(&newsletter.status).unwrap_or(Status::Draft)
}

/// What the secretariat writes.
#[derive(Debug, Clone, Default)]
pub struct DraftInput {
    pub subject: String,
    pub body_markdown: String,
    pub segment_id: Option<i64>,
}

/// Field problems of a draft: `(field, message)`.
pub type Problems = Vec<(String, String)>;

async fn check(
    db: &impl ConnectionTrait,
    input: &DraftInput,
    privacy_url: &str,
) -> Result<Problems> {
    let mut problems: Problems = Vec::new();
    let subject = input.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        problems.push((
            "subject".into(),
            "Write a subject of 1 to 200 characters.".into(),
        ));
    }
    if input.body_markdown.trim().is_empty() || input.body_markdown.len() > 100_000 {
        problems.push((
            "body_markdown".into(),
            "Write a body of at most 100,000 characters.".into(),
        ));
    }
    match input.segment_id {
        None => problems.push(("segment_id".into(), "Choose a segment.".into())),
        Some(id) => {
            if segments::find(db, id).await?.is_none() {
                problems.push(("segment_id".into(), "There is no such segment.".into()));
            }
        }
    }
    if let Err(template_problems) =
        NewsletterTemplate::compile(subject, &input.body_markdown, privacy_url.to_owned())
    {
        problems.extend(
            template_problems
                .into_iter()
                .map(|p| (p.field.to_owned(), p.describe())),
        );
    }
    Ok(problems)
}

/// Saves a new draft, or returns every problem (template errors with their lines).
pub async fn create(
    db: &DatabaseConnection,
    input: &DraftInput,
    actor: Actor,
    created_by: Option<i64>,
    privacy_url: &str,
) -> Result<Result<Newsletter, Problems>> {
    let problems = check(db, input, privacy_url).await?;
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let now = Utc::now();
    let txn = begin_write(db).await?;
    let id = newsletter::Entity::insert(newsletter::ActiveModel {
        id: NotSet,
        subject: Set(input.subject.trim().to_owned()),
        body_markdown: Set(input.body_markdown.clone()),
        segment_id: Set(input.segment_id),
        status: Set(Status::Draft.as_str().to_owned()),
        status_reason: Set(None),
        send_at: Set(None),
        created_by: Set(created_by),
        started_at: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        recipients: Set(0),
        frozen_at: Set(None),
        sent_count: Set(0),
        failed_count: Set(0),
        skipped_count: Set(0),
        unsubscribes: Set(0),
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    audit::record(
        &txn,
        actor,
        "newsletter.created",
        "newsletter",
        Some(id),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(find(db, id).await?.ok_or_else(|| {
        Error::Invalid("newsletter vanished after insert".into())
    })?))
}

/// Changes a draft (or a scheduled newsletter, which goes back to draft).
pub async fn update(
    db: &DatabaseConnection,
    id: i64,
    input: &DraftInput,
    actor: Actor,
    privacy_url: &str,
) -> Result<Option<Result<Newsletter, Problems>>> {
    let Some(existing) = find(db, id).await? else {
        return Ok(None);
    };
    if !matches!(status_of(&existing), Status::Draft | Status::Scheduled) {
        return Ok(Some(Err(vec![(
            "status".into(),
            "A newsletter can be changed only before it is sent.".into(),
        )])));
    }
    let problems = check(db, input, privacy_url).await?;
    if !problems.is_empty() {
        return Ok(Some(Err(problems)));
    }
    let txn = begin_write(db).await?;
    let changed = newsletter::Entity::update_many()
        .col_expr(
            newsletter::Column::Subject,
            Expr::value(input.subject.trim()),
        )
        .col_expr(
            newsletter::Column::BodyMarkdown,
            Expr::value(input.body_markdown.clone()),
        )
        .col_expr(newsletter::Column::SegmentId, Expr::value(input.segment_id))
        .col_expr(
            newsletter::Column::Status,
            Expr::value(Status::Draft.as_str()),
        )
        .col_expr(
            newsletter::Column::SendAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(newsletter::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(newsletter::Column::Id.eq(id))
        .filter(
            newsletter::Column::Status.is_in([Status::Draft.as_str(), Status::Scheduled.as_str()]),
        )
        .exec(&txn)
        .await?
        .rows_affected;
    if changed == 1 {
        audit::record(
            &txn,
            actor,
            "newsletter.updated",
            "newsletter",
            Some(id),
            None,
        )
        .await?;
    }
    txn.commit().await?;
    if changed == 0 {
        return Ok(Some(Err(vec![(
            "status".into(),
            "A newsletter can be changed only before it is sent.".into(),
        )])));
    }
    Ok(find(db, id).await?.map(Ok))
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Newsletter>> {
    Ok(newsletter::Entity::find_by_id(id).one(db).await?)
}

/// Every newsletter, newest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Newsletter>> {
    Ok(newsletter::Entity::find()
        .order_by_desc(newsletter::Column::Id)
        .limit(500)
        .all(db)
        .await?)
}

/// The audience condition on `candidates`: the segment's filter, narrowed to confirmed
/// candidates with newsletter consent whose address is not suppressed.
pub fn audience(filter: &ValidFilter) -> Condition {
    use candidate::Column as C;
    filter
        .condition()
        .add(C::ConfirmedAt.is_not_null())
        .add(C::ConsentNewsletter.eq(true))
        .add(C::SuppressedAt.is_null())
        .add(
            C::Email.not_in_subquery(
                Query::select()
                    .column(suppression::Column::Email)
                    .from(suppression::Entity)
                    .take(),
            ),
        )
}

/// The segment's filter, validated; `None` when the segment is gone or its filter no
/// longer validates.
pub async fn segment_filter(
    db: &impl ConnectionTrait,
    segment_id: Option<i64>,
) -> Result<Option<ValidFilter>> {
    let Some(segment) = (match segment_id {
        Some(id) => segments::find(db, id).await?,
        None => None,
    }) else {
        return Ok(None);
    };
    Ok(segments::filter_of(&segment)?.validate(db).await.ok())
}

/// How many candidates would receive the newsletter if it were sent now.
pub async fn audience_count(db: &impl ConnectionTrait, segment_id: Option<i64>) -> Result<u64> {
    Ok(match segment_filter(db, segment_id).await? {
        Some(filter) => {
            candidate::Entity::find()
                .filter(audience(&filter))
                .count(db)
                .await?
        }
        None => 0,
    })
}

/// Delivery counts of one newsletter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub recipients: i64,
    /// Not yet sent (waiting, being sent, or waiting for a retry).
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    /// Recipients who unsubscribed through this newsletter.
    pub unsubscribes: i64,
}

/// A newsletter's progress: from the counts on its row once the ledger is frozen (one
/// row, however large the ledger), from the ledger while it is being written.
pub async fn progress(db: &impl ConnectionTrait, id: i64) -> Result<Progress> {
    let Some(n) = find(db, id).await? else {
        return Ok(Progress::default());
    };
    if n.frozen_at.is_none() {
        return recount(db, id).await;
    }
    let recipients = i64::from(n.recipients);
    Ok(Progress {
        recipients,
        queued: Ord::max(
            recipients - n.sent_count - n.failed_count - n.skipped_count,
            0,
        ),
        sent: n.sent_count,
        failed: n.failed_count,
        skipped: n.skipped_count,
        unsubscribes: n.unsubscribes,
    })
}

/// Counts the ledger itself (one pass over every delivery of the newsletter).
pub async fn recount(db: &impl ConnectionTrait, id: i64) -> Result<Progress> {
    let backend = db.get_database_backend();
    let p = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT status, CAST(COUNT(*) AS BIGINT) AS n, \
                 CAST(SUM(CASE WHEN unsubscribed_at IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS u \
                 FROM deliveries WHERE newsletter_id = {p} GROUP BY status"
            ),
            [id.into()],
        ))
        .await?;
    let mut progress = Progress::default();
    for row in rows {
        let status: String = row.try_get("", "status")?;
        let n: i64 = row.try_get("", "n")?;
        progress.unsubscribes += row.try_get::<Option<i64>>("", "u")?.unwrap_or(0);
        progress.recipients += n;
        match status.as_str() {
            "sent" => progress.sent += n,
            "failed" => progress.failed += n,
            "skipped" => progress.skipped += n,
            _ => progress.queued += n,
        }
    }
    Ok(progress)
}

/// Writes the ledger's own counts onto the newsletter's row (when it is done, and after
/// a change made outside the sender).
async fn write_recount(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    let counted = recount(db, id).await?;
    newsletter::Entity::update_many()
        .col_expr(newsletter::Column::SentCount, Expr::value(counted.sent))
        .col_expr(newsletter::Column::FailedCount, Expr::value(counted.failed))
        .col_expr(
            newsletter::Column::SkippedCount,
            Expr::value(counted.skipped),
        )
        .col_expr(
            newsletter::Column::Unsubscribes,
            Expr::value(counted.unsubscribes),
        )
        .filter(newsletter::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Why deliveries failed, most frequent first: `(reason, count)`.
pub async fn failure_reasons(db: &impl ConnectionTrait, id: i64) -> Result<Vec<(String, i64)>> {
    let backend = db.get_database_backend();
    let p = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT COALESCE(last_error, '') AS reason, CAST(COUNT(*) AS BIGINT) AS n \
                 FROM deliveries WHERE newsletter_id = {p} AND status = 'failed' \
                 GROUP BY last_error ORDER BY n DESC LIMIT 20"
            ),
            [id.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "reason")?, row.try_get("", "n")?)))
        .collect()
}

/// The newsletter as `candidate_id` would get it (a sample recipient when `None`), with
/// the address it would go to. `Ok(None)`: no such candidate.
pub async fn render_for(
    db: &impl ConnectionTrait,
    newsletter: &Newsletter,
    candidate_id: Option<i64>,
    secret_key: &secrecy::SecretString,
    base_url: &str,
) -> Result<Option<(Option<String>, template::RenderedNewsletter)>> {
    let template = NewsletterTemplate::compile(
        &newsletter.subject,
        &newsletter.body_markdown,
        format!("{base_url}/privacy"),
    )
    .map_err(|problems| {
        Error::Invalid(
            problems
                .iter()
                .map(TemplateProblem::describe)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let unsubscribe_url = |candidate_id: i64| {
        let token = UnsubscribeToken {
            newsletter_id: newsletter.id,
            candidate_id,
        }
        .sign(secret_key);
        format!("{base_url}/u/{token}")
    };
    let Some(candidate_id) = candidate_id else {
        return Ok(Some((
            None,
            template.render(&Recipient::sample(unsubscribe_url(0)))?,
        )));
    };
    let Some(candidate) = candidate::Entity::find_by_id(candidate_id).one(db).await? else {
        return Ok(None);
    };
    let claimed = [delivery::Claimed {
        id: 0,
        candidate_id: Some(candidate_id),
        recipient: candidate.email.clone(),
        attempts: 0,
    }];
    let info = delivery::recipients(db, &claimed)
        .await?
        .remove(&candidate_id);
    let Some(info) = info else { return Ok(None) };
    let rendered = template.render(&Recipient {
        first_name: info.first_name,
        full_name: info.full_name,
        campaign_title: info.campaign_title,
        unsubscribe_url: unsubscribe_url(candidate_id),
        self_service_url: format!(
            "{base_url}/me/{}",
            crate::tokens::sign_self_service(
                candidate_id,
                chrono::Utc::now() + chrono::Duration::days(SELF_SERVICE_PREVIEW_DAYS),
                secret_key
            )
        ),
    })?;
    Ok(Some((Some(candidate.email), rendered)))
}

/// A preview or test message's personal link works this long (sent messages use
/// `SELF_SERVICE_LINK_DAYS`).
const SELF_SERVICE_PREVIEW_DAYS: i64 = 1;

/// Why a state change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    /// The change does not apply in the current state.
    Conflict(String),
}

async fn transition(
    db: &DatabaseConnection,
    id: i64,
    from: &[Status],
    to: Status,
    reason: Option<&str>,
    extra: impl FnOnce(
        sea_orm::UpdateMany<newsletter::Entity>,
    ) -> sea_orm::UpdateMany<newsletter::Entity>,
    (actor, action): (Actor, &str),
) -> Result<Result<Newsletter, Refused>> {
    let Some(existing) = find(db, id).await? else {
        return Ok(Err(Refused::NotFound));
    };
    let txn = begin_write(db).await?;
    let update = newsletter::Entity::update_many()
        .col_expr(newsletter::Column::Status, Expr::value(to.as_str()))
        .col_expr(newsletter::Column::StatusReason, Expr::value(reason))
        .col_expr(newsletter::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(newsletter::Column::Id.eq(id))
        .filter(newsletter::Column::Status.is_in(from.iter().map(|s| s.as_str())));
    let changed = extra(update).exec(&txn).await?.rows_affected;
    if changed == 1 {
        audit::record(&txn, actor, action, "newsletter", Some(id), None).await?;
    }
    txn.commit().await?;
    if changed == 0 {
        return Ok(Err(Refused::Conflict(format!(
            "the newsletter is {}",
            status_of(&existing).as_str()
        ))));
    }
    Ok(Ok(find(db, id)
        .await?
        .ok_or(Error::Invalid("newsletter vanished".into()))?))
}

/// Sends now (`send_at` absent or not in the future) or schedules. Only drafts and
/// scheduled newsletters can be sent; the audience must not be empty.
pub async fn send(
    db: &DatabaseConnection,
    id: i64,
    send_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    actor: Actor,
) -> Result<Result<Newsletter, Refused>> {
    let Some(existing) = find(db, id).await? else {
        return Ok(Err(Refused::NotFound));
    };
    if segment_filter(db, existing.segment_id).await?.is_none() {
        return Ok(Err(Refused::Conflict(
            "the newsletter's segment is gone or its filter is no longer valid".into(),
        )));
    }
    let scheduled = send_at.filter(|at| *at > now);
    let (to, action) = match scheduled {
        Some(_) => (Status::Scheduled, "newsletter.scheduled"),
        None => (Status::Sending, "newsletter.sent"),
    };
    transition(
        db,
        id,
        &[Status::Draft, Status::Scheduled],
        to,
        None,
        |u| {
            let u = u.col_expr(newsletter::Column::SendAt, Expr::value(scheduled));
            if scheduled.is_none() {
                u.col_expr(newsletter::Column::StartedAt, Expr::value(Some(now)))
            } else {
                u
            }
        },
        (actor, action),
    )
    .await
}

pub async fn pause(
    db: &DatabaseConnection,
    id: i64,
    reason: Option<&str>,
    actor: Actor,
) -> Result<Result<Newsletter, Refused>> {
    transition(
        db,
        id,
        &[Status::Sending, Status::Scheduled],
        Status::Paused,
        reason,
        |u| u,
        (actor, "newsletter.paused"),
    )
    .await
}

pub async fn resume(
    db: &DatabaseConnection,
    id: i64,
    now: DateTime<Utc>,
    actor: Actor,
) -> Result<Result<Newsletter, Refused>> {
    transition(
        db,
        id,
        &[Status::Paused],
        Status::Sending,
        None,
        |u| {
            u.col_expr(
                newsletter::Column::StartedAt,
                Expr::col(newsletter::Column::StartedAt).if_null(now),
            )
        },
        (actor, "newsletter.resumed"),
    )
    .await
}

/// Cancels; deliveries not yet sent are skipped.
pub async fn cancel(
    db: &DatabaseConnection,
    id: i64,
    now: DateTime<Utc>,
    actor: Actor,
) -> Result<Result<Newsletter, Refused>> {
    let result = transition(
        db,
        id,
        &[
            Status::Draft,
            Status::Scheduled,
            Status::Sending,
            Status::Paused,
        ],
        Status::Cancelled,
        None,
        |u| u.col_expr(newsletter::Column::FinishedAt, Expr::value(Some(now))),
        (actor, "newsletter.cancelled"),
    )
    .await?;
    if result.is_ok() {
        skip_cancelled(db, id, now).await?;
    }
    Ok(result)
}

/// Skips the deliveries of a cancelled newsletter that are waiting, or were claimed by a
/// worker whose lease has run out. (Rows a worker still holds are released by it when it
/// sees the cancel, and it calls this again.)
pub async fn skip_cancelled(db: &DatabaseConnection, id: i64, now: DateTime<Utc>) -> Result<()> {
    use delivery_entity::Column as D;
    let txn = begin_write(db).await?;
    let skipped = delivery_entity::Entity::update_many()
        .col_expr(D::Status, Expr::value("skipped"))
        .col_expr(D::LastError, Expr::value("cancelled"))
        .col_expr(D::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
        .filter(D::NewsletterId.eq(id))
        .filter(
            Condition::any().add(D::Status.eq("queued")).add(
                Condition::all()
                    .add(D::Status.eq("sending"))
                    .add(D::LeaseUntil.lt(now)),
            ),
        )
        .exec(&txn)
        .await?
        .rows_affected;
    delivery::count(
        &txn,
        id,
        delivery::Counts {
            skipped,
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Skips what a crashed worker left claimed in cancelled newsletters, once its lease has
/// run out (run by every sender on each round).
pub async fn sweep_cancelled(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<()> {
    use delivery_entity::Column as D;
    let txn = begin_write(db).await?;
    let mut update = Query::update();
    update
        .table(delivery_entity::Entity)
        .value(D::Status, "skipped")
        .value(D::LastError, "cancelled")
        .value(D::LeaseUntil, None::<DateTime<Utc>>)
        .and_where(D::Status.eq("sending"))
        .and_where(D::LeaseUntil.lt(now))
        .and_where(
            D::NewsletterId.in_subquery(
                Query::select()
                    .column(newsletter::Column::Id)
                    .from(newsletter::Entity)
                    .and_where(newsletter::Column::Status.eq(Status::Cancelled.as_str()))
                    .take(),
            ),
        )
        .returning_col(D::NewsletterId);
    let backend = txn.get_database_backend();
    let rows = txn.query_all_raw(backend.build(&update)).await?;
    delivery::count_skipped_rows(&txn, &rows).await?;
    txn.commit().await?;
    Ok(())
}

/// A time entered in the secretariat's time zone (`2026-12-01T09:00`), or with an
/// explicit offset (RFC 3339).
pub fn parse_send_at(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())?;
    TIME_ZONE
        .from_local_datetime(&naive)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

/// A time shown in the secretariat's time zone.
pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&TIME_ZONE)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Starts scheduled newsletters whose time has come. One that is more than `max_late`
/// late (the server was down, say) is paused with the reason shown, for a person to
/// resume or cancel, instead of going out hours late. `now` is a parameter so that the
/// schedule can be tested with any clock.
pub async fn start_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    max_late: Duration,
) -> Result<Vec<i64>> {
    let due = newsletter::Entity::find()
        .filter(newsletter::Column::Status.eq(Status::Scheduled.as_str()))
        .filter(newsletter::Column::SendAt.lte(now))
        .all(db)
        .await?;
    let mut started = Vec::new();
    for n in due {
        let Some(send_at) = n.send_at else { continue };
        let result = if now - send_at > max_late {
            let reason = format!(
                "It was due at {} and is {} minutes late; check it and resume or cancel.",
                local_time(send_at),
                (now - send_at).num_minutes()
            );
            pause(db, n.id, Some(&reason), Actor::System).await?
        } else {
            transition(
                db,
                n.id,
                &[Status::Scheduled],
                Status::Sending,
                None,
                |u| u.col_expr(newsletter::Column::StartedAt, Expr::value(Some(now))),
                (Actor::System, "newsletter.started"),
            )
            .await?
        };
        if result.is_ok() {
            started.push(n.id);
        }
    }
    Ok(started)
}

/// Newsletters being sent whose ledger is not complete yet.
pub async fn unfrozen(db: &impl ConnectionTrait) -> Result<Vec<Newsletter>> {
    Ok(newsletter::Entity::find()
        .filter(newsletter::Column::Status.eq(Status::Sending.as_str()))
        .filter(newsletter::Column::FrozenAt.is_null())
        .all(db)
        .await?)
}

/// Writes the ledger: one delivery per recipient, in chunks of candidate ids. Every chunk
/// is `INSERT … SELECT … ON CONFLICT DO NOTHING`, so a freeze interrupted by a crash (or
/// run by two workers at once) is simply run again. The ledger is complete when
/// `frozen_at` is set; nothing is sent before.
pub async fn freeze(
    db: &DatabaseConnection,
    newsletter: &Newsletter,
    now: DateTime<Utc>,
) -> Result<()> {
    use candidate::Column as C;
    use delivery_entity::Column as D;
    let Some(filter) = segment_filter(db, newsletter.segment_id).await? else {
        // Refused only if someone changed the state meanwhile: nothing to do then.
        let _ = pause(
            db,
            newsletter.id,
            Some("The segment is gone or its filter is no longer valid."),
            Actor::System,
        )
        .await?;
        return Ok(());
    };
    let condition = audience(&filter);
    let backend = db.get_database_backend();
    let mut after = 0i64;
    loop {
        // The last id of the next chunk.
        let bound: Option<i64> = candidate::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(condition.clone())
            .filter(C::Id.gt(after))
            .order_by_asc(C::Id)
            .offset(FREEZE_CHUNK - 1)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        let select = Query::select()
            .expr(Expr::val(newsletter.id))
            .column(C::Id)
            .column(C::Email)
            .expr(Expr::val("queued"))
            .expr(Expr::val(0))
            .expr(Expr::val(now))
            .from(candidate::Entity)
            .cond_where(condition.clone())
            .and_where(C::Id.gt(after))
            .and_where_option(bound.map(|b| C::Id.lte(b)))
            .take();
        let insert = Query::insert()
            .into_table(delivery_entity::Entity)
            .columns([
                D::NewsletterId,
                D::CandidateId,
                D::Recipient,
                D::Status,
                D::Attempts,
                D::CreatedAt,
            ])
            .select_from(select)
            .map_err(|e| Error::Invalid(e.to_string()))?
            .on_conflict(
                OnConflict::columns([D::NewsletterId, D::CandidateId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let txn = begin_write(db).await?;
        txn.execute_raw(backend.build(&insert)).await?;
        txn.commit().await?;
        match bound {
            Some(b) => after = b,
            None => break,
        }
    }
    let recipients = delivery_entity::Entity::find()
        .filter(D::NewsletterId.eq(newsletter.id))
        .count(db)
        .await?;

    newsletter::Entity::update_many()
        .col_expr(newsletter::Column::FrozenAt, Expr::value(Some(now)))
        .col_expr(
            newsletter::Column::Recipients,
            Expr::value(i32::try_from(recipients).unwrap_or(i32::MAX)),
        )
        .filter(newsletter::Column::Id.eq(newsletter.id))
        .filter(newsletter::Column::FrozenAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a newsletter being sent as done once its ledger holds nothing left to send.
pub async fn finish_if_done(db: &DatabaseConnection, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let open = delivery_entity::Entity::find()
        .filter(delivery_entity::Column::NewsletterId.eq(id))
        .filter(delivery_entity::Column::Status.is_in(["queued", "sending"]))
        .limit(1)
        .count(db)
        .await?;
    if open > 0 {
        return Ok(false);
    }
    let changed = newsletter::Entity::update_many()
        .col_expr(
            newsletter::Column::Status,
            Expr::value(Status::Done.as_str()),
        )
        .col_expr(newsletter::Column::FinishedAt, Expr::value(Some(now)))
        .col_expr(newsletter::Column::UpdatedAt, Expr::value(now))
        .filter(newsletter::Column::Id.eq(id))
        .filter(newsletter::Column::Status.eq(Status::Sending.as_str()))
        .filter(newsletter::Column::FrozenAt.is_not_null())
        .exec(db)
        .await?
        .rows_affected;
    if changed == 1 {
        // The archive shows the ledger's own counts.
        write_recount(db, id).await?;
    }
    Ok(changed == 1)
}

/// Newsletters being sent with a complete ledger, oldest first.
pub async fn sending(db: &impl ConnectionTrait) -> Result<Vec<Newsletter>> {
    Ok(newsletter::Entity::find()
        .filter(newsletter::Column::Status.eq(Status::Sending.as_str()))
        .filter(newsletter::Column::FrozenAt.is_not_null())
        .order_by_asc(newsletter::Column::Id)
        .all(db)
        .await?)
}

/// What an unsubscribe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    Done,
    /// The candidate no longer exists.
    Unknown,
}

/// One-click unsubscribe: withdraws the newsletter consent (recorded with its time and
/// source), and every delivery to this candidate not yet sent is skipped.
pub async fn unsubscribe(
    db: &DatabaseConnection,
    token: UnsubscribeToken,
    source: &str,
    now: DateTime<Utc>,
) -> Result<Unsubscribed> {
    use delivery_entity::Column as D;
    let txn = begin_write(db).await?;
    let Some(candidate) = candidate::Entity::find_by_id(token.candidate_id)
        .one(&txn)
        .await?
    else {
        return Ok(Unsubscribed::Unknown);
    };
    consents::withdraw(&txn, candidate.id, Kind::Newsletter, source, now).await?;
    let was_subscribed = candidate.consent_newsletter;
    candidate::Entity::update_many()
        .col_expr(candidate::Column::ConsentNewsletter, Expr::value(false))
        .col_expr(candidate::Column::UpdatedAt, Expr::value(now))
        .filter(candidate::Column::Id.eq(candidate.id))
        .exec(&txn)
        .await?;
    let unsubscribes = delivery_entity::Entity::update_many()
        .col_expr(D::UnsubscribedAt, Expr::value(Some(now)))
        .filter(D::NewsletterId.eq(token.newsletter_id))
        .filter(D::CandidateId.eq(candidate.id))
        .filter(D::UnsubscribedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected;
    delivery::count(
        &txn,
        token.newsletter_id,
        delivery::Counts {
            unsubscribes,
            ..Default::default()
        },
    )
    .await?;
    let mut skip = Query::update();
    skip.table(delivery_entity::Entity)
        .value(D::Status, "skipped")
        .value(D::LastError, "unsubscribed")
        .and_where(D::CandidateId.eq(candidate.id))
        .and_where(D::Status.eq("queued"))
        .returning_col(D::NewsletterId);
    let backend = txn.get_database_backend();
    let skipped = txn.query_all_raw(backend.build(&skip)).await?;
    delivery::count_skipped_rows(&txn, &skipped).await?;
    if was_subscribed {
        audit::record(
            &txn,
            Actor::Candidate(candidate.id),
            "newsletter.unsubscribed",
            "newsletter",
            Some(token.newsletter_id),
            Some(serde_json::json!({ "source": source })),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Unsubscribed::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_oslo_time() {
        let winter = parse_send_at("2026-12-01T09:00").expect("parses");
        assert_eq!(winter.to_rfc3339(), "2026-12-01T08:00:00+00:00");
        let summer = parse_send_at("2026-07-01T09:00").expect("parses");
        assert_eq!(summer.to_rfc3339(), "2026-07-01T07:00:00+00:00");
        let explicit = parse_send_at("2026-12-01T09:00:00Z").expect("parses");
        assert_eq!(explicit.to_rfc3339(), "2026-12-01T09:00:00+00:00");
        assert_eq!(local_time(winter), "2026-12-01 09:00 CET");
        assert!(parse_send_at("tomorrow").is_none());
    }
}
