use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "company_candidate_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub company_candidate_id: i64,
    pub kind: String,
    pub status: Option<String>,
    pub body: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
