//! The audit log: who did what to candidate data, and when.

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, EntityTrait,
};

use crate::{Result, entities::audit_log};

#[derive(Debug, Clone, Copy)]
pub enum Actor {
    System,
    Candidate(i64),
    Staff(i64),
    ApiToken(i64),
    CompanyUser(i64),
}

impl Actor {
    fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            Self::System => ("system", None),
            Self::Candidate(id) => ("candidate", Some(id)),
            Self::Staff(id) => ("staff", Some(id)),
            Self::ApiToken(id) => ("api_token", Some(id)),
            Self::CompanyUser(id) => ("company_user", Some(id)),
        }
    }
}

pub async fn record(
    db: &impl ConnectionTrait,
    actor: Actor,
    action: &str,
    subject_kind: &str,
    subject_id: Option<i64>,
    details: Option<serde_json::Value>,
) -> Result<()> {
    let (actor_kind, actor_id) = actor.parts();
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: NotSet,
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        action: Set(action.to_owned()),
        subject_kind: Set(subject_kind.to_owned()),
        subject_id: Set(subject_id),
        details: Set(details),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}
