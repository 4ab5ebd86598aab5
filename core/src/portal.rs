//! What a company sees in its portal, and what its recruiters do there. Every function
//! takes the company id (from the recruiter's session, never from a URL) and selects
//! through [`forwards::visible`], so a company reaches only candidates forwarded to it,
//! in force, whose consent to sharing stands.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use serde::{Deserialize, Serialize};

use crate::{
    Result,
    audit::{self, Actor},
    companies::FieldMessages,
    domain::{Country, EuStatus},
    entities::{candidate, company_candidate, company_candidate_event},
    forwards::{self, CompanyCandidate, CompanyCandidateEvent, STATUSES},
};

pub use candidate::Model as Candidate;

/// Rows per portal page.
pub const PAGE_SIZE: u64 = 100;
/// Longest note.
pub const MAX_NOTE_CHARS: usize = 4000;

/// The portal's filters, as the query string carries them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortalFilter {
    /// ISCO-08 code; a shorter code selects its group.
    pub profession: Option<String>,
    pub eu_status: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub residence_country: Option<String>,
    /// The company's status for the candidate.
    pub status: Option<String>,
    /// Forwarded on or after this date.
    pub forwarded_from: Option<String>,
    /// Forwarded on or before this date.
    pub forwarded_to: Option<String>,
    /// Show rows forwarded before this row (keyset page).
    pub before: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidPortalFilter {
    profession: Option<String>,
    eu_status: Option<EuStatus>,
    residence_country: Option<String>,
    status: Option<&'static str>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    before: Option<i64>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn date(raw: Option<&str>, field: &str, errors: &mut FieldMessages) -> Option<NaiveDate> {
    raw.and_then(|d| match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push((field.into(), "Use a date like 2026-11-25.".into()));
            None
        }
    })
}

impl PortalFilter {
    pub fn validate(&self) -> Result<ValidPortalFilter, FieldMessages> {
        let mut errors = FieldMessages::new();
        let profession = blank(&self.profession).map(str::to_owned);
        if profession
            .as_deref()
            .is_some_and(|p| p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            errors.push((
                "profession".into(),
                "Use an ISCO-08 code of 1 to 4 digits.".into(),
            ));
        }
        let eu_status = match blank(&self.eu_status) {
            None => None,
            Some("eu_eea") => Some(EuStatus::EuEea),
            Some("non_eu") => Some(EuStatus::NonEu),
            Some(_) => {
                errors.push(("eu_status".into(), "Use eu_eea or non_eu.".into()));
                None
            }
        };
        let residence_country =
            blank(&self.residence_country).and_then(|c| match Country::parse(c) {
                Some(c) => Some(c.code().to_owned()),
                None => {
                    errors.push((
                        "residence_country".into(),
                        "Use an ISO 3166-1 alpha-2 country code.".into(),
                    ));
                    None
                }
            });
        let status = blank(&self.status).and_then(|s| match STATUSES.iter().find(|k| **k == s) {
            Some(k) => Some(*k),
            None => {
                errors.push(("status".into(), "Choose one of the statuses.".into()));
                None
            }
        });
        let from = date(blank(&self.forwarded_from), "forwarded_from", &mut errors);
        let to = date(blank(&self.forwarded_to), "forwarded_to", &mut errors);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            errors.push((
                "forwarded_to".into(),
                "The end date is before the start date.".into(),
            ));
        }
        let before = match blank(&self.before) {
            None => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(("before".into(), "The page link is not valid.".into()));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidPortalFilter {
            profession,
            eu_status,
            residence_country,
            status,
            from: from
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
            until: to
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
            before,
        })
    }
}

impl ValidPortalFilter {
    fn condition(&self) -> Condition {
        use company_candidate::Column as C;
        let mut cond = Condition::all();
        let mut candidates = Condition::all();
        let mut on_candidates = false;
        if let Some(code) = &self.profession {
            on_candidates = true;
            candidates = candidates.add(if code.len() == 4 {
                candidate::Column::ProfessionCode.eq(code.as_str())
            } else {
                candidate::Column::ProfessionCode.starts_with(code.as_str())
            });
        }
        if let Some(status) = self.eu_status {
            on_candidates = true;
            candidates = candidates.add(candidate::Column::EuStatus.eq(status.as_str()));
        }
        if let Some(country) = &self.residence_country {
            on_candidates = true;
            candidates = candidates.add(candidate::Column::ResidenceCountry.eq(country.as_str()));
        }
        if on_candidates {
            cond = cond.add(
                C::CandidateId.in_subquery(
                    Query::select()
                        .column(candidate::Column::Id)
                        .from(candidate::Entity)
                        .cond_where(candidates)
                        .take(),
                ),
            );
        }
        if let Some(status) = self.status {
            cond = cond.add(C::Status.eq(status));
        }
        if let Some(from) = self.from {
            cond = cond.add(C::CreatedAt.gte(from));
        }
        if let Some(until) = self.until {
            cond = cond.add(C::CreatedAt.lt(until));
        }
        cond
    }
}

/// One forwarded candidate as the company sees it.
#[derive(Debug, Clone)]
pub struct Row {
    pub entry: CompanyCandidate,
    pub candidate: Candidate,
}

pub struct Page {
    pub rows: Vec<Row>,
    /// The `before` value of the next page.
    pub next_before: Option<i64>,
}

async fn with_candidates(
    db: &impl ConnectionTrait,
    entries: Vec<CompanyCandidate>,
) -> Result<Vec<Row>> {
    let ids: Vec<i64> = entries.iter().filter_map(|e| e.candidate_id).collect();
    let mut found: HashMap<i64, Candidate> = HashMap::new();
    for chunk in ids.chunks(500) {
        for c in candidate::Entity::find()
            .filter(candidate::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            found.insert(c.id, c);
        }
    }
    Ok(entries
        .into_iter()
        .filter_map(|entry| {
            let candidate = found.remove(&entry.candidate_id?)?;
            Some(Row { entry, candidate })
        })
        .collect())
}

/// A page of the company's candidates, most recently forwarded first.
pub async fn list(
    db: &impl ConnectionTrait,
    company_id: i64,
    filter: &ValidPortalFilter,
    limit: u64,
) -> Result<Page> {
    use company_candidate::Column as C;
    let mut query = company_candidate::Entity::find()
        .filter(forwards::visible(company_id, Utc::now()))
        .filter(filter.condition());
    if let Some(before) = filter.before {
        query = query.filter(C::Id.lt(before));
    }
    let mut entries = query
        .order_by_desc(C::Id)
        .limit(limit.saturating_add(1))
        .all(db)
        .await?;
    let next_before = if entries.len() as u64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Page {
        rows: with_candidates(db, entries).await?,
        next_before,
    })
}

/// Every row matching the filter (for the export), most recently forwarded first.
pub async fn all(
    db: &impl ConnectionTrait,
    company_id: i64,
    filter: &ValidPortalFilter,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut filter = filter.clone();
    loop {
        let page = list(db, company_id, &filter, 1000).await?;
        rows.extend(page.rows);
        match page.next_before {
            Some(before) => filter.before = Some(before),
            None => return Ok(rows),
        }
    }
}

/// The company's entries of candidates who withdrew: dates and status only, no
/// personal data.
pub async fn withdrawn(
    db: &impl ConnectionTrait,
    company_id: i64,
) -> Result<Vec<CompanyCandidate>> {
    Ok(company_candidate::Entity::find()
        .filter(company_candidate::Column::CompanyId.eq(company_id))
        .filter(company_candidate::Column::WithdrawnAt.is_not_null())
        .order_by_desc(company_candidate::Column::Id)
        .all(db)
        .await?)
}

/// One of the company's candidates, or `None` when the company may not see them.
pub async fn find(
    db: &impl ConnectionTrait,
    company_id: i64,
    candidate_id: i64,
) -> Result<Option<Row>> {
    let entry = company_candidate::Entity::find()
        .filter(forwards::visible(company_id, Utc::now()))
        .filter(company_candidate::Column::CandidateId.eq(candidate_id))
        .one(db)
        .await?;
    Ok(match entry {
        Some(entry) => with_candidates(db, vec![entry]).await?.pop(),
        None => None,
    })
}

/// The company's own events on its entry, oldest first.
pub async fn history(
    db: &impl ConnectionTrait,
    entry: &CompanyCandidate,
) -> Result<Vec<CompanyCandidateEvent>> {
    Ok(company_candidate_event::Entity::find()
        .filter(company_candidate_event::Column::CompanyCandidateId.eq(entry.id))
        .order_by_asc(company_candidate_event::Column::Id)
        .all(db)
        .await?)
}

async fn add_event(
    db: &impl ConnectionTrait,
    entry_id: i64,
    kind: &str,
    status: Option<&str>,
    body: Option<&str>,
    user_id: i64,
) -> Result<()> {
    company_candidate_event::Entity::insert(company_candidate_event::ActiveModel {
        id: NotSet,
        company_candidate_id: Set(entry_id),
        kind: Set(kind.to_owned()),
        status: Set(status.map(str::to_owned)),
        body: Set(body.map(str::to_owned)),
        actor_kind: Set("company_user".into()),
        actor_id: Set(Some(user_id)),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// What a recruiter opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Profile,
    Cv,
}

/// Logs that a recruiter opened a profile or CV (on the candidate's timeline and in the
/// audit log).
pub async fn record_view(
    db: &DatabaseConnection,
    row: &Row,
    user_id: i64,
    view: View,
) -> Result<()> {
    let (kind, action) = match view {
        View::Profile => ("viewed", "candidate.viewed_by_company"),
        View::Cv => ("viewed_cv", "candidate.cv_downloaded_by_company"),
    };
    let txn = crate::db::begin_write(db).await?;
    add_event(&txn, row.entry.id, kind, None, None, user_id).await?;
    audit::record(
        &txn,
        Actor::CompanyUser(user_id),
        action,
        "candidate",
        Some(row.candidate.id),
        Some(serde_json::json!({ "company_id": row.entry.company_id })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Sets the company's status for a candidate; `Ok(None)` when the company may not see
/// the candidate, `Ok(Some(Err(..)))` for an unknown status.
pub async fn set_status(
    db: &DatabaseConnection,
    company_id: i64,
    candidate_id: i64,
    user_id: i64,
    status: &str,
) -> Result<Option<Result<(), FieldMessages>>> {
    let Some(status) = STATUSES.iter().find(|s| **s == status.trim()) else {
        return Ok(find(db, company_id, candidate_id).await?.map(|_| {
            Err(vec![(
                "status".into(),
                "Choose one of the statuses.".into(),
            )])
        }));
    };
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = find(&txn, company_id, candidate_id).await? else {
        return Ok(None);
    };
    if row.entry.status != *status {
        company_candidate::Entity::update_many()
            .col_expr(company_candidate::Column::Status, Expr::value(*status))
            .col_expr(
                company_candidate::Column::UpdatedAt,
                Expr::value(Utc::now()),
            )
            .filter(company_candidate::Column::Id.eq(row.entry.id))
            .filter(company_candidate::Column::CompanyId.eq(company_id))
            .exec(&txn)
            .await?;
        add_event(&txn, row.entry.id, "status", Some(status), None, user_id).await?;
    }
    txn.commit().await?;
    Ok(Some(Ok(())))
}

/// Adds a note (seen by the company and the secretariat, never by other companies).
pub async fn add_note(
    db: &DatabaseConnection,
    company_id: i64,
    candidate_id: i64,
    user_id: i64,
    body: &str,
) -> Result<Option<Result<(), FieldMessages>>> {
    let body = body.trim();
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = find(&txn, company_id, candidate_id).await? else {
        return Ok(None);
    };
    if body.is_empty() || body.chars().count() > MAX_NOTE_CHARS {
        return Ok(Some(Err(vec![(
            "body".into(),
            format!("Write a note of 1 to {MAX_NOTE_CHARS} characters."),
        )])));
    }
    add_event(&txn, row.entry.id, "note", None, Some(body), user_id).await?;
    txn.commit().await?;
    Ok(Some(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_name_bad_values() {
        let filter = PortalFilter {
            profession: Some("25".into()),
            eu_status: Some("eu_eea".into()),
            residence_country: Some("se".into()),
            status: Some("interviewing".into()),
            forwarded_from: Some("2026-11-01".into()),
            forwarded_to: Some("2026-11-30".into()),
            before: Some(" ".into()),
        };
        let valid = filter.validate().expect("valid");
        assert_eq!(valid.residence_country.as_deref(), Some("SE"));
        assert_eq!(valid.status, Some("interviewing"));
        assert_eq!(valid.eu_status, Some(EuStatus::EuEea));
        assert_eq!(
            valid.until.map(|u| u.to_rfc3339()).as_deref(),
            Some("2026-12-01T00:00:00+00:00")
        );

        let bad = PortalFilter {
            profession: Some("25x".into()),
            eu_status: Some("martian".into()),
            residence_country: Some("XX".into()),
            status: Some("promoted".into()),
            forwarded_from: Some("2026-12-01".into()),
            forwarded_to: Some("2026-11-01".into()),
            before: Some("abc".into()),
        };
        let fields: Vec<String> = bad
            .validate()
            .expect_err("invalid")
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "profession",
                "eu_status",
                "residence_country",
                "status",
                "forwarded_to",
                "before"
            ]
        );
        assert_eq!(
            PortalFilter::default().validate(),
            Ok(ValidPortalFilter::default())
        );
    }
}
