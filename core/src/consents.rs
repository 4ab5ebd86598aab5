//! Consents: the versioned texts shown at sign-up, and each grant as a row pointing at
//! the exact text the candidate agreed to.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
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

/// A consent given with a sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub candidate_id: i64,
    pub kind: Kind,
    pub text_id: i64,
    /// Where it was given (`form`, `api`).
    pub source: &'static str,
}

/// Records the consents of new candidates (who have none yet) in one statement.
pub async fn record_initial(
    db: &impl ConnectionTrait,
    grants: impl Iterator<Item = Grant>,
    at: DateTime<Utc>,
) -> Result<()> {
    let rows: Vec<consent::ActiveModel> = grants
        .map(|grant| consent::ActiveModel {
            id: NotSet,
            candidate_id: Set(grant.candidate_id),
            kind: Set(grant.kind.as_str().to_owned()),
            consent_text_id: Set(grant.text_id),
            granted_at: Set(at),
            granted_source: Set(grant.source.to_owned()),
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

impl Kind {
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// Longest consent text.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// Publishes a new version of a consent text: new sign-ups agree to it from now on;
/// holders of older versions keep theirs until they accept the new one.
pub async fn publish(
    db: &DatabaseConnection,
    kind: Kind,
    language: &str,
    body: &str,
) -> Result<consent_text::Model> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::Invalid(format!(
            "a consent text has 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    let latest = consent_text::Entity::find()
        .filter(consent_text::Column::Kind.eq(kind.as_str()))
        .filter(consent_text::Column::Language.eq(language))
        .order_by_desc(consent_text::Column::Version)
        .one(&txn)
        .await?;
    let version = latest.map_or(1, |t| t.version + 1);
    let id = consent_text::Entity::insert(consent_text::ActiveModel {
        id: NotSet,
        kind: Set(kind.as_str().to_owned()),
        version: Set(version),
        language: Set(language.to_owned()),
        body: Set(body.to_owned()),
        published_at: Set(Utc::now()),
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    let text = consent_text::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::Invalid("consent text vanished after insert".into()))?;
    txn.commit().await?;
    Ok(text)
}

/// A published text with the number of candidates whose active consent is under it.
#[derive(Debug, Clone, Serialize)]
pub struct TextHolders {
    pub text: consent_text::Model,
    pub holders: i64,
    pub current: bool,
}

/// Every published text, newest version first per kind, with its active holders.
pub async fn holders_by_version(
    db: &impl ConnectionTrait,
    language: &str,
) -> Result<Vec<TextHolders>> {
    let texts = consent_text::Entity::find()
        .filter(consent_text::Column::Language.eq(language))
        .order_by_asc(consent_text::Column::Kind)
        .order_by_desc(consent_text::Column::Version)
        .all(db)
        .await?;
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(crate::sql::numbered(
            backend,
            "SELECT consent_text_id AS id, CAST(COUNT(*) AS BIGINT) AS n FROM consents \
             WHERE withdrawn_at IS NULL GROUP BY consent_text_id",
            vec![],
        ))
        .await?;
    let mut counts = std::collections::HashMap::new();
    for row in rows {
        counts.insert(row.try_get::<i64>("", "id")?, row.try_get::<i64>("", "n")?);
    }
    let mut seen = std::collections::HashSet::new();
    Ok(texts
        .into_iter()
        .map(|text| TextHolders {
            holders: counts.get(&text.id).copied().unwrap_or(0),
            current: seen.insert(text.kind.clone()),
            text,
        })
        .collect())
}

/// Candidates whose active consent of `kind` is under an older text than `current`.
pub async fn holders_of_older(
    db: &impl ConnectionTrait,
    kind: Kind,
    current: &consent_text::Model,
) -> Result<Vec<i64>> {
    let older: Vec<i64> = consent_text::Entity::find()
        .filter(consent_text::Column::Kind.eq(kind.as_str()))
        .filter(consent_text::Column::Language.eq(current.language.as_str()))
        .filter(consent_text::Column::Version.lt(current.version))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if older.is_empty() {
        return Ok(Vec::new());
    }
    Ok(consent::Entity::find()
        .filter(consent::Column::Kind.eq(kind.as_str()))
        .filter(consent::Column::WithdrawnAt.is_null())
        .filter(consent::Column::ConsentTextId.is_in(older))
        .order_by_asc(consent::Column::CandidateId)
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.candidate_id)
        .collect())
}

/// The candidate accepts the current text of a consent they hold under an older one:
/// the old grant ends (source `renewed`) and a grant under the new text begins, so the
/// history shows exactly which text applied when. `false` if there was nothing to renew.
pub async fn accept_current(
    db: &DatabaseConnection,
    candidate_id: i64,
    kind: Kind,
    texts: &CurrentTexts,
    source: &str,
) -> Result<bool> {
    let current = texts.get(kind);
    let txn = crate::db::begin_write(db).await?;
    let active = consent::Entity::find()
        .filter(consent::Column::CandidateId.eq(candidate_id))
        .filter(consent::Column::Kind.eq(kind.as_str()))
        .filter(consent::Column::WithdrawnAt.is_null())
        .one(&txn)
        .await?;
    let Some(active) = active.filter(|a| a.consent_text_id != current.id) else {
        return Ok(false);
    };
    let now = Utc::now();
    withdraw(&txn, candidate_id, kind, "renewed", now).await?;
    grant(&txn, candidate_id, kind, current.id, source, now).await?;
    crate::audit::record(
        &txn,
        crate::audit::Actor::Candidate(candidate_id),
        "consent.renewed",
        "candidate",
        Some(candidate_id),
        Some(serde_json::json!({ "kind": kind.as_str(), "from_text": active.consent_text_id, "to_text": current.id })),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Emails every holder of an older version of `kind` a link to accept the current text
/// (one job per candidate, written in batches). Returns how many were queued.
pub async fn email_older_holders(
    db: &DatabaseConnection,
    kind: Kind,
    current: &consent_text::Model,
) -> Result<u64> {
    let holders = holders_of_older(db, kind, current).await?;
    for chunk in holders.chunks(500) {
        let txn = crate::db::begin_write(db).await?;
        for &candidate_id in chunk {
            crate::queue::enqueue(
                &txn,
                crate::queue::CANDIDATE_EMAIL_QUEUE,
                &crate::queue::CandidateEmail::ConsentTextChanged {
                    candidate_id,
                    consent: kind.as_str().to_owned(),
                },
            )
            .await?;
        }
        txn.commit().await?;
    }
    Ok(holders.len() as u64)
}

/// The candidate's active grant of `kind`, if any.
pub async fn active(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    kind: Kind,
) -> Result<Option<consent::Model>> {
    Ok(consent::Entity::find()
        .filter(consent::Column::CandidateId.eq(candidate_id))
        .filter(consent::Column::Kind.eq(kind.as_str()))
        .filter(consent::Column::WithdrawnAt.is_null())
        .one(db)
        .await?)
}
