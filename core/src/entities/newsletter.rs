use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "newsletters")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subject: String,
    pub body_markdown: String,
    pub segment_id: Option<i64>,
    pub status: String,
    pub status_reason: Option<String>,
    pub send_at: Option<DateTimeUtc>,
    pub created_by: Option<i64>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub recipients: i32,
    pub frozen_at: Option<DateTimeUtc>,
    pub sent_count: i64,
    pub failed_count: i64,
    pub skipped_count: i64,
    pub unsubscribes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
