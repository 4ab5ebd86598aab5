//! Outgoing mail: SMTP through lettre (the only transport in production) or, in
//! development without `SMTP_URL`, an outbox table readable at `/dev/outbox`.

pub mod smtp;
pub mod templates;

use chrono::Utc;
use std::sync::Arc;

use lettre::{
    Message,
    message::{Mailbox, MultiPart, header},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseConnection, EntityTrait,
};

pub use templates::{Rendered, render};

use crate::{
    Error, Result,
    config::Settings,
    domain::email::mask,
    entities::{email_log, outbox_message},
};

#[derive(Clone)]
pub enum Transport {
    /// A few open connections of our own (`smtp`: lettre's pool leaves Nagle on).
    Smtp(Arc<smtp::Pool>),
    Outbox(DatabaseConnection),
}

/// Connections kept open for transactional mail (the email workers send at most eight
/// messages at a time).
const IDLE_CONNECTIONS: usize = 8;

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    domain: String,
}

/// Whether a failed send may succeed later.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary: {0}")]
    Temporary(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

impl Mailer {
    pub fn from_settings(settings: &Settings, db: DatabaseConnection) -> Result<Self> {
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| Error::Config(format!("MAIL_FROM: {e}")))?;
        let domain = from.email.domain().to_owned();
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(Arc::new(smtp::Pool::new(
                smtp::Server::parse(url).map_err(Error::Config)?,
                IDLE_CONNECTIONS,
            ))),
            None => Transport::Outbox(db),
        };
        Ok(Self {
            transport,
            from,
            domain,
        })
    }

    pub fn is_outbox(&self) -> bool {
        matches!(self.transport, Transport::Outbox(_))
    }

    /// Builds the MIME message: multipart/alternative with text and HTML, a Message-ID
    /// on our domain, and a Date.
    pub fn build(&self, to: &str, rendered: &Rendered) -> Result<(Message, String)> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| Error::Mail(format!("bad recipient {}: {e}", mask(to))))?;
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), self.domain);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&rendered.subject)
            .message_id(Some(message_id.clone()))
            .date_now()
            .header(header::MIME_VERSION_1_0)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| Error::Mail(e.to_string()))?;
        Ok((message, message_id))
    }

    /// Sends one message and returns its Message-ID.
    pub async fn send(&self, to: &str, rendered: &Rendered) -> Result<String, SendError> {
        let (message, message_id) = self
            .build(to, rendered)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(pool) => {
                match pool.send(message.envelope(), &message.formatted()).await {
                    Ok(()) => {}
                    Err(smtp::Failure::Permanent(e)) => return Err(SendError::Permanent(e)),
                    Err(smtp::Failure::Temporary(e)) => return Err(SendError::Temporary(e)),
                }
            }
            Transport::Outbox(db) => {
                let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
                outbox_message::Entity::insert(outbox_message::ActiveModel {
                    id: NotSet,
                    recipient: Set(to.to_owned()),
                    subject: Set(rendered.subject.clone()),
                    raw: Set(raw),
                    created_at: Set(Utc::now()),
                })
                .exec(db)
                .await
                .map_err(|e| SendError::Temporary(e.to_string()))?;
            }
        }
        tracing::info!(to = %mask(to), template = rendered.template, %message_id, "email sent");
        Ok(message_id)
    }
}

/// Logs an email sent (or given up) to a candidate.
pub async fn log(
    db: &impl ConnectionTrait,
    candidate_id: Option<i64>,
    recipient: &str,
    rendered: &Rendered,
    outcome: &Result<String, SendError>,
) -> Result<()> {
    let (message_id, status, error) = match outcome {
        Ok(id) => (id.clone(), "sent", None),
        Err(e @ SendError::Temporary(_)) => (String::new(), "retrying", Some(e.to_string())),
        Err(e @ SendError::Permanent(_)) => (String::new(), "failed", Some(e.to_string())),
    };
    email_log::Entity::insert(email_log::ActiveModel {
        id: NotSet,
        candidate_id: Set(candidate_id),
        recipient: Set(recipient.to_owned()),
        template: Set(rendered.template.to_owned()),
        subject: Set(rendered.subject.clone()),
        message_id: Set(message_id),
        status: Set(status.to_owned()),
        error: Set(error),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}
