use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "company_users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub company_id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub terms_accepted_at: Option<DateTimeUtc>,
    pub terms_version: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
    pub disabled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
