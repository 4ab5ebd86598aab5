//! Consents: the versioned texts shown at sign-up, and each grant as a row pointing at
//! the exact text the candidate agreed to.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde::Serialize;

use crate::{
    Error, Result,
    entities::{consent, consent_text},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Pool,
    Share,
    Newsletter,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Pool, Kind::Share, Kind::Newsletter];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pool => "pool",
            Self::Share => "share",
            Self::Newsletter => "newsletter",
        }
    }
}

/// The latest published text of each consent kind, in one language.
#[derive(Debug, Clone, Serialize)]
pub struct CurrentTexts {
    pub pool: consent_text::Model,
    pub share: consent_text::Model,
    pub newsletter: consent_text::Model,
}

impl CurrentTexts {
    pub fn get(&self, kind: Kind) -> &consent_text::Model {
        match kind {
            Kind::Pool => &self.pool,
            Kind::Share => &self.share,
            Kind::Newsletter => &self.newsletter,
        }
    }
}

pub async fn current_texts(db: &impl ConnectionTrait, language: &str) -> Result<CurrentTexts> {
    let rows = consent_text::Entity::find()
        .filter(consent_text::Column::Language.eq(language))
        .order_by_desc(consent_text::Column::Version)
        .all(db)
        .await?;
    let latest = |kind: Kind| {
        rows.iter()
            .find(|row| row.kind == kind.as_str())
            .cloned()
            .ok_or_else(|| {
                Error::Invalid(format!("no {} consent text in {language}", kind.as_str()))
            })
    };
    Ok(CurrentTexts {
        pool: latest(Kind::Pool)?,
        share: latest(Kind::Share)?,
        newsletter: latest(Kind::Newsletter)?,
    })
}

/// Records the grant of `kind` under text `text_id`, unless an active grant of that
/// kind exists.
pub async fn grant(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    kind: Kind,
    text_id: i64,
    source: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let active = consent::Entity::find()
        .filter(consent::Column::CandidateId.eq(candidate_id))
        .filter(consent::Column::Kind.eq(kind.as_str()))
        .filter(consent::Column::WithdrawnAt.is_null())
        .one(db)
        .await?;
    if active.is_some() {
        return Ok(());
    }
    consent::Entity::insert(consent::ActiveModel {
        id: NotSet,
        candidate_id: Set(candidate_id),
        kind: Set(kind.as_str().to_owned()),
        consent_text_id: Set(text_id),
        granted_at: Set(at),
        granted_source: Set(source.to_owned()),
        withdrawn_at: Set(None),
        withdrawn_source: Set(None),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Records the consents of a new candidate (who has none yet) in one statement.
pub async fn record_initial(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    granted: impl Iterator<Item = (Kind, i64)>,
    source: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let rows: Vec<consent::ActiveModel> = granted
        .map(|(kind, text_id)| consent::ActiveModel {
            id: NotSet,
            candidate_id: Set(candidate_id),
            kind: Set(kind.as_str().to_owned()),
            consent_text_id: Set(text_id),
            granted_at: Set(at),
            granted_source: Set(source.to_owned()),
            withdrawn_at: Set(None),
            withdrawn_source: Set(None),
        })
        .collect();
    if !rows.is_empty() {
        consent::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Marks the active grant of `kind` withdrawn.
pub async fn withdraw(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    kind: Kind,
    source: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    consent::Entity::update_many()
        .col_expr(consent::Column::WithdrawnAt, Expr::value(at))
        .col_expr(consent::Column::WithdrawnSource, Expr::value(source))
        .filter(consent::Column::CandidateId.eq(candidate_id))
        .filter(consent::Column::Kind.eq(kind.as_str()))
        .filter(consent::Column::WithdrawnAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn for_candidate(
    db: &impl ConnectionTrait,
    candidate_id: i64,
) -> Result<Vec<consent::Model>> {
    Ok(consent::Entity::find()
        .filter(consent::Column::CandidateId.eq(candidate_id))
        .order_by_asc(consent::Column::Id)
        .all(db)
        .await?)
}
