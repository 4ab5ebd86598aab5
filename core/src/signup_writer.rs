//! Sign-ups in group commits. Every sign-up waiting at the same moment is written in
//! one transaction by [`candidates::sign_up_many`], and each caller gets its own outcome
//! once that transaction has committed. Under load this turns a commit and seven
//! statements per sign-up into one commit and a handful of multi-row statements per
//! batch; with one sign-up at a time it is the same single transaction as ever.
//!
//! Nothing changes for the caller: the answer comes after the commit, a known address
//! becomes a pending sign-up, the email job is in the same transaction. If a batch
//! fails as a whole, each of its sign-ups is written again in a transaction of its own,
//! so one bad sign-up cannot fail the others. The writers run in their own tasks, so a
//! client that hangs up cannot cut a transaction short.

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::{
    Error, Result,
    candidates::{self, NewSignup, SignupOutcome},
};

/// Sign-ups per transaction, at most.
pub const MAX_BATCH: usize = 128;

struct Waiting {
    signup: NewSignup,
    reply: oneshot::Sender<Result<SignupOutcome>>,
}

/// The handle the web app records sign-ups through.
#[derive(Clone)]
pub struct SignupWriter {
    queue: mpsc::Sender<Waiting>,
}

impl SignupWriter {
    /// Starts the writer task, which stops when the last handle is dropped, with as
    /// many batches in flight at once as suit the database: one on SQLite, which allows
    /// one writer at a time; two on PostgreSQL, where the next batch runs while the last
    /// one commits (measured 9 % more sign-ups per second than one at 64 connections,
    /// no gain from a third; see `bench/README.md`).
    pub fn start(db: DatabaseConnection) -> Self {
        let in_flight = match db.get_database_backend() {
            DbBackend::Postgres => 2,
            _ => 1,
        };
        Self::start_with(db, in_flight)
    }

    /// Like [`SignupWriter::start`], with at most `in_flight` batches written at once.
    pub fn start_with(db: DatabaseConnection, in_flight: usize) -> Self {
        let (queue, waiting) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(write_batches(db, waiting, in_flight.max(1)));
        Self { queue }
    }

    /// Records one sign-up; returns once it is committed.
    pub async fn sign_up(&self, signup: NewSignup) -> Result<SignupOutcome> {
        let (reply, outcome) = oneshot::channel();
        self.queue
            .send(Waiting { signup, reply })
            .await
            .map_err(|_| Error::Invalid("the sign-up writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| Error::Invalid("the sign-up writer dropped a sign-up".into()))?
    }
}

/// Under load, how long a batch that found only a few sign-ups waiting may wait for
/// more to arrive.
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// Collects the sign-ups waiting into a batch whenever a writing slot is free, and
/// writes it in a task of its own; while every slot is taken, the next batch grows.
async fn write_batches(
    db: DatabaseConnection,
    mut waiting: mpsc::Receiver<Waiting>,
    in_flight: usize,
) {
    let slots = Arc::new(Semaphore::new(in_flight));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut previous = 0;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        if waiting.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        // A batch costs about as much to commit for one sign-up as for sixty: when the
        // last batch was large and this one is not, the rest of the wave is on its way.
        if previous >= 8 && batch.len() < previous / 2 {
            let until = tokio::time::Instant::now() + LINGER;
            while batch.len() < previous {
                let room = MAX_BATCH - batch.len();
                match tokio::time::timeout_at(until, waiting.recv_many(&mut batch, room)).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        previous = batch.len();
        let (signups, replies): (Vec<NewSignup>, Vec<_>) =
            batch.drain(..).map(|w| (w.signup, w.reply)).unzip();
        let db = db.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let outcomes = write(&db, &signups).await;
            tracing::debug!(
                signups = signups.len(),
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "sign-up batch written"
            );
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // The caller may have gone (a client that hung up); the sign-up stands.
                let _ = reply.send(outcome);
            }
            drop(slot);
        });
    }
}

/// Writes a batch of sign-ups together and returns an outcome for each, in order. If
/// the batch fails as a whole, each sign-up is written on its own, so that only the
/// sign-up at fault fails.
pub async fn write(db: &DatabaseConnection, signups: &[NewSignup]) -> Vec<Result<SignupOutcome>> {
    match candidates::sign_up_many(db, signups).await {
        Ok(outcomes) => outcomes,
        Err(e) if signups.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, signups = signups.len(), "a batch of sign-ups failed; writing them one by one");
            let mut outcomes = Vec::with_capacity(signups.len());
            for signup in signups {
                outcomes.push(
                    match candidates::sign_up_many(db, std::slice::from_ref(signup)).await {
                        Ok(mut one) => one.pop().unwrap_or_else(|| {
                            Err(Error::Invalid("no outcome for a sign-up".into()))
                        }),
                        Err(e) => Err(e),
                    },
                );
            }
            outcomes
        }
    }
}
