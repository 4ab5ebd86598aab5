//! Forwarding candidates to participating companies, and what companies do with them.
//!
//! Rules: only confirmed candidates who consented to sharing are forwarded; the others
//! come back as skipped with a reason. A candidate is forwarded to a company once:
//! forwarding again changes nothing while the earlier forward is in force. Each
//! forwarding action makes one forward record per company (who, when, optional expiry,
//! revocable) and one digest email job per user of that company.
//!
//! Everything a company sees goes through [`visible`], which takes the company id from
//! the caller's session and checks forward, revocation, expiry, withdrawal and the
//! candidate's current consent.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use serde::Serialize;

use crate::{
    Result,
    audit::{self, Actor},
    companies::{self, FieldMessages},
    company_users,
    entities::{candidate, company, company_candidate, company_candidate_event, forward},
    queue::{self, COMPANY_EMAIL_QUEUE, CompanyEmail},
    segments,
};

pub use company_candidate::Model as CompanyCandidate;
pub use company_candidate_event::Model as CompanyCandidateEvent;
pub use forward::Model as Forward;

/// Most candidates one request may name.
pub const MAX_CANDIDATES: usize = 10_000;
/// Rows per `IN (…)` list, well below every database's parameter limit.
const CHUNK: usize = 500;

/// Why a candidate was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No candidate has this id.
    NotFound,
    /// The candidate has not confirmed the email address.
    NotConfirmed,
    /// The candidate did not consent to being shared with companies.
    NoConsentShare,
    /// The candidate is already forwarded to this company.
    AlreadyForwarded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub candidate_id: i64,
    /// The company, when the reason concerns one company only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    pub reason: SkipReason,
}

/// Which candidates to forward.
#[derive(Debug, Clone)]
pub enum Selection {
    Candidates(Vec<i64>),
    /// The segment's members at this moment.
    Segment(i64),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// New (company, candidate) pairs.
    pub forwarded: u64,
    pub skipped: Vec<Skipped>,
    /// The forward records made, one per company that received someone.
    pub forward_ids: Vec<i64>,
}

/// The statuses a company can give a forwarded candidate, in funnel order
/// (`not_a_fit` ends the funnel anywhere).
pub const STATUSES: [&str; 7] = [
    "new",
    "interested",
    "contacted",
    "interviewing",
    "offered",
    "hired",
    "not_a_fit",
];

pub fn status_label(status: &str) -> &'static str {
    match status {
        "new" => "New",
        "interested" => "Interested",
        "contacted" => "Contacted",
        "interviewing" => "Interviewing",
        "offered" => "Offered",
        "hired" => "Hired",
        "not_a_fit" => "Not a fit",
        _ => "Unknown",
    }
}

fn actor_parts(actor: Actor) -> (&'static str, Option<i64>) {
    match actor {
        Actor::System => ("system", None),
        Actor::Candidate(id) => ("candidate", Some(id)),
        Actor::Staff(id) => ("staff", Some(id)),
        Actor::ApiToken(id) => ("api_token", Some(id)),
        Actor::CompanyUser(id) => ("company_user", Some(id)),
    }
}

/// Forwards candidates to companies. `Ok(Err(..))` names bad fields (unknown or
/// archived companies, an unknown segment, too many or no candidates, a past expiry);
/// nothing is written then.
pub async fn forward(
    db: &DatabaseConnection,
    company_ids: &[i64],
    selection: Selection,
    expires_at: Option<DateTime<Utc>>,
    actor: Actor,
) -> Result<Result<Outcome, FieldMessages>> {
    let now = Utc::now();
    let mut errors = FieldMessages::new();
    let mut company_ids = company_ids.to_vec();
    company_ids.sort_unstable();
    company_ids.dedup();
    if company_ids.is_empty() {
        errors.push(("company_ids".into(), "Name at least one company.".into()));
    }
    let active = company::Entity::find()
        .filter(company::Column::Id.is_in(company_ids.clone()))
        .filter(company::Column::ArchivedAt.is_null())
        .all(db)
        .await?;
    if active.len() != company_ids.len() {
        errors.push((
            "company_ids".into(),
            "A company does not exist or is archived.".into(),
        ));
    }
    if expires_at.is_some_and(|at| at <= now) {
        errors.push((
            "expires_at".into(),
            "The expiry must be in the future.".into(),
        ));
    }
    let (segment_id, mut candidate_ids) = match selection {
        Selection::Candidates(ids) => (None, ids),
        Selection::Segment(id) => match segments::find(db, id).await? {
            None => {
                errors.push(("segment_id".into(), "No such segment.".into()));
                (None, Vec::new())
            }
            Some(segment) => {
                let filter = segments::filter_of(&segment)?;
                match filter.validate(db).await {
                    Ok(valid) => (
                        Some(id),
                        candidate::Entity::find()
                            .select_only()
                            .column(candidate::Column::Id)
                            .filter(valid.condition())
                            .order_by_asc(candidate::Column::Id)
                            .into_tuple::<i64>()
                            .all(db)
                            .await?,
                    ),
                    Err(_) => {
                        errors.push((
                            "segment_id".into(),
                            "The segment's filter is not valid.".into(),
                        ));
                        (None, Vec::new())
                    }
                }
            }
        },
    };
    let mut seen = HashSet::new();
    candidate_ids.retain(|id| seen.insert(*id));
    if segment_id.is_none() && candidate_ids.is_empty() && errors.is_empty() {
        errors.push((
            "candidate_ids".into(),
            "Name at least one candidate.".into(),
        ));
    }
    if candidate_ids.len() > MAX_CANDIDATES {
        errors.push((
            "candidate_ids".into(),
            format!("Forward at most {MAX_CANDIDATES} candidates at a time."),
        ));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }

    let txn = crate::db::begin_write(db).await?;
    let mut outcome = Outcome::default();
    let mut found: HashMap<i64, candidate::Model> = HashMap::new();
    for chunk in candidate_ids.chunks(CHUNK) {
        for c in candidate::Entity::find()
            .filter(candidate::Column::Id.is_in(chunk.to_vec()))
            .all(&txn)
            .await?
        {
            found.insert(c.id, c);
        }
    }
    let mut eligible = Vec::new();
    for id in &candidate_ids {
        let reason = match found.get(id) {
            None => Some(SkipReason::NotFound),
            Some(c) if c.confirmed_at.is_none() => Some(SkipReason::NotConfirmed),
            Some(c) if !c.consent_share => Some(SkipReason::NoConsentShare),
            Some(_) => None,
        };
        match reason {
            Some(reason) => outcome.skipped.push(Skipped {
                candidate_id: *id,
                company_id: None,
                reason,
            }),
            None => eligible.push(*id),
        }
    }
    let (actor_kind, actor_id) = actor_parts(actor);
    for company_id in &company_ids {
        let mut existing: HashMap<i64, CompanyCandidate> = HashMap::new();
        for chunk in eligible.chunks(CHUNK) {
            for row in company_candidate::Entity::find()
                .filter(company_candidate::Column::CompanyId.eq(*company_id))
                .filter(company_candidate::Column::CandidateId.is_in(chunk.to_vec()))
                .all(&txn)
                .await?
            {
                if let Some(candidate_id) = row.candidate_id {
                    existing.insert(candidate_id, row);
                }
            }
        }
        let in_force = in_force_ids(&txn, &existing, now).await?;
        let mut fresh = Vec::new();
        let mut renewed = Vec::new();
        for id in &eligible {
            match existing.get(id) {
                Some(row) if in_force.contains(&row.id) => outcome.skipped.push(Skipped {
                    candidate_id: *id,
                    company_id: Some(*company_id),
                    reason: SkipReason::AlreadyForwarded,
                }),
                Some(row) => renewed.push(row.id),
                None => fresh.push(*id),
            }
        }
        let count = fresh.len() + renewed.len();
        if count == 0 {
            continue;
        }
        let forward_id = forward::Entity::insert(forward::ActiveModel {
            id: NotSet,
            company_id: Set(*company_id),
            segment_id: Set(segment_id),
            actor_kind: Set(actor_kind.to_owned()),
            actor_id: Set(actor_id),
            candidate_count: Set(i32::try_from(count).unwrap_or(i32::MAX)),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            created_at: Set(now),
        })
        .exec(&txn)
        .await?
        .last_insert_id;
        for chunk in fresh.chunks(CHUNK) {
            company_candidate::Entity::insert_many(chunk.iter().map(|candidate_id| {
                company_candidate::ActiveModel {
                    id: NotSet,
                    company_id: Set(*company_id),
                    candidate_id: Set(Some(*candidate_id)),
                    forward_id: Set(forward_id),
                    status: Set("new".into()),
                    withdrawn_at: Set(None),
                    revoked_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        for chunk in renewed.chunks(CHUNK) {
            company_candidate::Entity::update_many()
                .col_expr(
                    company_candidate::Column::ForwardId,
                    Expr::value(forward_id),
                )
                .col_expr(
                    company_candidate::Column::RevokedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(company_candidate::Column::UpdatedAt, Expr::value(now))
                .filter(company_candidate::Column::Id.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
        let rows = company_candidate::Entity::find()
            .filter(company_candidate::Column::ForwardId.eq(forward_id))
            .all(&txn)
            .await?;
        for chunk in rows.chunks(CHUNK) {
            company_candidate_event::Entity::insert_many(chunk.iter().map(|row| {
                company_candidate_event::ActiveModel {
                    id: NotSet,
                    company_candidate_id: Set(row.id),
                    kind: Set("forwarded".into()),
                    status: Set(None),
                    body: Set(None),
                    actor_kind: Set(actor_kind.to_owned()),
                    actor_id: Set(actor_id),
                    created_at: Set(now),
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        for row in &rows {
            audit::record(
                &txn,
                actor,
                "candidate.forwarded",
                "candidate",
                row.candidate_id,
                Some(serde_json::json!({ "company_id": company_id, "forward_id": forward_id })),
            )
            .await?;
        }
        for user in company_users::recipients(&txn, *company_id).await? {
            if user.password_hash.is_some() {
                queue::enqueue(
                    &txn,
                    COMPANY_EMAIL_QUEUE,
                    &CompanyEmail::ForwardDigest {
                        forward_id,
                        company_user_id: user.id,
                    },
                )
                .await?;
            }
        }
        outcome.forwarded += count as u64;
        outcome.forward_ids.push(forward_id);
    }
    txn.commit().await?;
    Ok(Ok(outcome))
}

/// Of these rows, the ids still in force (not revoked, withdrawn or expired).
async fn in_force_ids(
    db: &impl ConnectionTrait,
    rows: &HashMap<i64, CompanyCandidate>,
    now: DateTime<Utc>,
) -> Result<HashSet<i64>> {
    let forward_ids: Vec<i64> = rows
        .values()
        .map(|r| r.forward_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut live_forwards = HashSet::new();
    for chunk in forward_ids.chunks(CHUNK) {
        for f in forward::Entity::find()
            .filter(forward::Column::Id.is_in(chunk.to_vec()))
            .filter(forward_live(now))
            .all(db)
            .await?
        {
            live_forwards.insert(f.id);
        }
    }
    Ok(rows
        .values()
        .filter(|r| {
            r.revoked_at.is_none()
                && r.withdrawn_at.is_none()
                && live_forwards.contains(&r.forward_id)
        })
        .map(|r| r.id)
        .collect())
}

fn forward_live(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(forward::Column::RevokedAt.is_null())
        .add(
            Condition::any()
                .add(forward::Column::ExpiresAt.is_null())
                .add(forward::Column::ExpiresAt.gt(now)),
        )
}

/// The rows a company may see now: its own, in force, of candidates who are confirmed
/// and still consent to sharing. The only way the portal selects candidates.
pub fn visible(company_id: i64, now: DateTime<Utc>) -> Condition {
    use company_candidate::Column as C;
    Condition::all()
        .add(C::CompanyId.eq(company_id))
        .add(C::CandidateId.is_not_null())
        .add(C::WithdrawnAt.is_null())
        .add(C::RevokedAt.is_null())
        .add(
            C::ForwardId.in_subquery(
                Query::select()
                    .column(forward::Column::Id)
                    .from(forward::Entity)
                    .and_where(forward::Column::CompanyId.eq(company_id))
                    .cond_where(forward_live(now))
                    .take(),
            ),
        )
        .add(
            C::CandidateId.in_subquery(
                Query::select()
                    .column(candidate::Column::Id)
                    .from(candidate::Entity)
                    .and_where(candidate::Column::ConsentShare.eq(true))
                    .and_where(candidate::Column::ConfirmedAt.is_not_null())
                    .take(),
            ),
        )
}

pub async fn find_forward(db: &impl ConnectionTrait, id: i64) -> Result<Option<Forward>> {
    Ok(forward::Entity::find_by_id(id).one(db).await?)
}

/// Forward records of a company, newest first.
pub async fn forwards_of(db: &impl ConnectionTrait, company_id: i64) -> Result<Vec<Forward>> {
    Ok(forward::Entity::find()
        .filter(forward::Column::CompanyId.eq(company_id))
        .order_by_desc(forward::Column::Id)
        .all(db)
        .await?)
}

/// One line of a candidate's timeline about a company.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub company_name: String,
    pub kind: String,
    pub status: Option<String>,
    pub body: Option<String>,
}

impl TimelineEntry {
    pub fn describe(&self) -> String {
        let company = &self.company_name;
        match self.kind.as_str() {
            "forwarded" => format!("Forwarded to {company}"),
            "revoked" => format!("Forward to {company} revoked"),
            "viewed" => format!("{company} opened the profile"),
            "viewed_cv" => format!("{company} downloaded the CV"),
            "status" => format!(
                "{company} set the status to “{}”",
                status_label(self.status.as_deref().unwrap_or_default())
            ),
            "note" => format!("{company} wrote a note"),
            "withdrawn" => format!("Withdrawn from {company}"),
            other => format!("{company}: {other}"),
        }
    }
}

/// Everything companies did with a candidate, oldest first.
pub async fn timeline(db: &impl ConnectionTrait, candidate_id: i64) -> Result<Vec<TimelineEntry>> {
    let rows = company_candidate::Entity::find()
        .filter(company_candidate::Column::CandidateId.eq(candidate_id))
        .all(db)
        .await?;
    let names: HashMap<i64, String> = companies::list(db, true)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let company_of: HashMap<i64, i64> = rows.iter().map(|r| (r.id, r.company_id)).collect();
    let events = company_candidate_event::Entity::find()
        .filter(
            company_candidate_event::Column::CompanyCandidateId
                .is_in(rows.iter().map(|r| r.id).collect::<Vec<_>>()),
        )
        .order_by_asc(company_candidate_event::Column::Id)
        .all(db)
        .await?;
    Ok(events
        .into_iter()
        .map(|e| TimelineEntry {
            at: e.created_at,
            company_name: company_of
                .get(&e.company_candidate_id)
                .and_then(|c| names.get(c))
                .cloned()
                .unwrap_or_default(),
            kind: e.kind,
            status: e.status,
            body: e.body,
        })
        .collect())
}

/// Withdrawal of the consent to sharing (or erasure): the candidate leaves every
/// portal at once. Each company keeps an entry marked withdrawn, without personal data:
/// the link to the candidate is cut and the company's notes are emptied. Runs on the
/// caller's connection or transaction.
pub async fn withdraw_candidate(db: &impl ConnectionTrait, candidate_id: i64) -> Result<u64> {
    let now = Utc::now();
    let rows = company_candidate::Entity::find()
        .filter(company_candidate::Column::CandidateId.eq(candidate_id))
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let entry_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    company_candidate_event::Entity::update_many()
        .col_expr(
            company_candidate_event::Column::Body,
            Expr::value(Option::<String>::None),
        )
        .filter(company_candidate_event::Column::CompanyCandidateId.is_in(entry_ids.clone()))
        .exec(db)
        .await?;
    company_candidate_event::Entity::insert_many(entry_ids.iter().map(|id| {
        company_candidate_event::ActiveModel {
            id: NotSet,
            company_candidate_id: Set(*id),
            kind: Set("withdrawn".into()),
            status: Set(None),
            body: Set(None),
            actor_kind: Set("candidate".into()),
            actor_id: Set(None),
            created_at: Set(now),
        }
    }))
    .exec_without_returning(db)
    .await?;
    let updated = company_candidate::Entity::update_many()
        .col_expr(
            company_candidate::Column::CandidateId,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(company_candidate::Column::WithdrawnAt, Expr::value(now))
        .col_expr(company_candidate::Column::UpdatedAt, Expr::value(now))
        .filter(company_candidate::Column::Id.is_in(entry_ids))
        .exec(db)
        .await?
        .rows_affected;
    audit::record(
        db,
        Actor::Candidate(candidate_id),
        "candidate.withdrawn_from_companies",
        "candidate",
        Some(candidate_id),
        Some(serde_json::json!({ "companies": rows.iter().map(|r| r.company_id).collect::<Vec<_>>() })),
    )
    .await?;
    Ok(updated)
}

/// Takes a candidate out of one company's portal; `false` when the candidate is not
/// there.
pub async fn revoke(
    db: &DatabaseConnection,
    company_id: i64,
    candidate_id: i64,
    actor: Actor,
) -> Result<bool> {
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = company_candidate::Entity::find()
        .filter(company_candidate::Column::CompanyId.eq(company_id))
        .filter(company_candidate::Column::CandidateId.eq(candidate_id))
        .filter(company_candidate::Column::RevokedAt.is_null())
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    revoke_rows(&txn, &[row.id], actor).await?;
    audit::record(
        &txn,
        actor,
        "candidate.forward_revoked",
        "candidate",
        Some(candidate_id),
        Some(serde_json::json!({ "company_id": company_id })),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Revokes a whole forward record: its candidates leave the company's portal.
pub async fn revoke_forward(
    db: &DatabaseConnection,
    forward_id: i64,
    actor: Actor,
) -> Result<bool> {
    let txn = crate::db::begin_write(db).await?;
    let Some(record) = forward::Entity::find_by_id(forward_id)
        .filter(forward::Column::RevokedAt.is_null())
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    forward::Entity::update_many()
        .col_expr(forward::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(forward::Column::Id.eq(forward_id))
        .exec(&txn)
        .await?;
    let ids: Vec<i64> = company_candidate::Entity::find()
        .filter(company_candidate::Column::ForwardId.eq(forward_id))
        .filter(company_candidate::Column::RevokedAt.is_null())
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    for chunk in ids.chunks(CHUNK) {
        revoke_rows(&txn, chunk, actor).await?;
    }
    audit::record(
        &txn,
        actor,
        "forward.revoked",
        "company",
        Some(record.company_id),
        Some(serde_json::json!({ "forward_id": forward_id })),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

async fn revoke_rows(db: &impl ConnectionTrait, ids: &[i64], actor: Actor) -> Result<()> {
    let now = Utc::now();
    let (actor_kind, actor_id) = actor_parts(actor);
    company_candidate::Entity::update_many()
        .col_expr(company_candidate::Column::RevokedAt, Expr::value(now))
        .col_expr(company_candidate::Column::UpdatedAt, Expr::value(now))
        .filter(company_candidate::Column::Id.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    if !ids.is_empty() {
        company_candidate_event::Entity::insert_many(ids.iter().map(|id| {
            company_candidate_event::ActiveModel {
                id: NotSet,
                company_candidate_id: Set(*id),
                kind: Set("revoked".into()),
                status: Set(None),
                body: Set(None),
                actor_kind: Set(actor_kind.to_owned()),
                actor_id: Set(actor_id),
                created_at: Set(now),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// A note or status change as the secretariat sees it.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyActivity {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub status: Option<String>,
    pub body: Option<String>,
    pub author: Option<String>,
}

/// One company's relation to a candidate, for the secretariat.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyStanding {
    pub company_id: i64,
    pub company_name: String,
    pub status: String,
    pub forwarded_at: DateTime<Utc>,
    /// Visible in the company's portal now.
    pub in_force: bool,
    pub revoked: bool,
    pub activity: Vec<CompanyActivity>,
}

/// Every company's status and notes for a candidate.
pub async fn standings(
    db: &impl ConnectionTrait,
    candidate_id: i64,
) -> Result<Vec<CompanyStanding>> {
    let now = Utc::now();
    let rows = company_candidate::Entity::find()
        .filter(company_candidate::Column::CandidateId.eq(candidate_id))
        .order_by_asc(company_candidate::Column::Id)
        .all(db)
        .await?;
    let names: HashMap<i64, String> = companies::list(db, true)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let users: HashMap<i64, String> = crate::entities::company_user::Entity::find()
        .filter(
            crate::entities::company_user::Column::CompanyId
                .is_in(rows.iter().map(|r| r.company_id).collect::<Vec<_>>()),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut out = Vec::new();
    for row in rows {
        let in_force = company_candidate::Entity::find()
            .filter(visible(row.company_id, now))
            .filter(company_candidate::Column::Id.eq(row.id))
            .one(db)
            .await?
            .is_some();
        let activity = company_candidate_event::Entity::find()
            .filter(company_candidate_event::Column::CompanyCandidateId.eq(row.id))
            .filter(company_candidate_event::Column::Kind.is_in(["status", "note"]))
            .order_by_desc(company_candidate_event::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|e| CompanyActivity {
                at: e.created_at,
                kind: e.kind,
                status: e.status,
                body: e.body,
                author: e.actor_id.and_then(|id| users.get(&id).cloned()),
            })
            .collect();
        out.push(CompanyStanding {
            company_id: row.company_id,
            company_name: names.get(&row.company_id).cloned().unwrap_or_default(),
            status: row.status,
            forwarded_at: row.created_at,
            in_force,
            revoked: row.revoked_at.is_some(),
            activity,
        });
    }
    Ok(out)
}

/// The funnel stages, in order; a candidate counts in every stage up to the furthest
/// one the company ever set.
pub const FUNNEL: [&str; 6] = [
    "forwarded",
    "interested",
    "contacted",
    "interviewing",
    "offered",
    "hired",
];

fn rank(status: &str) -> usize {
    match status {
        "interested" => 1,
        "contacted" => 2,
        "interviewing" => 3,
        "offered" => 4,
        "hired" => 5,
        _ => 0,
    }
}

/// A company's funnel: how many of its forwarded candidates reached each stage, and how
/// many it marked not a fit.
pub async fn funnel(
    db: &impl ConnectionTrait,
    company_id: i64,
) -> Result<(Vec<(&'static str, u64)>, u64)> {
    let rows = company_candidate::Entity::find()
        .filter(company_candidate::Column::CompanyId.eq(company_id))
        .all(db)
        .await?;
    let mut reached: HashMap<i64, usize> = rows.iter().map(|r| (r.id, rank(&r.status))).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    for chunk in ids.chunks(CHUNK) {
        for e in company_candidate_event::Entity::find()
            .filter(company_candidate_event::Column::CompanyCandidateId.is_in(chunk.to_vec()))
            .filter(company_candidate_event::Column::Kind.eq("status"))
            .all(db)
            .await?
        {
            let r = rank(e.status.as_deref().unwrap_or_default());
            if let Some(best) = reached.get_mut(&e.company_candidate_id) {
                *best = (*best).max(r);
            }
        }
    }
    let stages = FUNNEL
        .iter()
        .enumerate()
        .map(|(i, stage)| (*stage, reached.values().filter(|r| **r >= i).count() as u64))
        .collect();
    let not_a_fit = rows.iter().filter(|r| r.status == "not_a_fit").count() as u64;
    Ok((stages, not_a_fit))
}

/// Candidates who signed up through the campaign and whom a company marks hired.
pub async fn hires_for_campaign(db: &impl ConnectionTrait, campaign_id: i64) -> Result<u64> {
    let ids: Vec<Option<i64>> = company_candidate::Entity::find()
        .select_only()
        .column(company_candidate::Column::CandidateId)
        .filter(company_candidate::Column::Status.eq("hired"))
        .filter(
            company_candidate::Column::CandidateId.in_subquery(
                Query::select()
                    .column(crate::entities::signup::Column::CandidateId)
                    .from(crate::entities::signup::Entity)
                    .and_where(crate::entities::signup::Column::CampaignId.eq(campaign_id))
                    .take(),
            ),
        )
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().flatten().collect::<HashSet<_>>().len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_reasons_have_stable_names() {
        let skipped = Skipped {
            candidate_id: 7,
            company_id: None,
            reason: SkipReason::NoConsentShare,
        };
        assert_eq!(
            serde_json::to_value(&skipped).expect("json"),
            serde_json::json!({ "candidate_id": 7, "reason": "no_consent_share" })
        );
        assert_eq!(
            serde_json::to_value(SkipReason::AlreadyForwarded).expect("json"),
            "already_forwarded"
        );
    }

    #[test]
    fn the_funnel_follows_the_statuses() {
        assert_eq!(FUNNEL.len(), STATUSES.len() - 1);
        for (i, status) in STATUSES.iter().take(6).enumerate() {
            assert_eq!(rank(status), i, "{status}");
        }
        assert_eq!(rank("not_a_fit"), 0);
        assert!(STATUSES.iter().all(|s| status_label(s) != "Unknown"));
    }
}
