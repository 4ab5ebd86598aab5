//! The newsletter sender that runs in every worker process.
//!
//! Each tick it starts scheduled newsletters that are due, writes the ledger of
//! newsletters that just started, and sends: a claimer takes batches of deliveries from
//! the ledger with a lease, `NEWSLETTER_CONCURRENCY` connection tasks each hold one SMTP
//! connection (opened with `TCP_NODELAY` by `mail::smtp`), and one writer records
//! outcomes in group commits.
//!
//! **Exactly once.** A connection task sends one message, hands the outcome to the
//! writer and sends nothing more until that outcome is committed; one commit covers the
//! outcomes of every connection at that instant. So when a process is killed, at most
//! one message per open SMTP connection was accepted by the server but not recorded:
//! that delivery is still `sending` and is sent again once its lease runs out. Nothing
//! else can be sent twice: a claim gives each row to one worker (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), and a task never starts sending
//! a row whose lease is about to run out. Nothing is lost: every recipient has a ledger
//! row before the first message goes out, and a row leaves `queued`/`sending` only when
//! its outcome is committed. The Message-ID is derived from the delivery, so a repeated
//! message carries the same Message-ID as the first.
//!
//! Progress and state live in the ledger and the newsletter row, not in the job queue.

use std::{
    collections::VecDeque,
    num::NonZeroU32,
    sync::{Arc, Mutex as StdMutex, RwLock as StdRwLock},
    time::Duration,
};

use chrono::Utc;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lettre::{
    Message,
    address::Envelope,
    message::{
        Mailbox, MultiPart,
        header::{self, HeaderName, HeaderValue},
    },
    transport::smtp::client::AsyncSmtpConnection,
};
use sea_orm::{ActiveValue::NotSet, ActiveValue::Set, EntityTrait};
use talentpool_core::{
    audit::Actor,
    entities::outbox_message,
    mail::smtp,
    newsletters::{
        self, Newsletter, NewsletterTemplate, Recipient, Status, UnsubscribeToken,
        delivery::{self, Claimed, Outcome, RecipientInfo},
        senders,
    },
};
use tokio::{
    sync::{Mutex, mpsc, oneshot},
    time::Instant,
};
use tokio_util::sync::CancellationToken;

use crate::JobContext;

/// Deliveries claimed per statement (at most).
const CLAIM_BATCH: u64 = 500;
/// A sender vacuums the ledger (PostgreSQL) after claiming this many deliveries, so that
/// the dead entries every delivery leaves do not pile up for the searches at the end.
const VACUUM_EVERY: u64 = 100_000;
/// A claimed delivery is not started when less than this is left of its lease.
const LEASE_MARGIN: Duration = Duration::from_secs(1);
/// Attempts before a temporary failure is given up.
const MAX_ATTEMPTS: i32 = 6;
/// Auto-pause: this many of the last `FAILURE_WINDOW` attempts failed.
const FAILURE_WINDOW: usize = 50;
const FAILURE_THRESHOLD: usize = 25;

/// Where newsletters go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Smtp(smtp::Server),
    /// Development without `SMTP_URL`: the outbox table.
    Outbox,
}

impl Target {
    pub fn parse(url: Option<&str>) -> Result<Self, String> {
        match url {
            Some(url) => smtp::Server::parse(url).map(Self::Smtp),
            None => Ok(Self::Outbox),
        }
    }
}

struct Shared {
    ctx: JobContext,
    newsletter: Newsletter,
    template: NewsletterTemplate,
    target: Target,
    from: Mailbox,
    domain: String,
    rate: Arc<RateShare>,
    stop: CancellationToken,
    /// Recent attempts (true: failed), for the auto-pause.
    recent: StdMutex<VecDeque<bool>>,
}

struct Work {
    claimed: Claimed,
    info: RecipientInfo,
    lease_ends: Instant,
}

type Reply = (Outcome, Option<oneshot::Sender<()>>);

/// `SEND_RATE_PER_SEC` is the rate of all sending processes together: this process
/// sends at its share, which the heartbeat keeps up to date.
struct RateShare {
    total: Option<NonZeroU32>,
    current: StdRwLock<Option<(u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl RateShare {
    fn new(total: u32) -> Self {
        let share = Self {
            total: NonZeroU32::new(total),
            current: StdRwLock::new(None),
        };
        share.set_alive(1);
        share
    }

    /// `alive` senders share the rate now.
    fn set_alive(&self, alive: u32) {
        let Some(total) = self.total else { return };
        let per_second = senders::share(total.get(), alive);
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.as_ref().map(|(rate, _)| *rate) != Some(per_second) {
            *current = NonZeroU32::new(per_second).map(|rate| (rate.get(), Arc::new(smooth(rate))));
        }
    }

    /// This process's messages per second; `None`: no limit.
    fn per_second(&self) -> Option<u32> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|(rate, _)| *rate)
    }

    fn limiter(&self) -> Option<Arc<DefaultDirectRateLimiter>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|(_, limiter)| limiter.clone())
    }
}

/// A smooth limit: one message every 1/rate seconds, with a burst of at most 20 ms worth
/// of messages, so that timer granularity (1 ms) cannot hold the rate below the limit;
/// never "N at once, then sleep a second".
fn smooth(rate: NonZeroU32) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new(rate.get() / 50).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

/// Records this process among the senders alive about once a second and updates its
/// share of the rate; leaves when `shutdown` is cancelled.
async fn heartbeat(
    ctx: JobContext,
    worker: String,
    rate: Arc<RateShare>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => break,
        }
        match senders::beat(&ctx.db, &worker, Utc::now()).await {
            Ok(alive) => rate.set_alive(alive),
            Err(e) => tracing::warn!(error = %e, "newsletter sender heartbeat"),
        }
    }
    if let Err(e) = senders::leave(&ctx.db, &worker).await {
        tracing::warn!(error = %e, "newsletter sender could not sign off");
    }
}

/// The sender loop of one worker process; returns when `shutdown` is cancelled, after
/// the messages in flight are recorded.
pub async fn run(ctx: JobContext, shutdown: CancellationToken) {
    let worker = format!(
        "{}-{}",
        std::process::id(),
        ulid::Ulid::generate().to_string().to_lowercase()
    );
    let target = match Target::parse(ctx.settings.smtp_url.as_deref()) {
        Ok(target) => target,
        Err(e) => {
            tracing::error!(error = %e, "newsletters cannot be sent");
            return;
        }
    };
    let rate = Arc::new(RateShare::new(ctx.settings.send_rate_per_sec));
    // Only a rate is shared: without one, nobody needs to know who is sending.
    let beating = rate.total.is_some().then(|| {
        tokio::spawn(heartbeat(
            ctx.clone(),
            worker.clone(),
            rate.clone(),
            shutdown.clone(),
        ))
    });
    let poll = Duration::from_millis(ctx.settings.job_poll_millis.clamp(10, 1000));
    loop {
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = shutdown.cancelled() => break,
        }
        if let Err(e) = tick(&ctx, &worker, &target, rate.clone(), &shutdown).await {
            tracing::error!(error = %e, "newsletter sender");
        }
    }
    if let Some(beating) = beating {
        let _ = beating.await;
    }
}

async fn tick(
    ctx: &JobContext,
    worker: &str,
    target: &Target,
    rate: Arc<RateShare>,
    shutdown: &CancellationToken,
) -> Result<(), crate::Error> {
    let max_late = chrono::Duration::minutes(i64::from(ctx.settings.newsletter_max_late_minutes));
    newsletters::start_due(&ctx.db, Utc::now(), max_late).await?;
    newsletters::sweep_cancelled(&ctx.db, Utc::now()).await?;
    for newsletter in newsletters::unfrozen(&ctx.db).await? {
        newsletters::freeze(&ctx.db, &newsletter, Utc::now()).await?;
    }
    for newsletter in newsletters::sending(&ctx.db).await? {
        if shutdown.is_cancelled() {
            break;
        }
        send_newsletter(ctx, worker, target, rate.clone(), newsletter, shutdown).await?;
    }
    Ok(())
}

async fn send_newsletter(
    ctx: &JobContext,
    worker: &str,
    target: &Target,
    rate: Arc<RateShare>,
    newsletter: Newsletter,
    shutdown: &CancellationToken,
) -> Result<(), crate::Error> {
    let id = newsletter.id;
    let template = match NewsletterTemplate::compile(
        &newsletter.subject,
        &newsletter.body_markdown,
        ctx.settings.url("/privacy"),
    ) {
        Ok(t) => t,
        Err(problems) => {
            let reason = problems
                .iter()
                .map(|p| p.describe())
                .collect::<Vec<_>>()
                .join("; ");
            let _ = newsletters::pause(&ctx.db, id, Some(&reason), Actor::System).await?;
            return Ok(());
        }
    };
    let from: Mailbox = ctx
        .settings
        .mail_from
        .parse()
        .map_err(|e| crate::Error::Queue(format!("MAIL_FROM: {e}")))?;
    let shared = Arc::new(Shared {
        domain: from.email.domain().to_owned(),
        from,
        ctx: ctx.clone(),
        newsletter,
        template,
        target: target.clone(),
        rate,
        stop: shutdown.child_token(),
        recent: StdMutex::new(VecDeque::with_capacity(FAILURE_WINDOW)),
    });
    let concurrency = ctx.settings.newsletter_concurrency as usize;
    let capacity = (CLAIM_BATCH as usize).max(concurrency * 4);
    let (work_tx, work_rx) = mpsc::channel::<Work>(capacity);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (out_tx, out_rx) = mpsc::channel::<Reply>(capacity + concurrency);
    let writer = tokio::spawn(write_outcomes(shared.clone(), out_rx));
    let connections: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(connection(shared.clone(), work_rx.clone(), out_tx.clone())))
        .collect();
    let lease = chrono::Duration::seconds(i64::from(ctx.settings.newsletter_lease_secs));
    let lease_std = Duration::from_secs(u64::from(ctx.settings.newsletter_lease_secs));
    let mut checked = Instant::now();
    // Where the last claim ended (see `delivery::claim`).
    let mut from = 0;
    let (mut claims, mut claim_total, mut claim_max) = (0u32, Duration::ZERO, Duration::ZERO);
    let mut since_vacuum = 0u64;
    let mut vacuum: Option<tokio::task::JoinHandle<()>> = None;
    let result = async {
        loop {
            if shared.stop.is_cancelled() {
                break;
            }
            if checked.elapsed() >= Duration::from_millis(250) {
                checked = Instant::now();
                let current = newsletters::find(&ctx.db, id).await?;
                if current.as_ref().map(newsletters::status_of) != Some(Status::Sending) {
                    shared.stop.cancel();
                    break;
                }
            }
            let free = work_tx.capacity() as u64;
            let mut want = free.min(CLAIM_BATCH);
            let mut least = (concurrency as u64).min(CLAIM_BATCH);
            if let Some(per_second) = shared.rate.per_second() {
                // Claim only what this process starts well within the lease at its
                // share of the rate: at most half the lease (less the margin) worth,
                // counting what is claimed and not yet taken.
                let window = lease_std.saturating_sub(LEASE_MARGIN).as_secs_f64() / 2.0;
                let most = ((f64::from(per_second) * window) as u64).max(1);
                let waiting = (capacity as u64).saturating_sub(free);
                want = want.min(most.saturating_sub(waiting));
                least = least.min(most);
            }
            if want == 0 || want < least {
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            let claimed_at = Instant::now();
            let claimed =
                delivery::claim(&ctx.db, id, worker, want, Utc::now(), lease, &mut from).await?;
            let took = claimed_at.elapsed();
            if !claimed.is_empty() {
                claims += 1;
                claim_total += took;
                claim_max = claim_max.max(took);
                since_vacuum += claimed.len() as u64;
                if since_vacuum >= VACUUM_EVERY && vacuum.as_ref().is_none_or(|v| v.is_finished()) {
                    since_vacuum = 0;
                    let db = ctx.db.clone();
                    vacuum = Some(tokio::spawn(async move {
                        if let Err(e) = delivery::vacuum(&db).await {
                            tracing::warn!(error = %e, "vacuuming the delivery ledger failed");
                        }
                    }));
                }
            }
            if claimed.is_empty() {
                if work_tx.capacity() < capacity {
                    // The connections are still busy with what was claimed: look again
                    // in a moment (each look searches the whole ledger).
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                // Nothing to claim now (done, or retries and other workers' leases not
                // yet due): end this round, so that other newsletters get their turn.
                break;
            }
            let infos = delivery::recipients(&ctx.db, &claimed).await?;
            let mut skipped = Vec::new();
            for claimed in claimed {
                match claimed.candidate_id.and_then(|c| infos.get(&c)) {
                    None => skipped.push(Outcome::Skipped {
                        id: claimed.id,
                        reason: "erased",
                    }),
                    Some(info) if info.skip.is_some() => skipped.push(Outcome::Skipped {
                        id: claimed.id,
                        reason: info.skip.unwrap_or("skipped"),
                    }),
                    Some(info) => {
                        let work = Work {
                            info: info.clone(),
                            claimed,
                            lease_ends: claimed_at + lease_std,
                        };
                        if work_tx.send(work).await.is_err() {
                            break;
                        }
                    }
                }
            }
            for outcome in skipped {
                let _ = out_tx.send((outcome, None)).await;
            }
        }
        Ok::<(), crate::Error>(())
    }
    .await;
    if result.is_err() {
        shared.stop.cancel();
    }
    drop(work_tx);
    for task in connections {
        let _ = task.await;
    }
    drop(out_tx);
    let _ = writer.await;
    if claims > 0 {
        tracing::info!(
            newsletter = id,
            claims,
            claim_ms_max = claim_max.as_secs_f64() * 1000.0,
            claim_ms_mean = claim_total.as_secs_f64() * 1000.0 / f64::from(claims),
            "delivery claims"
        );
    }
    let status = newsletters::find(&ctx.db, id)
        .await?
        .as_ref()
        .map(newsletters::status_of);
    if status == Some(Status::Cancelled) {
        newsletters::skip_cancelled(&ctx.db, id, Utc::now()).await?;
    } else if status == Some(Status::Sending)
        && newsletters::finish_if_done(&ctx.db, id, Utc::now()).await?
    {
        tracing::info!(newsletter = id, "newsletter sent");
    }
    result
}

enum Connection {
    Smtp(Box<AsyncSmtpConnection>),
    Outbox,
}

async fn connect(target: &Target) -> Result<Connection, String> {
    match target {
        Target::Smtp(server) => Ok(Connection::Smtp(Box::new(server.connect().await?))),
        Target::Outbox => Ok(Connection::Outbox),
    }
}

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");
const LIST_ID: HeaderName = HeaderName::new_from_ascii_str("List-Id");

/// Builds the message of one delivery.
fn build(shared: &Shared, work: &Work) -> Result<(Message, String), String> {
    let settings = &shared.ctx.settings;
    let candidate_id = work.claimed.candidate_id.unwrap_or_default();
    let token = UnsubscribeToken {
        newsletter_id: shared.newsletter.id,
        candidate_id,
    }
    .sign(&settings.secret_key);
    let unsubscribe_url = settings.url(&format!("/u/{token}"));
    let rendered = shared
        .template
        .render(&Recipient {
            first_name: work.info.first_name.clone(),
            full_name: work.info.full_name.clone(),
            campaign_title: work.info.campaign_title.clone(),
            unsubscribe_url: unsubscribe_url.clone(),
            self_service_url: settings.url(&format!(
                "/me/{}",
                talentpool_core::tokens::sign_self_service(
                    candidate_id,
                    chrono::Utc::now() + chrono::Duration::days(settings.self_service_link_days),
                    &settings.secret_key,
                )
            )),
        })
        .map_err(|e| format!("template: {e}"))?;
    let to: Mailbox = work
        .claimed
        .recipient
        .parse()
        .map_err(|e| format!("bad address: {e}"))?;
    let message_id = format!(
        "<newsletter-{}.delivery-{}@{}>",
        shared.newsletter.id, work.claimed.id, shared.domain
    );
    let mailto = format!("mailto:{}?subject=unsubscribe%20{token}", shared.from.email);
    let message = Message::builder()
        .from(shared.from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(message_id.clone()))
        .date_now()
        .header(header::MIME_VERSION_1_0)
        .raw_header(HeaderValue::new(
            LIST_UNSUBSCRIBE,
            format!("<{unsubscribe_url}>, <{mailto}>"),
        ))
        .raw_header(HeaderValue::new(
            LIST_UNSUBSCRIBE_POST,
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            LIST_ID,
            format!("Talent Pool newsletter <newsletter.{}>", shared.domain),
        ))
        .multipart(MultiPart::alternative_plain_html(
            rendered.text,
            rendered.html,
        ))
        .map_err(|e| e.to_string())?;
    Ok((message, message_id))
}

fn retry_at(shared: &Shared, attempts: i32) -> chrono::DateTime<Utc> {
    let base = i64::from(shared.ctx.settings.newsletter_retry_secs);
    let factor = 1i64 << attempts.clamp(1, 10).saturating_sub(1);
    Utc::now() + chrono::Duration::seconds((base * factor).min(6 * 3600))
}

/// Sends one delivery and classifies the result.
async fn deliver(
    shared: &Shared,
    connection: &mut Option<Connection>,
    work: &Work,
    built: Result<(Message, String), String>,
) -> Outcome {
    let id = work.claimed.id;
    let temporary = |error: String| {
        if work.claimed.attempts >= MAX_ATTEMPTS {
            Outcome::Failed {
                id,
                error: format!("gave up after {MAX_ATTEMPTS} attempts: {error}"),
                email: None,
            }
        } else {
            Outcome::Retry {
                id,
                error,
                at: retry_at(shared, work.claimed.attempts),
            }
        }
    };
    let (message, _message_id) = match built {
        Ok(built) => built,
        Err(error) => {
            return Outcome::Failed {
                id,
                error,
                email: None,
            };
        }
    };
    if connection.is_none() {
        match connect(&shared.target).await {
            Ok(c) => *connection = Some(c),
            Err(e) => return temporary(format!("connection: {e}")),
        }
    }
    match connection {
        Some(Connection::Smtp(smtp)) => {
            let envelope: &Envelope = message.envelope();
            match smtp.send(envelope, &message.formatted()).await {
                Ok(_) => Outcome::Sent { id },
                Err(e) => {
                    // lettre has closed the connection after an error reply.
                    *connection = None;
                    if e.is_permanent() {
                        Outcome::Failed {
                            id,
                            error: e.to_string(),
                            email: Some(work.claimed.recipient.clone()),
                        }
                    } else {
                        temporary(e.to_string())
                    }
                }
            }
        }
        Some(Connection::Outbox) | None => {
            let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
            let subject = message
                .headers()
                .get_raw("Subject")
                .unwrap_or_default()
                .to_owned();
            match outbox_message::Entity::insert(outbox_message::ActiveModel {
                id: NotSet,
                recipient: Set(work.claimed.recipient.clone()),
                subject: Set(subject),
                raw: Set(raw),
                created_at: Set(Utc::now()),
            })
            .exec(&shared.ctx.db)
            .await
            {
                Ok(_) => Outcome::Sent { id },
                Err(e) => temporary(e.to_string()),
            }
        }
    }
}

/// One SMTP connection: one message at a time, the next only after the outcome of the
/// previous one is committed.
async fn connection(
    shared: Arc<Shared>,
    work: Arc<Mutex<mpsc::Receiver<Work>>>,
    outcomes: mpsc::Sender<Reply>,
) {
    let mut connection: Option<Connection> = None;
    // The acknowledgement of the last message sent: the next one goes out only after it.
    let mut pending: Option<oneshot::Receiver<()>> = None;
    loop {
        // The permit first, then the delivery: a delivery taken is sent at once, so
        // the time it waits (against its lease) is only the time in the queue.
        if let Some(limiter) = shared.rate.limiter() {
            tokio::select! {
                () = limiter.until_ready() => {}
                () = shared.stop.cancelled() => {}
            }
        }
        let next = work.lock().await.recv().await;
        let Some(item) = next else { break };
        if shared.stop.is_cancelled() {
            // Paused, cancelled or shutting down: back to the queue, not attempted.
            let _ = outcomes
                .send((
                    Outcome::Released {
                        id: item.claimed.id,
                    },
                    None,
                ))
                .await;
            continue;
        }
        // Render while the previous outcome is being committed.
        let built = build(&shared, &item);
        // Durable before the next message: the bound on duplicates after a crash.
        if let Some(acked) = pending.take()
            && acked.await.is_err()
        {
            break;
        }
        if Instant::now() + LEASE_MARGIN >= item.lease_ends {
            // Too late to start: another worker may take it over now. It stays
            // `sending` and is claimed again once its lease has run out.
            continue;
        }
        let outcome = deliver(&shared, &mut connection, &item, built).await;
        let (ack, acked) = oneshot::channel();
        if outcomes.send((outcome, Some(ack))).await.is_err() {
            break;
        }
        pending = Some(acked);
    }
    if let Some(acked) = pending {
        let _ = acked.await;
    }
    if let Some(Connection::Smtp(mut smtp)) = connection {
        let _ = smtp.quit().await;
    }
}

/// Records outcomes in group commits and acknowledges them once durable; pauses the
/// newsletter when too many recent attempts failed.
async fn write_outcomes(shared: Arc<Shared>, mut replies: mpsc::Receiver<Reply>) {
    let mut batch: Vec<Outcome> = Vec::new();
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some((first, ack)) = replies.recv().await {
        batch.push(first);
        acks.extend(ack);
        while batch.len() < 2048 {
            match replies.try_recv() {
                Ok((outcome, ack)) => {
                    batch.push(outcome);
                    acks.extend(ack);
                }
                Err(_) => break,
            }
        }
        let mut wait = Duration::from_millis(100);
        while let Err(e) =
            delivery::record(&shared.ctx.db, shared.newsletter.id, &batch, Utc::now()).await
        {
            // Nothing is acknowledged (so nothing more is sent) until this succeeds.
            tracing::error!(error = %e, "could not record delivery outcomes; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
        let last_error = batch.iter().rev().find_map(|o| match o {
            Outcome::Retry { error, .. } | Outcome::Failed { error, .. } => Some(error.clone()),
            _ => None,
        });
        let failures = {
            let mut recent = shared
                .recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for outcome in &batch {
                let failed = match outcome {
                    Outcome::Sent { .. } => false,
                    Outcome::Retry { .. } | Outcome::Failed { .. } => true,
                    _ => continue,
                };
                if recent.len() == FAILURE_WINDOW {
                    recent.pop_front();
                }
                recent.push_back(failed);
            }
            recent.iter().filter(|f| **f).count()
        };
        batch.clear();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
        if failures >= FAILURE_THRESHOLD && !shared.stop.is_cancelled() {
            let reason = format!(
                "Paused automatically: {failures} of the last {FAILURE_WINDOW} attempts failed. Last reply: {}",
                last_error.unwrap_or_default()
            );
            tracing::warn!(newsletter = shared.newsletter.id, %reason, "newsletter paused");
            if let Err(e) = newsletters::pause(
                &shared.ctx.db,
                shared.newsletter.id,
                Some(&reason),
                Actor::System,
            )
            .await
            {
                tracing::error!(error = %e, "could not pause the newsletter");
            }
            shared.stop.cancel();
        }
    }
}
