//! Emails to company users: the invitation with its link to set a password, and the
//! digest of one forwarding action ("12 new candidates"; one email per user and
//! action, never one per candidate). Jobs carry ids; the invitation token is made here,
//! so the raw token never rests in the job table.

use apalis::prelude::{AbortError, Attempt, BoxDynError, Data, TaskId};
use serde::Serialize;
use talentpool_core::{
    companies, company_users, forwards,
    mail::{self, Rendered, SendError},
    queue::CompanyEmail,
};

use crate::JobContext;

#[derive(Serialize)]
struct InviteContext<'a> {
    name: &'a str,
    company_name: &'a str,
    invite_url: String,
    login_url: String,
    valid_hours: i64,
    privacy_url: String,
}

#[tracing::instrument(skip_all, fields(job = ?job, attempt = attempt.current(), id = %id))]
pub async fn handle(
    job: CompanyEmail,
    ctx: Data<JobContext>,
    attempt: Attempt,
    id: TaskId,
) -> Result<(), BoxDynError> {
    let result = match job {
        CompanyEmail::Invite { company_user_id } => invite(company_user_id, &ctx).await,
        CompanyEmail::ForwardDigest {
            forward_id,
            company_user_id,
        } => digest(forward_id, company_user_id, &ctx).await,
    };
    if result.is_ok()
        && let Err(e) = talentpool_core::queue::mark_done(&ctx.db, &id.to_string()).await
    {
        tracing::warn!(error = %e, "could not record the job as done; apalis's ack will");
    }
    result
}

async fn invite(company_user_id: i64, ctx: &JobContext) -> Result<(), BoxDynError> {
    let Some(user) = company_users::find(&ctx.db, company_user_id).await? else {
        return Ok(());
    };
    if user.password_hash.is_some() || user.disabled_at.is_some() {
        // Accepted or disabled meanwhile: no link is needed.
        return Ok(());
    }
    let Some(company) = companies::find_active(&ctx.db, user.company_id).await? else {
        return Ok(());
    };
    let raw = company_users::issue_invite_token(&ctx.db, user.id).await?;
    let rendered = mail::render(
        "company_invite",
        &InviteContext {
            name: &user.name,
            company_name: &company.name,
            invite_url: ctx.settings.url(&format!("/portal/invite/{raw}")),
            login_url: ctx.settings.url("/portal/login"),
            valid_hours: company_users::INVITE_HOURS,
            privacy_url: ctx.settings.url("/privacy"),
        },
    )?;
    send(ctx, &user.email, &rendered).await
}

#[derive(Serialize)]
struct DigestContext<'a> {
    name: &'a str,
    company_name: &'a str,
    count: i32,
    portal_url: String,
    expires_on: Option<String>,
    privacy_url: String,
}

async fn digest(
    forward_id: i64,
    company_user_id: i64,
    ctx: &JobContext,
) -> Result<(), BoxDynError> {
    let Some(forward) = forwards::find_forward(&ctx.db, forward_id).await? else {
        return Ok(());
    };
    if forward.revoked_at.is_some() {
        return Ok(());
    }
    let Some((user, company)) = company_users::find_active(&ctx.db, company_user_id).await? else {
        return Ok(());
    };
    if user.company_id != forward.company_id {
        return Ok(());
    }
    let rendered = mail::render(
        "forward_digest",
        &DigestContext {
            name: &user.name,
            company_name: &company.name,
            count: forward.candidate_count,
            portal_url: ctx.settings.url("/portal"),
            expires_on: forward
                .expires_at
                .map(|at| at.format("%-d %B %Y").to_string()),
            privacy_url: ctx.settings.url("/privacy"),
        },
    )?;
    send(ctx, &user.email, &rendered).await
}

/// Sends and logs one email; a sent email is never followed by an error (no resend).
pub(crate) async fn send(
    ctx: &JobContext,
    to: &str,
    rendered: &Rendered,
) -> Result<(), BoxDynError> {
    let outcome = ctx.mailer.send(to, rendered).await;
    if let Err(e) = mail::log(&ctx.db, None, to, rendered, &outcome).await {
        tracing::error!(error = %e, "could not log an email");
    }
    match outcome {
        Ok(_) => Ok(()),
        Err(SendError::Temporary(e)) => Err(e.into()),
        Err(SendError::Permanent(e)) => Err(AbortError::new(e).into()),
    }
}
