use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "candidates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub full_name: String,
    pub residence_country: String,
    pub profession_code: String,
    pub years_experience: i16,
    pub english_level: String,
    pub norwegian_level: String,
    pub linkedin_url: Option<String>,
    pub phone: Option<String>,
    pub education_level: Option<String>,
    pub work_permit_norway: bool,
    pub has_partner: bool,
    pub partner_profession: Option<String>,
    pub cv_key: Option<String>,
    pub eu_status: String,
    pub consent_pool: bool,
    pub consent_share: bool,
    pub consent_newsletter: bool,
    pub confirmed_at: Option<DateTimeUtc>,
    pub suppressed_at: Option<DateTimeUtc>,
    pub last_active_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
