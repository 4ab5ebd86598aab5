//! Campaigns by slug, kept for a second: every sign-up and landing page needs its
//! campaign, and reading it from the database each time was one round trip per
//! request. The secretariat's own edits clear it at once; edits made by another
//! process show within [`TTL`].

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use talentpool_core::campaigns::{self, Campaign};

/// How long a campaign read from the database is used without reading it again.
pub const TTL: Duration = Duration::from_secs(1);

/// When a slug was read, and what it was (`None`: no such campaign).
type Entry = (Instant, Option<Campaign>);

#[derive(Clone, Default)]
pub struct CampaignCache {
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl CampaignCache {
    /// The campaign behind `slug` (`None`: no such campaign), at most [`TTL`] old.
    pub async fn find_by_slug(
        &self,
        db: &DatabaseConnection,
        slug: &str,
    ) -> talentpool_core::Result<Option<Campaign>> {
        if let Ok(entries) = self.entries.read()
            && let Some((read_at, campaign)) = entries.get(slug)
            && read_at.elapsed() < TTL
        {
            return Ok(campaign.clone());
        }
        let campaign = campaigns::find_by_slug(db, slug).await?;
        if let Ok(mut entries) = self.entries.write() {
            // Unknown slugs are cached too, but never more than a bounded number.
            if entries.len() >= 1000 {
                entries.retain(|_, (read_at, _)| read_at.elapsed() < TTL);
            }
            if entries.len() < 1000 {
                entries.insert(slug.to_owned(), (Instant::now(), campaign.clone()));
            }
        }
        Ok(campaign)
    }

    /// Forgets everything (after a campaign was created or changed).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}
