//! Finding candidates in the pool: the segment filter, its translation to SQL, keyset
//! (cursor) pagination newest first, and counts. The API, segments and (later)
//! forwarding and newsletters all select candidates through here.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    domain::{Country, EuStatus, LanguageLevel},
    entities::{campaign, candidate, citizenship, signup},
};

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 500;

/// Which candidates: every field narrows the selection; absent fields don't.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams,
)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// Campaign slug: candidates who signed up through it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// ISCO-08 code; a shorter code selects its whole group (e.g. `25`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profession: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eu_status: Option<EuStatus>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residence_country: Option<String>,
    /// ISO 3166-1 alpha-2: any of the candidate's citizenships.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citizenship: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_experience: Option<i16>,
    /// At least this CEFR level (`A1`–`C2`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub english_level: Option<String>,
    /// At least this CEFR level (`A1`–`C2`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norwegian_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_partner: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_share: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_newsletter: Option<bool>,
    /// Signed up on or after this date (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_up_from: Option<NaiveDate>,
    /// Signed up on or before this date (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_up_to: Option<NaiveDate>,
    /// Free text in the name or email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
}

/// A filter whose values are known to be valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidFilter {
    pub campaign_id: Option<i64>,
    pub unknown_campaign: bool,
    pub profession: Option<String>,
    pub eu_status: Option<EuStatus>,
    pub residence_country: Option<String>,
    pub citizenship: Option<String>,
    pub min_experience: Option<i16>,
    pub english_min: Option<LanguageLevel>,
    pub norwegian_min: Option<LanguageLevel>,
    pub has_partner: Option<bool>,
    pub confirmed: Option<bool>,
    pub consent_share: Option<bool>,
    pub consent_newsletter: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub q: Option<String>,
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Filter {
    /// Checks the values; the campaign slug is looked up.
    pub async fn validate(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<ValidFilter, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut bad =
            |field: &str, message: &str| errors.push((field.to_owned(), message.to_owned()));
        let country = |raw: Option<&str>, field: &str, bad: &mut dyn FnMut(&str, &str)| {
            raw.and_then(|code| {
                Country::parse(code)
                    .map(|c| c.code().to_owned())
                    .or_else(|| {
                        bad(field, "Use an ISO 3166-1 alpha-2 country code.");
                        None
                    })
            })
        };
        let residence_country = country(
            blank(&self.residence_country),
            "residence_country",
            &mut bad,
        );
        let citizenship = country(blank(&self.citizenship), "citizenship", &mut bad);
        let profession = blank(&self.profession).map(str::to_owned);
        if profession
            .as_deref()
            .is_some_and(|p| p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            bad("profession", "Use an ISCO-08 code of 1 to 4 digits.");
        }
        let mut level = |raw: Option<&str>, field: &str| {
            raw.and_then(|code| match LanguageLevel::parse(code) {
                Some(level) => Some(level),
                None => {
                    bad(field, "Use a CEFR level from A1 to C2, or none.");
                    None
                }
            })
        };
        let english_min = level(blank(&self.english_level), "english_level");
        let norwegian_min = level(blank(&self.norwegian_level), "norwegian_level");
        if self.min_experience.is_some_and(|y| !(0..=60).contains(&y)) {
            bad("min_experience", "Use a number of years from 0 to 60.");
        }
        let q = blank(&self.q).map(str::to_lowercase);
        if q.as_deref().is_some_and(|q| q.chars().count() > 200) {
            bad("q", "Use at most 200 characters.");
        }
        if let (Some(from), Some(to)) = (self.signed_up_from, self.signed_up_to)
            && from > to
        {
            bad("signed_up_to", "The end date is before the start date.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (campaign_id, unknown_campaign) = match blank(&self.campaign) {
            None => (None, false),
            Some(slug) => {
                let found = campaign::Entity::find()
                    .filter(campaign::Column::Slug.eq(slug))
                    .one(db)
                    .await
                    .map_err(|e| vec![("campaign".to_owned(), e.to_string())])?;
                match found {
                    Some(c) => (Some(c.id), false),
                    None => (None, true),
                }
            }
        };
        Ok(ValidFilter {
            campaign_id,
            unknown_campaign,
            profession,
            eu_status: self.eu_status,
            residence_country,
            citizenship,
            min_experience: self.min_experience,
            english_min,
            norwegian_min,
            has_partner: self.has_partner,
            confirmed: self.confirmed,
            consent_share: self.consent_share,
            consent_newsletter: self.consent_newsletter,
            from: self
                .signed_up_from
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
            until: self
                .signed_up_to
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
            q,
        })
    }
}

fn levels_at_least(min: LanguageLevel) -> Vec<&'static str> {
    LanguageLevel::ALL
        .into_iter()
        .filter(|level| *level >= min)
        .map(|level| level.code())
        .collect()
}

impl ValidFilter {
    /// The filter as a SQL condition on `candidates`.
    pub fn condition(&self) -> Condition {
        self.condition_on(None)
    }

    /// The filter as a SQL condition for one database. On PostgreSQL free text is matched
    /// against `candidates.search_text` (a stored `lower(email) || E'\n' ||
    /// lower(full_name)`, trigram-indexed; migration 000008): the same rows as the two
    /// `lower(…) LIKE` tests whenever the text holds no line break, without lowering
    /// two columns of every row scanned.
    pub fn condition_for(&self, backend: DbBackend) -> Condition {
        self.condition_on(Some(backend))
    }

    fn condition_on(&self, backend: Option<DbBackend>) -> Condition {
        use candidate::Column as C;
        let mut cond = Condition::all();
        if self.unknown_campaign {
            // No candidate signed up through a campaign that does not exist.
            cond = cond.add(Expr::val(1).eq(Expr::val(0)));
        }
        if let Some(campaign_id) = self.campaign_id {
            // EXISTS rather than `id IN (…)`: SQLite then probes the
            // (campaign_id, candidate_id) index per candidate instead of building the
            // list of every sign-up of the campaign first.
            cond = cond.add(Expr::exists(
                Query::select()
                    .expr(Expr::cust("1"))
                    .from(signup::Entity)
                    .and_where(
                        Expr::col((signup::Entity, signup::Column::CandidateId))
                            .equals((candidate::Entity, C::Id)),
                    )
                    .and_where(
                        Expr::col((signup::Entity, signup::Column::CampaignId)).eq(campaign_id),
                    )
                    .take(),
            ));
        }
        if let Some(code) = &self.profession {
            cond = cond.add(if code.len() == 4 {
                C::ProfessionCode.eq(code.as_str())
            } else {
                C::ProfessionCode.starts_with(code.as_str())
            });
        }
        if let Some(status) = self.eu_status {
            cond = cond.add(C::EuStatus.eq(status.as_str()));
        }
        if let Some(country) = &self.residence_country {
            cond = cond.add(C::ResidenceCountry.eq(country.as_str()));
        }
        if let Some(country) = &self.citizenship {
            cond = cond.add(
                C::Id.in_subquery(
                    Query::select()
                        .column(citizenship::Column::CandidateId)
                        .from(citizenship::Entity)
                        .and_where(citizenship::Column::Country.eq(country.as_str()))
                        .take(),
                ),
            );
        }
        if let Some(years) = self.min_experience {
            cond = cond.add(C::YearsExperience.gte(years));
        }
        if let Some(min) = self.english_min {
            cond = cond.add(C::EnglishLevel.is_in(levels_at_least(min)));
        }
        if let Some(min) = self.norwegian_min {
            cond = cond.add(C::NorwegianLevel.is_in(levels_at_least(min)));
        }
        if let Some(v) = self.has_partner {
            cond = cond.add(C::HasPartner.eq(v));
        }
        if let Some(v) = self.confirmed {
            cond = cond.add(if v {
                C::ConfirmedAt.is_not_null()
            } else {
                C::ConfirmedAt.is_null()
            });
        }
        if let Some(v) = self.consent_share {
            cond = cond.add(C::ConsentShare.eq(v));
        }
        if let Some(v) = self.consent_newsletter {
            cond = cond.add(C::ConsentNewsletter.eq(v));
        }
        if let Some(from) = self.from {
            cond = cond.add(C::CreatedAt.gte(from));
        }
        if let Some(until) = self.until {
            cond = cond.add(C::CreatedAt.lt(until));
        }
        if let Some(q) = &self.q {
            let pattern = format!("%{}%", escape_like(q));
            let like = |e: Expr| e.like(LikeExpr::new(&pattern).escape('\\'));
            cond = cond.add(
                if backend == Some(DbBackend::Postgres) && !q.contains(SEARCH_TEXT_SEPARATOR) {
                    Condition::all().add(like(Expr::col((candidate::Entity, SEARCH_TEXT))))
                } else {
                    Condition::any()
                        .add(like(Expr::expr(Func::lower(Expr::col(C::Email)))))
                        .add(like(Expr::expr(Func::lower(Expr::col(C::FullName)))))
                },
            );
        }
        cond
    }

    /// Whether a candidate matches, in plain Rust (the reference the SQL is tested
    /// against).
    pub fn matches(
        &self,
        c: &candidate::Model,
        citizenships: &[String],
        campaign_ids: &[i64],
    ) -> bool {
        let level_ok = |stored: &str, min: Option<LanguageLevel>| {
            min.is_none_or(|min| LanguageLevel::parse(stored).is_some_and(|l| l >= min))
        };
        !self.unknown_campaign
            && self.campaign_id.is_none_or(|id| campaign_ids.contains(&id))
            && self
                .profession
                .as_deref()
                .is_none_or(|p| c.profession_code.starts_with(p))
            && self.eu_status.is_none_or(|s| c.eu_status == s.as_str())
            && self
                .residence_country
                .as_deref()
                .is_none_or(|r| c.residence_country == r)
            && self
                .citizenship
                .as_deref()
                .is_none_or(|x| citizenships.iter().any(|y| y == x))
            && self.min_experience.is_none_or(|y| c.years_experience >= y)
            && level_ok(&c.english_level, self.english_min)
            && level_ok(&c.norwegian_level, self.norwegian_min)
            && self.has_partner.is_none_or(|v| c.has_partner == v)
            && self.confirmed.is_none_or(|v| c.confirmed_at.is_some() == v)
            && self.consent_share.is_none_or(|v| c.consent_share == v)
            && self
                .consent_newsletter
                .is_none_or(|v| c.consent_newsletter == v)
            && self.from.is_none_or(|from| c.created_at >= from)
            && self.until.is_none_or(|until| c.created_at < until)
            && self.q.as_deref().is_none_or(|q| {
                c.email.to_lowercase().contains(q) || c.full_name.to_lowercase().contains(q)
            })
    }
}

/// PostgreSQL's stored, lowered `email || '\n' || full_name` (migration 000008).
const SEARCH_TEXT: &str = "search_text";
const SEARCH_TEXT_SEPARATOR: char = '\n';

fn escape_like(q: &str) -> String {
    q.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Where a page starts: after this (created_at, id), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (micros, id) = text.split_once('|')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }
}

pub struct Page {
    pub items: Vec<candidate::Model>,
    pub next_cursor: Option<Cursor>,
}

/// One page of matches, newest first, after `cursor`. Keyset pagination: no OFFSET, and
/// rows added meanwhile never shift later pages.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &ValidFilter,
    cursor: Option<Cursor>,
    limit: u64,
) -> Result<Page> {
    use candidate::Column as C;
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut query =
        candidate::Entity::find().filter(filter.condition_for(db.get_database_backend()));
    if let Some(cursor) = cursor {
        query = query.filter(
            Condition::any()
                .add(C::CreatedAt.lt(cursor.created_at))
                .add(
                    Condition::all()
                        .add(C::CreatedAt.eq(cursor.created_at))
                        .add(C::Id.lt(cursor.id)),
                ),
        );
    }
    let mut items = query
        .order_by_desc(C::CreatedAt)
        .order_by_desc(C::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| Cursor {
            created_at: c.created_at,
            id: c.id,
        })
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// How many candidates match, exactly. Counts every match: at a million candidates a
/// broad filter takes hundreds of milliseconds; pages and the API use [`total`].
pub async fn count(db: &impl ConnectionTrait, filter: &ValidFilter) -> Result<u64> {
    count_matches(db, filter, None).await
}

/// Totals above this are reported as "more than `TOTAL_CAP`" ([`Total::exact`] false).
pub const TOTAL_CAP: u64 = 10_000;
/// The cap when the filter has free text: a substring test on every row cannot use an
/// index's order, so counting to 10,000 can mean reading a fifth of a million-row pool.
pub const SEARCH_TOTAL_CAP: u64 = 1_000;

/// The number of matches, counted up to a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    /// The number of matches, or the cap when there are more.
    pub count: u64,
    /// False when there are more than `count` matches.
    pub exact: bool,
}

impl ValidFilter {
    /// Where the pages' and the API's totals stop counting.
    pub fn total_cap(&self) -> u64 {
        if self.q.is_some() {
            SEARCH_TOTAL_CAP
        } else {
            TOTAL_CAP
        }
    }
}

/// Counts matches up to `cap`: the database stops after `cap + 1` of them, so a broad
/// filter costs as much as a narrow one. Exact whenever there are at most `cap`.
pub async fn total(db: &impl ConnectionTrait, filter: &ValidFilter, cap: u64) -> Result<Total> {
    let n = count_matches(db, filter, Some(cap.saturating_add(1))).await?;
    Ok(if n > cap {
        Total {
            count: cap,
            exact: false,
        }
    } else {
        Total {
            count: n,
            exact: true,
        }
    })
}

/// `SELECT COUNT(*) FROM (SELECT 1 FROM candidates WHERE … [LIMIT n])`: selecting a
/// constant lets both databases answer from an index alone where one covers the filter.
async fn count_matches(
    db: &impl ConnectionTrait,
    filter: &ValidFilter,
    limit: Option<u64>,
) -> Result<u64> {
    let mut matches = Query::select();
    matches
        .expr(Expr::cust("1"))
        .from(candidate::Entity)
        .cond_where(filter.condition_for(db.get_database_backend()));
    if let Some(limit) = limit {
        matches.limit(limit);
    }
    let query = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "num_items")
        .from_subquery(matches.take(), "matches")
        .take();
    let n = match db.query_one(&query).await? {
        Some(row) => row.try_get::<i64>("", "num_items")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or_default())
}

/// A cursor given by a client that does not parse.
pub fn parse_cursor(raw: Option<&str>) -> Result<Option<Cursor>> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(raw) => Cursor::decode(raw)
            .map(Some)
            .ok_or_else(|| Error::Invalid("the cursor is not valid".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_795_600_000_123_456).expect("time"),
            id: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("garbage!"), None);
    }

    #[test]
    fn language_levels_are_at_least() {
        assert_eq!(levels_at_least(LanguageLevel::C1), ["C1", "C2"]);
        assert_eq!(levels_at_least(LanguageLevel::None).len(), 7);
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
