//! Campaigns: what a landing page shows and whether it takes sign-ups.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};

use crate::{
    Result,
    entities::{campaign, campaign_profession},
    professions::Catalog,
};

pub use campaign::Model as Campaign;

/// Whether a campaign takes sign-ups now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Open,
    NotYetOpen,
    Closed,
}

pub fn availability(campaign: &Campaign, now: DateTime<Utc>) -> Availability {
    if campaign.status != "open" {
        return if campaign.status == "draft" {
            Availability::NotYetOpen
        } else {
            Availability::Closed
        };
    }
    match (campaign.opens_at, campaign.closes_at) {
        (Some(opens), _) if now < opens => Availability::NotYetOpen,
        (_, Some(closes)) if now >= closes => Availability::Closed,
        _ => Availability::Open,
    }
}

pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<Campaign>> {
    if slug.len() > 100 {
        return Ok(None);
    }
    Ok(campaign::Entity::find()
        .filter(campaign::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

pub struct NewCampaign<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub body_markdown: &'a str,
    pub status: &'a str,
}

pub async fn create(db: &impl ConnectionTrait, new: NewCampaign<'_>) -> Result<Campaign> {
    let now = Utc::now();
    let id = campaign::Entity::insert(campaign::ActiveModel {
        id: NotSet,
        slug: Set(new.slug.to_owned()),
        title: Set(new.title.to_owned()),
        summary: Set(new.summary.to_owned()),
        body_markdown: Set(new.body_markdown.to_owned()),
        language: Set("en".into()),
        status: Set(new.status.to_owned()),
        opens_at: Set(None),
        closes_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(db)
    .await?
    .last_insert_id;
    campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| crate::Error::Invalid("campaign vanished after insert".into()))
}

/// A campaign as the secretariat edits it, checked.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct CampaignForm {
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub body_markdown: String,
    #[serde(default)]
    pub status: String,
    /// `YYYY-MM-DD`, UTC midnight; empty for none.
    #[serde(default)]
    pub opens_on: String,
    #[serde(default)]
    pub closes_on: String,
    /// ISCO-08 codes of the professions the campaign recruits for.
    #[serde(default)]
    pub professions: Vec<String>,
}

pub struct ValidCampaign {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub body_markdown: String,
    pub status: String,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub professions: Vec<String>,
}

/// Longest campaign text, in bytes of Markdown.
pub const MAX_BODY_BYTES: usize = 50_000;

/// Most professions one campaign may target.
pub const MAX_TARGET_PROFESSIONS: usize = 50;

impl CampaignForm {
    pub fn from_model(c: &Campaign, professions: Vec<String>) -> Self {
        Self {
            slug: c.slug.clone(),
            title: c.title.clone(),
            summary: c.summary.clone(),
            body_markdown: c.body_markdown.clone(),
            status: c.status.clone(),
            opens_on: c
                .opens_at
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            closes_on: c
                .closes_at
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            professions,
        }
    }

    pub fn validate(
        &self,
        catalog: &Catalog,
    ) -> std::result::Result<ValidCampaign, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let slug = self.slug.trim().to_owned();
        let slug_ok = (3..=60).contains(&slug.len())
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-')
            && !slug.ends_with('-');
        if !slug_ok {
            errors.push((
                "slug".into(),
                "Use 3 to 60 lower-case letters, digits and dashes, like software-developers."
                    .into(),
            ));
        }
        let title = self.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 {
            errors.push((
                "title".into(),
                "Give a title of 1 to 200 characters.".into(),
            ));
        }
        if self.summary.chars().count() > 500 {
            errors.push((
                "summary".into(),
                "Keep the summary to 500 characters.".into(),
            ));
        }
        if self.body_markdown.len() > MAX_BODY_BYTES {
            errors.push((
                "body_markdown".into(),
                "Keep the text under 50,000 characters.".into(),
            ));
        }
        let status = self.status.trim().to_owned();
        if !["draft", "open", "closed"].contains(&status.as_str()) {
            errors.push(("status".into(), "Choose draft, open or closed.".into()));
        }
        let mut date = |field: &str, raw: &str| -> Option<DateTime<Utc>> {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) => d.and_hms_opt(0, 0, 0).map(|d| d.and_utc()),
                Err(_) => {
                    errors.push((field.into(), "Use a date like 2027-03-01.".into()));
                    None
                }
            }
        };
        let opens_at = date("opens_on", &self.opens_on);
        let closes_at = date("closes_on", &self.closes_on);
        if let (Some(o), Some(c)) = (opens_at, closes_at)
            && c <= o
        {
            errors.push((
                "closes_on".into(),
                "The campaign must close after it opens.".into(),
            ));
        }
        let mut professions: Vec<String> = self
            .professions
            .iter()
            .map(|code| code.trim().to_owned())
            .filter(|code| !code.is_empty())
            .collect();
        professions.sort();
        professions.dedup();
        if professions.iter().any(|code| !catalog.contains(code)) {
            errors.push((
                "professions".into(),
                "Choose professions from the list.".into(),
            ));
        } else if professions.len() > MAX_TARGET_PROFESSIONS {
            errors.push((
                "professions".into(),
                format!("Choose at most {MAX_TARGET_PROFESSIONS} professions."),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidCampaign {
            slug,
            title,
            summary: self.summary.trim().to_owned(),
            body_markdown: self.body_markdown.clone(),
            status,
            opens_at,
            closes_at,
            professions,
        })
    }
}

fn slug_taken(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Creates a campaign with its target professions; `Ok(None)` when the slug is taken.
pub async fn create_from(db: &DatabaseConnection, v: &ValidCampaign) -> Result<Option<i64>> {
    let txn = crate::db::begin_write(db).await?;
    let Some(id) = insert(&txn, v).await? else {
        return Ok(None);
    };
    set_professions(&txn, id, &v.professions).await?;
    txn.commit().await?;
    Ok(Some(id))
}

async fn insert(db: &impl ConnectionTrait, v: &ValidCampaign) -> Result<Option<i64>> {
    let now = Utc::now();
    let result = campaign::Entity::insert(campaign::ActiveModel {
        id: NotSet,
        slug: Set(v.slug.clone()),
        title: Set(v.title.clone()),
        summary: Set(v.summary.clone()),
        body_markdown: Set(v.body_markdown.clone()),
        language: Set("en".into()),
        status: Set(v.status.clone()),
        opens_at: Set(v.opens_at),
        closes_at: Set(v.closes_at),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(db)
    .await;
    match result {
        Ok(r) => Ok(Some(r.last_insert_id)),
        Err(e) if slug_taken(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Updates a campaign and its target professions; `Ok(false)` when the new slug is
/// taken by another one.
pub async fn update(db: &DatabaseConnection, id: i64, v: &ValidCampaign) -> Result<bool> {
    let txn = crate::db::begin_write(db).await?;
    if !update_row(&txn, id, v).await? {
        return Ok(false);
    }
    set_professions(&txn, id, &v.professions).await?;
    txn.commit().await?;
    Ok(true)
}

async fn update_row(db: &impl ConnectionTrait, id: i64, v: &ValidCampaign) -> Result<bool> {
    let result = campaign::Entity::update_many()
        .col_expr(
            campaign::Column::Slug,
            sea_orm::sea_query::Expr::value(v.slug.clone()),
        )
        .col_expr(
            campaign::Column::Title,
            sea_orm::sea_query::Expr::value(v.title.clone()),
        )
        .col_expr(
            campaign::Column::Summary,
            sea_orm::sea_query::Expr::value(v.summary.clone()),
        )
        .col_expr(
            campaign::Column::BodyMarkdown,
            sea_orm::sea_query::Expr::value(v.body_markdown.clone()),
        )
        .col_expr(
            campaign::Column::Status,
            sea_orm::sea_query::Expr::value(v.status.clone()),
        )
        .col_expr(
            campaign::Column::OpensAt,
            sea_orm::sea_query::Expr::value(v.opens_at),
        )
        .col_expr(
            campaign::Column::ClosesAt,
            sea_orm::sea_query::Expr::value(v.closes_at),
        )
        .col_expr(
            campaign::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(campaign::Column::Id.eq(id))
        .exec(db)
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if slug_taken(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the professions a campaign recruits for.
async fn set_professions(
    db: &impl ConnectionTrait,
    campaign_id: i64,
    codes: &[String],
) -> Result<()> {
    campaign_profession::Entity::delete_many()
        .filter(campaign_profession::Column::CampaignId.eq(campaign_id))
        .exec(db)
        .await?;
    if codes.is_empty() {
        return Ok(());
    }
    campaign_profession::Entity::insert_many(codes.iter().map(|code| {
        campaign_profession::ActiveModel {
            campaign_id: Set(campaign_id),
            profession_code: Set(code.clone()),
        }
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The ISCO-08 codes a campaign recruits for, in code order.
pub async fn target_professions(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<Vec<String>> {
    use sea_orm::QueryOrder;
    Ok(campaign_profession::Entity::find()
        .filter(campaign_profession::Column::CampaignId.eq(campaign_id))
        .order_by_asc(campaign_profession::Column::ProfessionCode)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.profession_code)
        .collect())
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Campaign>> {
    Ok(campaign::Entity::find_by_id(id).one(db).await?)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Campaign>> {
    use sea_orm::QueryOrder;
    Ok(campaign::Entity::find()
        .order_by_desc(campaign::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(campaign::Entity::find().count(db).await?)
}

/// The demo campaign every new development database gets.
pub const DEMO_SLUG: &str = "software-developers";

pub async fn create_demo(db: &impl ConnectionTrait) -> Result<Campaign> {
    let campaign = create(
        db,
        NewCampaign {
            slug: DEMO_SLUG,
            title: "Software developers for the Oslo region",
            summary: "Over 300 software jobs in 80 municipalities around Oslo: join the talent pool and participating companies will find you.",
            body_markdown: DEMO_BODY,
            status: "open",
        },
    )
    .await?;
    let targets: Vec<String> = DEMO_PROFESSIONS.iter().map(|c| (*c).to_owned()).collect();
    set_professions(db, campaign.id, &targets).await?;
    Ok(campaign)
}

/// Software and applications developers and analysts, and database and network
/// professionals (ISCO-08 251x, 252x).
const DEMO_PROFESSIONS: &[&str] = &[
    "2511", "2512", "2513", "2514", "2519", "2521", "2522", "2523",
];

const DEMO_BODY: &str = "\
## Work where the fjord meets the city

Companies across the Oslo region — from fintech start-ups in Bjørvika to the energy and \
maritime industry along the fjord — are hiring **backend, frontend, cloud and data \
engineers**. Most teams work in English, and Norwegian lessons are part of many offers.

### What you get
- A 37.5-hour working week, five weeks of paid holiday and parental leave of up to a year
- Kindergarten for every child, and free public schools
- Help for your partner: our *partner programme* connects accompanying partners with \
  employers too

### How it works
1. Sign up below — it takes three minutes.
2. Confirm your email address.
3. We share your profile only with the participating companies you allow, and only \
   for real vacancies.

Citizens of the EU/EEA can start at once. Everyone else needs a work permit as a \
skilled worker; we explain the process and the companies help with it.
";

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn campaign(status: &str) -> Campaign {
        let now = Utc::now();
        Campaign {
            id: 1,
            slug: "x".into(),
            title: "x".into(),
            summary: String::new(),
            body_markdown: String::new(),
            language: "en".into(),
            status: status.into(),
            opens_at: None,
            closes_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn availability_follows_status_and_dates() {
        let now = Utc::now();
        assert_eq!(availability(&campaign("open"), now), Availability::Open);
        assert_eq!(availability(&campaign("closed"), now), Availability::Closed);
        assert_eq!(
            availability(&campaign("draft"), now),
            Availability::NotYetOpen
        );
        let mut c = campaign("open");
        c.closes_at = Some(now - Duration::hours(1));
        assert_eq!(availability(&c, now), Availability::Closed);
        c.closes_at = None;
        c.opens_at = Some(now + Duration::hours(1));
        assert_eq!(availability(&c, now), Availability::NotYetOpen);
    }
}

pub mod stats {
    //! Per-campaign figures for the back office.

    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    use serde::Serialize;

    use crate::Result;

    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct Count {
        pub key: String,
        pub count: i64,
    }

    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct Figures {
        pub signups: i64,
        pub candidates: i64,
        pub confirmed: i64,
        /// Sign-ups per day (UTC), oldest first, days without any left out.
        pub per_day: Vec<Count>,
        pub by_profession: Vec<Count>,
        pub by_eu_status: Vec<Count>,
        pub by_utm_source: Vec<Count>,
    }

    async fn counts(db: &impl ConnectionTrait, sql: &str, campaign_id: i64) -> Result<Vec<Count>> {
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => sql.replace('?', "$1"),
            _ => sql.to_owned(),
        };
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [campaign_id.into()],
            ))
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Count {
                    key: row
                        .try_get::<Option<String>>("", "k")?
                        .unwrap_or_else(|| "(none)".into()),
                    count: row.try_get("", "n")?,
                })
            })
            .collect()
    }

    pub async fn figures(db: &impl ConnectionTrait, campaign_id: i64) -> Result<Figures> {
        let day = match db.get_database_backend() {
            DbBackend::Postgres => "to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            _ => "substr(s.created_at, 1, 10)",
        };
        let per_day = counts(
            db,
            &format!(
                "SELECT {day} AS k, CAST(COUNT(*) AS BIGINT) AS n FROM signups s WHERE s.campaign_id = ? GROUP BY {day} ORDER BY k"
            ),
            campaign_id,
        )
        .await?;
        let one = |rows: Vec<Count>| rows.first().map_or(0, |c| c.count);
        let signups = one(
            counts(db, "SELECT 'all' AS k, CAST(COUNT(*) AS BIGINT) AS n FROM signups s WHERE s.campaign_id = ?", campaign_id)
                .await?,
        );
        let members = "c.id IN (SELECT candidate_id FROM signups WHERE campaign_id = ?)";
        let candidates = one(counts(
            db,
            &format!(
                "SELECT 'c' AS k, CAST(COUNT(*) AS BIGINT) AS n FROM candidates c WHERE {members}"
            ),
            campaign_id,
        )
        .await?);
        let confirmed = one(
            counts(
                db,
                &format!("SELECT 'c' AS k, CAST(COUNT(*) AS BIGINT) AS n FROM candidates c WHERE c.confirmed_at IS NOT NULL AND {members}"),
                campaign_id,
            )
            .await?,
        );
        let grouped = |column: &str| {
            format!(
                "SELECT c.{column} AS k, CAST(COUNT(*) AS BIGINT) AS n FROM candidates c \
                 WHERE c.id IN (SELECT candidate_id FROM signups WHERE campaign_id = ?) \
                 GROUP BY c.{column} ORDER BY n DESC, k LIMIT 12"
            )
        };
        Ok(Figures {
            signups,
            candidates,
            confirmed,
            per_day,
            by_profession: counts(db, &grouped("profession_code"), campaign_id).await?,
            by_eu_status: counts(db, &grouped("eu_status"), campaign_id).await?,
            by_utm_source: counts(
                db,
                "SELECT s.utm_source AS k, CAST(COUNT(*) AS BIGINT) AS n FROM signups s WHERE s.campaign_id = ? \
                 GROUP BY s.utm_source ORDER BY n DESC, k LIMIT 12",
                campaign_id,
            )
            .await?,
        })
    }
}
