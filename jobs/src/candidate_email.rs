//! Emails to candidates: the double opt-in link, the link that applies the answers of a
//! repeat sign-up, and the personal link to the candidate's own page (which every email
//! carries in its footer too). The job carries ids; tokens are made here, so a raw token
//! never rests in the job table.

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data, TaskId};
use chrono::Duration;
use sea_orm::{ConnectionTrait, EntityTrait, TransactionTrait};
use serde::Serialize;
use talentpool_core::{
    candidates,
    entities::campaign,
    mail::{self, SendError},
    queue::CandidateEmail,
    tokens::{self, Purpose},
};

use crate::JobContext;

#[derive(Serialize)]
struct ConfirmContext<'a> {
    first_name: &'a str,
    campaign_title: Option<String>,
    confirm_url: String,
    valid_hours: i64,
    submitted_on: String,
    privacy_url: String,
    self_service_url: String,
}

#[derive(Serialize)]
struct SelfServiceContext<'a> {
    first_name: &'a str,
    valid_days: i64,
    privacy_url: String,
    self_service_url: String,
}

fn first_name(full_name: &str) -> &str {
    full_name.split_whitespace().next().unwrap_or("there")
}

/// A fresh personal link to the candidate's own page.
async fn self_service_url(
    db: &impl ConnectionTrait,
    ctx: &JobContext,
    candidate_id: i64,
) -> Result<String, BoxDynError> {
    let raw = tokens::issue(
        db,
        Purpose::SelfService,
        candidate_id,
        None,
        Duration::days(ctx.settings.self_service_link_days),
    )
    .await?;
    Ok(ctx.settings.url(&format!("/me/{raw}")))
}

#[tracing::instrument(skip_all, fields(job = ?job, attempt = attempt.current(), id = %id))]
pub async fn handle(
    job: CandidateEmail,
    ctx: Data<JobContext>,
    attempt: Attempt,
    id: TaskId,
) -> Result<(), BoxDynError> {
    let job_id = id.to_string();
    if send(job, &ctx, &job_id).await? == Done::ToRecord
        && let Err(e) = talentpool_core::queue::mark_done(&ctx.db, &job_id).await
    {
        tracing::warn!(error = %e, "could not record the job as done; apalis's ack will");
    }
    Ok(())
}

/// How a job that succeeded ended.
#[derive(Debug, PartialEq, Eq)]
enum Done {
    /// The email went out, and the job was marked done with its log entry.
    Recorded,
    /// Nothing was sent (erased or answered meanwhile), or the log could not be
    /// written: the job is still to be marked done.
    ToRecord,
}

async fn send(job: CandidateEmail, ctx: &JobContext, job_id: &str) -> Result<Done, BoxDynError> {
    let (candidate_id, signup_id, purpose, template) = match job {
        CandidateEmail::SelfServiceLink { candidate_id } => {
            return send_self_service_link(candidate_id, ctx, job_id).await;
        }
        CandidateEmail::StillInterested { candidate_id } => {
            return send_still_interested(candidate_id, ctx, job_id).await;
        }
        CandidateEmail::ConsentTextChanged {
            candidate_id,
            consent,
        } => {
            return send_consent_changed(candidate_id, &consent, ctx, job_id).await;
        }
        CandidateEmail::ConfirmSignup { candidate_id } => {
            (candidate_id, None, Purpose::Confirm, "confirm_signup")
        }
        CandidateEmail::ConfirmChanges { signup_id } => {
            let Some(signup) = candidates::find_signup(&ctx.db, signup_id).await? else {
                return Ok(Done::ToRecord);
            };
            if signup.applied_at.is_some() {
                return Ok(Done::ToRecord);
            }
            (
                signup.candidate_id,
                Some(signup),
                Purpose::Apply,
                "confirm_changes",
            )
        }
    };
    let Some(candidate) = candidates::find(&ctx.db, candidate_id).await? else {
        // Erased meanwhile: nothing to send.
        return Ok(Done::ToRecord);
    };
    if purpose == Purpose::Confirm && candidate.confirmed_at.is_some() {
        return Ok(Done::ToRecord);
    }
    let signup = match signup_id {
        Some(signup) => Some(signup),
        None => candidates::signups(&ctx.db, candidate_id)
            .await?
            .into_iter()
            .next(),
    };
    let campaign_title = match &signup {
        Some(s) => campaign::Entity::find_by_id(s.campaign_id)
            .one(&ctx.db)
            .await?
            .map(|c| c.title),
        None => None,
    };
    let valid_hours = ctx.settings.confirm_token_hours;
    // Both links of the email in one commit.
    let txn = ctx.db.begin().await?;
    let raw = tokens::issue(
        &txn,
        purpose,
        candidate_id,
        signup
            .as_ref()
            .filter(|_| purpose == Purpose::Apply)
            .map(|s| s.id),
        Duration::hours(valid_hours),
    )
    .await?;
    let self_service_url = self_service_url(&txn, ctx, candidate_id).await?;
    txn.commit().await?;
    let rendered = mail::render(
        template,
        &ConfirmContext {
            first_name: first_name(&candidate.full_name),
            self_service_url,
            campaign_title,
            confirm_url: ctx.settings.url(&format!("/confirm/{raw}")),
            valid_hours,
            submitted_on: signup
                .as_ref()
                .map(|s| s.created_at.format("%-d %B %Y").to_string())
                .unwrap_or_default(),
            privacy_url: ctx.settings.url("/privacy"),
        },
    )?;
    deliver(ctx, job_id, &candidate, &rendered).await
}

async fn send_self_service_link(
    candidate_id: i64,
    ctx: &JobContext,
    job_id: &str,
) -> Result<Done, BoxDynError> {
    let Some(candidate) = candidates::find(&ctx.db, candidate_id).await? else {
        return Ok(Done::ToRecord);
    };
    let rendered = mail::render(
        "self_service_link",
        &SelfServiceContext {
            first_name: first_name(&candidate.full_name),
            valid_days: ctx.settings.self_service_link_days,
            privacy_url: ctx.settings.url("/privacy"),
            self_service_url: self_service_url(&ctx.db, ctx, candidate_id).await?,
        },
    )?;
    deliver(ctx, job_id, &candidate, &rendered).await
}

#[derive(Serialize)]
struct StillInterestedContext<'a> {
    first_name: &'a str,
    inactive_months: i64,
    keep_url: String,
    erase_on: String,
    privacy_url: String,
    self_service_url: String,
}

async fn send_still_interested(
    candidate_id: i64,
    ctx: &JobContext,
    job_id: &str,
) -> Result<Done, BoxDynError> {
    let Some(candidate) = candidates::find(&ctx.db, candidate_id).await? else {
        return Ok(Done::ToRecord);
    };
    let answer_days = ctx.settings.keep_answer_days;
    let txn = ctx.db.begin().await?;
    let keep = tokens::issue(
        &txn,
        Purpose::Keep,
        candidate_id,
        None,
        Duration::days(answer_days),
    )
    .await?;
    let self_service_url = self_service_url(&txn, ctx, candidate_id).await?;
    txn.commit().await?;
    let rendered = mail::render(
        "still_interested",
        &StillInterestedContext {
            first_name: first_name(&candidate.full_name),
            inactive_months: ctx.settings.inactive_after_days / 30,
            keep_url: ctx.settings.url(&format!("/keep/{keep}")),
            erase_on: (chrono::Utc::now() + Duration::days(answer_days))
                .format("%-d %B %Y")
                .to_string(),
            privacy_url: ctx.settings.url("/privacy"),
            self_service_url,
        },
    )?;
    deliver(ctx, job_id, &candidate, &rendered).await
}

#[derive(Serialize)]
struct ConsentChangedContext<'a> {
    first_name: &'a str,
    consent_title: &'static str,
    new_text: String,
    privacy_url: String,
    self_service_url: String,
}

async fn send_consent_changed(
    candidate_id: i64,
    consent: &str,
    ctx: &JobContext,
    job_id: &str,
) -> Result<Done, BoxDynError> {
    use talentpool_core::consents::{self, Kind};
    let Some(kind) = Kind::parse(consent) else {
        return Err(
            AbortError::new(std::io::Error::other(format!("unknown consent {consent}"))).into(),
        );
    };
    let Some(candidate) = candidates::find(&ctx.db, candidate_id).await? else {
        return Ok(Done::ToRecord);
    };
    let texts = consents::current_texts(&ctx.db, "en").await?;
    // Accepted or withdrawn meanwhile: nothing to ask.
    let current = texts.get(kind);
    let holds_older = consents::active(&ctx.db, candidate_id, kind)
        .await?
        .is_some_and(|c| c.consent_text_id != current.id);
    if !holds_older {
        return Ok(Done::ToRecord);
    }
    let rendered = mail::render(
        "consent_changed",
        &ConsentChangedContext {
            first_name: first_name(&candidate.full_name),
            consent_title: match kind {
                Kind::Pool => "keeping your profile in the talent pool",
                Kind::Share => "sharing your profile with companies",
                Kind::Newsletter => "newsletters",
            },
            new_text: texts.get(kind).body.clone(),
            privacy_url: ctx.settings.url("/privacy"),
            self_service_url: self_service_url(&ctx.db, ctx, candidate_id).await?,
        },
    )?;
    deliver(ctx, job_id, &candidate, &rendered).await
}

/// Sends, logs, and says whether the job should be retried.
async fn deliver(
    ctx: &JobContext,
    job_id: &str,
    candidate: &candidates::Candidate,
    rendered: &mail::Rendered,
) -> Result<Done, BoxDynError> {
    let outcome = ctx.mailer.send(&candidate.email, rendered).await;
    // Once the message is out, a failure to log it must not make the job run (and
    // send) again.
    let recorded = record(ctx, job_id, candidate, rendered, &outcome).await;
    if let Err(e) = &recorded {
        tracing::error!(error = %e, "could not log an email");
    }
    match outcome {
        Ok(_) if recorded.is_ok() => Ok(Done::Recorded),
        Ok(_) => Ok(Done::ToRecord),
        Err(SendError::Temporary(e)) => Err(e.into()),
        Err(SendError::Permanent(e)) => Err(AbortError::new(e).into()),
    }
}

/// The email's log entry and, when it went out, the job's done mark, in one commit.
async fn record(
    ctx: &JobContext,
    job_id: &str,
    candidate: &candidates::Candidate,
    rendered: &mail::Rendered,
    outcome: &Result<String, SendError>,
) -> Result<(), talentpool_core::Error> {
    let txn = ctx.db.begin().await?;
    mail::log(
        &txn,
        Some(candidate.id),
        &candidate.email,
        rendered,
        outcome,
    )
    .await?;
    if outcome.is_ok() {
        talentpool_core::queue::mark_done(&txn, job_id).await?;
    }
    txn.commit().await?;
    Ok(())
}
