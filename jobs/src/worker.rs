//! Worker setup: apalis storage on the application's own connection pool, one worker
//! per queue with bounded concurrency, retries with exponential backoff, and a graceful
//! stop that lets running jobs finish.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use apalis::{
    layers::retry::{
        HasherRng,
        backoff::{ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff},
    },
    prelude::*,
};
use apalis_postgres::{Config as PgConfig, PostgresStorage, Pubsub};
use apalis_sqlite::{Config as SqliteConfig, SqliteStorage};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use talentpool_core::queue::{
    CANDIDATE_EMAIL_QUEUE, COMPANY_EMAIL_QUEUE, CandidateEmail, CompanyEmail,
};
use tokio_util::sync::CancellationToken;

use crate::{Error, JobContext, candidate_email, company_email};

/// Indexes of apalis's first migration over the same columns as a primary key or an
/// index its later migrations added, which do not drop them. Every job written (one per
/// sign-up) paid for the duplicates on PostgreSQL. (`apalis.unique_worker_id` stays:
/// apalis's foreign key from `jobs.lock_by` to the workers depends on it.)
const DUPLICATE_POSTGRES_INDEXES: [&str; 4] = [
    "apalis.unique_job_id",
    "apalis.lidx",
    "apalis.wtidx",
    "apalis.lsidx",
];
const DUPLICATE_SQLITE_INDEXES: [&str; 1] = ["Idx"];

/// Creates apalis's tables (SQLite: `Jobs`, `Workers`; PostgreSQL: schema `apalis`).
/// Part of `talentpool migrate`.
pub async fn setup_storage(db: &DatabaseConnection) -> Result<(), Error> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            SqliteStorage::setup(db.get_sqlite_connection_pool())
                .await
                .map_err(|e| Error::Queue(e.to_string()))?;
            talentpool_core::db::restore_sqlite_pragmas(db).await?;
            drop_indexes(db, &DUPLICATE_SQLITE_INDEXES).await?;
        }
        DbBackend::Postgres => {
            PostgresStorage::setup(db.get_postgres_connection_pool())
                .await
                .map_err(|e| Error::Queue(e.to_string()))?;
            drop_indexes(db, &DUPLICATE_POSTGRES_INDEXES).await?;
        }
        other => return Err(Error::Queue(format!("unsupported database {other:?}"))),
    }
    Ok(())
}

async fn drop_indexes(db: &DatabaseConnection, names: &[&str]) -> Result<(), Error> {
    for name in names {
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
            .await?;
    }
    Ok(())
}

/// Wakes an idle worker every `period` to look for jobs. apalis's own interval strategy
/// replaces its timer when it fires without arming the new one, so an idle worker may
/// sleep until something else wakes it; this one always leaves a timer armed with the
/// worker's waker.
struct Ticker {
    period: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Ticker {
    fn new(period: Duration) -> Self {
        Self {
            period,
            sleep: Box::pin(tokio::time::sleep(period)),
        }
    }
}

impl PollStrategy for Ticker {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _snapshot: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        while self.sleep.as_mut().poll(cx).is_ready() {
            fired = true;
            let next = tokio::time::Instant::now() + self.period;
            self.sleep.as_mut().reset(next);
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}

const CONCURRENCY: usize = 4;
const RETRIES: usize = 5;

fn worker_name(queue: &str) -> String {
    format!("{queue}-{}-{}", std::process::id(), ulid::Ulid::generate())
}

fn backoff() -> Result<ExponentialBackoff<HasherRng>, Error> {
    ExponentialBackoffMaker::new(
        Duration::from_millis(500),
        Duration::from_secs(60),
        0.5,
        HasherRng::default(),
    )
    .map(|mut maker| maker.make_backoff())
    .map_err(|e| Error::Queue(e.to_string()))
}

/// Runs the workers until `shutdown` is cancelled; then waits for running jobs.
pub async fn run_workers(ctx: JobContext, shutdown: CancellationToken) -> Result<(), Error> {
    // apalis's interval poll strategy can stop waking an idle worker: workers poll with
    // `Ticker` instead, and the heartbeat also runs at the poll interval (a worker
    // counts as gone only after a minute of missed heartbeats).
    let poll = Duration::from_millis(ctx.settings.job_poll_millis.max(10));
    let missed_heartbeats = usize::try_from((60_000 / poll.as_millis()).max(2)).unwrap_or(2);
    let backoff = backoff()?;
    let retention = tokio::spawn(run_retention(ctx.clone(), shutdown.clone()));
    // Newsletters are sent from their delivery ledger, not through apalis jobs: their
    // progress must not depend on apalis's acknowledgements (see `newsletter`).
    let newsletters = tokio::spawn(crate::newsletter::run(ctx.clone(), shutdown.clone()));
    let signal = async move {
        shutdown.cancelled().await;
        Ok(())
    };
    let monitor = match ctx.db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = ctx.db.get_sqlite_connection_pool().clone();
            let config = |queue: &str| {
                SqliteConfig::default()
                    .queue(queue)
                    .heartbeat_interval(poll)
                    .missed_heartbeats(missed_heartbeats)
            };
            let storage = SqliteStorage::<CandidateEmail>::new(&pool)
                .with_config(config(CANDIDATE_EMAIL_QUEUE));
            let company_storage =
                SqliteStorage::<CompanyEmail>::new(&pool).with_config(config(COMPANY_EMAIL_QUEUE));
            let (company_ctx, company_backoff) = (ctx.clone(), backoff.clone());
            Monitor::new()
                .register(move |_restarts| {
                    WorkerBuilder::new(worker_name(CANDIDATE_EMAIL_QUEUE))
                        .backend(storage.clone().poll_with_strategy(Ticker::new(poll)))
                        .data(ctx.clone())
                        .concurrency(CONCURRENCY)
                        .retry(RetryPolicy::retries(RETRIES).with_backoff(backoff.clone()))
                        .build(candidate_email::handle)
                })
                .register(move |_restarts| {
                    WorkerBuilder::new(worker_name(COMPANY_EMAIL_QUEUE))
                        .backend(
                            company_storage
                                .clone()
                                .poll_with_strategy(Ticker::new(poll)),
                        )
                        .data(company_ctx.clone())
                        .concurrency(CONCURRENCY)
                        .retry(RetryPolicy::retries(RETRIES).with_backoff(company_backoff.clone()))
                        .build(company_email::handle)
                })
        }
        DbBackend::Postgres => {
            let pool = ctx.db.get_postgres_connection_pool().clone();
            let config = |queue: &str| {
                PgConfig::default()
                    .queue(queue)
                    .heartbeat_interval(poll)
                    .missed_heartbeats(missed_heartbeats)
            };
            let storage = PostgresStorage::<CandidateEmail>::new(&pool)
                .with_config(config(CANDIDATE_EMAIL_QUEUE));
            let company_storage = PostgresStorage::<CompanyEmail>::new(&pool)
                .with_config(config(COMPANY_EMAIL_QUEUE));
            let (company_ctx, company_backoff, company_pool) =
                (ctx.clone(), backoff.clone(), pool.clone());
            Monitor::new()
                .register(move |_restarts| {
                    let strategy = Strategy::new()
                        .stream(Pubsub::new(pool.clone(), CANDIDATE_EMAIL_QUEUE.to_owned()))
                        .apply(Ticker::new(poll));
                    WorkerBuilder::new(worker_name(CANDIDATE_EMAIL_QUEUE))
                        .backend(storage.clone().poll_with_strategy(strategy))
                        .data(ctx.clone())
                        .concurrency(CONCURRENCY)
                        .retry(RetryPolicy::retries(RETRIES).with_backoff(backoff.clone()))
                        .build(candidate_email::handle)
                })
                .register(move |_restarts| {
                    let strategy = Strategy::new()
                        .stream(Pubsub::new(
                            company_pool.clone(),
                            COMPANY_EMAIL_QUEUE.to_owned(),
                        ))
                        .apply(Ticker::new(poll));
                    WorkerBuilder::new(worker_name(COMPANY_EMAIL_QUEUE))
                        .backend(company_storage.clone().poll_with_strategy(strategy))
                        .data(company_ctx.clone())
                        .concurrency(CONCURRENCY)
                        .retry(RetryPolicy::retries(RETRIES).with_backoff(company_backoff.clone()))
                        .build(company_email::handle)
                })
        }
        other => return Err(Error::Queue(format!("unsupported database {other:?}"))),
    };
    let result = monitor
        .run_with_signal(signal)
        .await
        .map_err(|e| Error::Queue(e.to_string()));
    let _ = retention.await;
    let _ = newsletters.await;
    result
}

/// Hourly retention: unconfirmed sign-ups deleted, inactive candidates asked whether
/// they are still interested, unanswered ones erased (see `talentpool_core::retention`).
/// Every worker process runs it; each step is idempotent.
async fn run_retention(ctx: JobContext, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    let periods = talentpool_core::retention::Periods {
        unconfirmed_days: ctx.settings.unconfirmed_retention_days,
        inactive_days: ctx.settings.inactive_after_days,
        answer_days: ctx.settings.keep_answer_days,
    };
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        match talentpool_core::retention::run(
            &ctx.db,
            ctx.files.as_ref(),
            chrono::Utc::now(),
            periods,
        )
        .await
        {
            Ok(counts) => tracing::info!(?counts, "retention run"),
            Err(e) => tracing::error!(error = %e, "retention run failed"),
        }
    }
}
