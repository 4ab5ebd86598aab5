//! Campaigns: what a landing page shows and whether it takes sign-ups.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};

use crate::{Result, entities::campaign};

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

pub async fn count(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(campaign::Entity::find().count(db).await?)
}

/// The demo campaign every new development database gets.
pub const DEMO_SLUG: &str = "software-developers";

pub async fn create_demo(db: &impl ConnectionTrait) -> Result<Campaign> {
    create(
        db,
        NewCampaign {
            slug: DEMO_SLUG,
            title: "Software developers for the Oslo region",
            summary: "Over 300 software jobs in 80 municipalities around Oslo: join the talent pool and participating companies will find you.",
            body_markdown: DEMO_BODY,
            status: "open",
        },
    )
    .await
}

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
