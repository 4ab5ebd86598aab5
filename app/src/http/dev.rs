//! Development only: the outbox of mail that was not sent over SMTP.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use minijinja::context;
use sea_orm::{EntityTrait, QueryOrder, QuerySelect};
use talentpool_core::entities::outbox_message;

use super::error::Error;
use crate::state::AppState;

pub async fn outbox(State(state): State<AppState>) -> Result<Response, Error> {
    let messages: Vec<_> = outbox_message::Entity::find()
        .order_by_desc(outbox_message::Column::Id)
        .limit(200)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| {
            context! { id => m.id, recipient => m.recipient, subject => m.subject,
            created_at => m.created_at.format("%Y-%m-%d %H:%M:%S").to_string() }
        })
        .collect();
    Ok(state
        .views
        .render("outbox.html", context! { messages })?
        .into_response())
}

pub async fn message(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, Error> {
    let message = outbox_message::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound)?;
    let base = format!("{}/", state.settings.base_url);
    let text = mail_parser::MessageParser::default()
        .parse(message.raw.as_bytes())
        .and_then(|parsed| parsed.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default();
    let mut links: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.starts_with(&base))
        .map(str::to_owned)
        .collect();
    links.dedup();
    Ok(state
        .views
        .render(
            "outbox_message.html",
            context! {
                message => context! { subject => message.subject, recipient => message.recipient, raw => message.raw, text,
                    created_at => message.created_at.format("%Y-%m-%d %H:%M:%S").to_string() },
                links,
            },
        )?
        .into_response())
}
