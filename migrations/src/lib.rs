//! Database schema for Talent Pool: one migration set that runs on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261125_000001_reference_and_campaigns;
mod m20261125_000002_candidates;
mod m20261125_000003_mail_and_audit;
mod m20261125_000004_staff_and_companies;
mod m20261125_000005_segments_forwards_newsletters;
mod m20261125_000006_professions_data;
mod m20261125_000007_consent_texts_v1;
mod m20261125_000008_pool_indexes;
mod m20261125_000009_companies_portal;
mod m20261125_000010_newsletter_delivery;
mod m20261125_000011_erasures_and_retention;
mod m20261201_000012_newsletter_senders;
mod m20261201_000013_newsletter_counts;
mod m20261201_000014_delivery_claim_indexes;
mod m20261201_000015_drop_claimed_index;
mod m20261202_000016_search_index_pending_list;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_reference_and_campaigns::Migration),
            Box::new(m20261125_000002_candidates::Migration),
            Box::new(m20261125_000003_mail_and_audit::Migration),
            Box::new(m20261125_000004_staff_and_companies::Migration),
            Box::new(m20261125_000005_segments_forwards_newsletters::Migration),
            Box::new(m20261125_000006_professions_data::Migration),
            Box::new(m20261125_000007_consent_texts_v1::Migration),
            Box::new(m20261125_000008_pool_indexes::Migration),
            Box::new(m20261125_000009_companies_portal::Migration),
            Box::new(m20261125_000010_newsletter_delivery::Migration),
            Box::new(m20261125_000011_erasures_and_retention::Migration),
            Box::new(m20261201_000012_newsletter_senders::Migration),
            Box::new(m20261201_000013_newsletter_counts::Migration),
            Box::new(m20261201_000014_delivery_claim_indexes::Migration),
            Box::new(m20261201_000015_drop_claimed_index::Migration),
            Box::new(m20261202_000016_search_index_pending_list::Migration),
        ]
    }
}
