//! Participating companies: organisation number, website, contact, the campaigns they
//! take part in, active or archived. All SQL on companies lives here.

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use crate::{
    Result,
    domain::{CandidateEmail, OrgNumber},
    entities::{campaign, company, company_campaign},
};

pub use company::Model as Company;

/// Messages per field, keyed by the public field name.
pub type FieldMessages = Vec<(String, String)>;

/// A company as submitted by a form or the API, before validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CompanyInput {
    pub name: String,
    /// Norwegian organisation number: 9 digits with a modulus-11 check digit.
    pub org_number: String,
    pub website: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// Ids of the campaigns the company takes part in.
    pub campaign_ids: Vec<i64>,
}

/// A company whose values are known to be valid and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCompany {
    pub name: String,
    pub org_number: OrgNumber,
    pub website: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub campaign_ids: Vec<i64>,
}

fn optional(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl CompanyInput {
    pub fn from_model(company: &Company, campaign_ids: Vec<i64>) -> Self {
        Self {
            name: company.name.clone(),
            org_number: company.org_number.clone(),
            website: company.website.clone(),
            contact_name: company.contact_name.clone(),
            contact_email: company.contact_email.clone(),
            campaign_ids,
        }
    }

    /// Checks every field and names each bad one.
    pub fn validate(&self) -> Result<ValidCompany, FieldMessages> {
        let mut errors = FieldMessages::new();
        let mut bad = |f: &str, m: &str| errors.push((f.to_owned(), m.to_owned()));
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            bad("name", "Give the company's name (1 to 200 characters).");
        }
        let org_number = OrgNumber::parse(&self.org_number);
        if let Err(message) = &org_number {
            bad("org_number", message);
        }
        let website = optional(&self.website).map(|w| {
            if w.contains("://") {
                w
            } else {
                format!("https://{w}")
            }
        });
        if let Some(w) = &website
            && (w.chars().count() > 300
                || !(w.starts_with("https://") || w.starts_with("http://"))
                || w.chars().any(char::is_whitespace)
                || !w.split("://").nth(1).is_some_and(|host| host.contains('.')))
        {
            bad("website", "Give a web address such as https://example.no.");
        }
        let contact_name = optional(&self.contact_name);
        if contact_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 200)
        {
            bad("contact_name", "Use at most 200 characters.");
        }
        let contact_email = match optional(&self.contact_email) {
            None => None,
            Some(raw) => match CandidateEmail::parse(&raw) {
                Ok(email) => Some(email.into_inner()),
                Err(_) => {
                    bad("contact_email", "Give a valid email address.");
                    None
                }
            },
        };
        let mut campaign_ids = self.campaign_ids.clone();
        campaign_ids.sort_unstable();
        campaign_ids.dedup();
        match (org_number, errors.is_empty()) {
            (Ok(org_number), true) => Ok(ValidCompany {
                name,
                org_number,
                website,
                contact_name,
                contact_email,
                campaign_ids,
            }),
            _ => Err(errors),
        }
    }
}

/// Checks what only the database knows: campaigns exist, the number is not taken.
async fn check_references(
    db: &impl ConnectionTrait,
    valid: &ValidCompany,
    except: Option<i64>,
) -> Result<FieldMessages> {
    let mut errors = FieldMessages::new();
    if !valid.campaign_ids.is_empty() {
        let found = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(valid.campaign_ids.clone()))
            .all(db)
            .await?
            .len();
        if found != valid.campaign_ids.len() {
            errors.push(("campaign_ids".into(), "A campaign does not exist.".into()));
        }
    }
    let mut taken =
        company::Entity::find().filter(company::Column::OrgNumber.eq(valid.org_number.as_str()));
    if let Some(id) = except {
        taken = taken.filter(company::Column::Id.ne(id));
    }
    if taken.one(db).await?.is_some() {
        errors.push((
            "org_number".into(),
            "A company with this organisation number exists already.".into(),
        ));
    }
    Ok(errors)
}

async fn set_campaigns(db: &impl ConnectionTrait, company_id: i64, ids: &[i64]) -> Result<()> {
    company_campaign::Entity::delete_many()
        .filter(company_campaign::Column::CompanyId.eq(company_id))
        .exec(db)
        .await?;
    if !ids.is_empty() {
        company_campaign::Entity::insert_many(ids.iter().map(|&campaign_id| {
            company_campaign::ActiveModel {
                company_id: Set(company_id),
                campaign_id: Set(campaign_id),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Creates a company; `Ok(Err(..))` names the fields that clash with stored data.
pub async fn create(
    db: &DatabaseConnection,
    valid: &ValidCompany,
) -> Result<Result<Company, FieldMessages>> {
    let txn = crate::db::begin_write(db).await?;
    let errors = check_references(&txn, valid, None).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let now = Utc::now();
    let id = company::Entity::insert(company::ActiveModel {
        id: NotSet,
        name: Set(valid.name.clone()),
        org_number: Set(valid.org_number.to_string()),
        website: Set(valid.website.clone()),
        contact_name: Set(valid.contact_name.clone()),
        contact_email: Set(valid.contact_email.clone()),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    set_campaigns(&txn, id, &valid.campaign_ids).await?;
    let company = company::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| crate::Error::Invalid("company vanished after insert".into()))?;
    txn.commit().await?;
    Ok(Ok(company))
}

/// Updates a company; `Ok(None)` when there is no such company.
pub async fn update(
    db: &DatabaseConnection,
    id: i64,
    valid: &ValidCompany,
) -> Result<Option<Result<Company, FieldMessages>>> {
    let txn = crate::db::begin_write(db).await?;
    if company::Entity::find_by_id(id).one(&txn).await?.is_none() {
        return Ok(None);
    }
    let errors = check_references(&txn, valid, Some(id)).await?;
    if !errors.is_empty() {
        return Ok(Some(Err(errors)));
    }
    company::Entity::update_many()
        .col_expr(company::Column::Name, Expr::value(valid.name.clone()))
        .col_expr(
            company::Column::OrgNumber,
            Expr::value(valid.org_number.to_string()),
        )
        .col_expr(company::Column::Website, Expr::value(valid.website.clone()))
        .col_expr(
            company::Column::ContactName,
            Expr::value(valid.contact_name.clone()),
        )
        .col_expr(
            company::Column::ContactEmail,
            Expr::value(valid.contact_email.clone()),
        )
        .col_expr(company::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(company::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    set_campaigns(&txn, id, &valid.campaign_ids).await?;
    let company = company::Entity::find_by_id(id).one(&txn).await?;
    txn.commit().await?;
    Ok(company.map(Ok))
}

/// Archives (or restores) a company; `false` when there is no such company. The users
/// of an archived company cannot sign in and it receives no forwards.
pub async fn set_archived(db: &impl ConnectionTrait, id: i64, archived: bool) -> Result<bool> {
    let now = Utc::now();
    let result = company::Entity::update_many()
        .col_expr(
            company::Column::ArchivedAt,
            Expr::value(archived.then_some(now)),
        )
        .col_expr(company::Column::UpdatedAt, Expr::value(now))
        .filter(company::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Company>> {
    Ok(company::Entity::find_by_id(id).one(db).await?)
}

/// A company that may receive forwards and whose users may sign in.
pub async fn find_active(db: &impl ConnectionTrait, id: i64) -> Result<Option<Company>> {
    Ok(company::Entity::find_by_id(id)
        .filter(company::Column::ArchivedAt.is_null())
        .one(db)
        .await?)
}

/// Companies by name; archived ones only when asked.
pub async fn list(db: &impl ConnectionTrait, include_archived: bool) -> Result<Vec<Company>> {
    let mut query = company::Entity::find();
    if !include_archived {
        query = query.filter(company::Column::ArchivedAt.is_null());
    }
    Ok(query.order_by_asc(company::Column::Name).all(db).await?)
}

/// Ids of the campaigns a company takes part in.
pub async fn campaign_ids(db: &impl ConnectionTrait, company_id: i64) -> Result<Vec<i64>> {
    Ok(company_campaign::Entity::find()
        .filter(company_campaign::Column::CompanyId.eq(company_id))
        .order_by_asc(company_campaign::Column::CampaignId)
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.campaign_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CompanyInput {
        CompanyInput {
            name: " Fjord Software AS ".into(),
            org_number: "923 609 016".into(),
            website: Some("fjord.example.no".into()),
            contact_name: Some(" ".into()),
            contact_email: Some("HR@Fjord.Example.NO".into()),
            campaign_ids: vec![2, 1, 2],
        }
    }

    #[test]
    fn valid_input_is_normalised() {
        let valid = input().validate().expect("valid");
        assert_eq!(valid.name, "Fjord Software AS");
        assert_eq!(valid.org_number.as_str(), "923609016");
        assert_eq!(valid.website.as_deref(), Some("https://fjord.example.no"));
        assert_eq!(valid.contact_name, None);
        assert_eq!(valid.contact_email.as_deref(), Some("HR@fjord.example.no"));
        assert_eq!(valid.campaign_ids, [1, 2]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = CompanyInput {
            name: String::new(),
            org_number: "923609017".into(),
            website: Some("not a site".into()),
            contact_email: Some("nope".into()),
            ..CompanyInput::default()
        };
        let errors = bad.validate().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["name", "org_number", "website", "contact_email"]);
    }
}
