//! The candidate's rights over their data: a copy of everything held about them (right
//! of access) and erasure (right to be forgotten). Both are one call, used alike by the
//! candidate's own page, the back office and the API.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use serde::Serialize;
use serde_json::json;

use crate::{
    Result,
    audit::{self, Actor},
    candidates, consents,
    entities::{candidate, consent_text},
    professions::Catalog,
    sql::{execute, query as rows},
    storage::FileStore,
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    pub profile: Profile,
    pub citizenships: Vec<String>,
    pub campaigns: Vec<CampaignSignup>,
    pub consents: Vec<ConsentRecord>,
    pub emails: Vec<EmailRecord>,
    pub companies: Vec<CompanyShare>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub residence_country: String,
    pub profession_code: String,
    pub profession: Option<String>,
    pub years_experience: i16,
    pub english_level: String,
    pub norwegian_level: String,
    pub education_level: Option<String>,
    pub linkedin_url: Option<String>,
    pub phone: Option<String>,
    pub work_permit_norway: bool,
    pub has_partner: bool,
    pub partner_profession: Option<String>,
    pub eu_status: String,
    pub has_cv: bool,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_active_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignSignup {
    pub campaign: String,
    pub title: String,
    pub signed_up_at: DateTime<Utc>,
    /// `new` (this sign-up created the profile) or `repeat`.
    pub kind: String,
    /// `form` or `api`.
    pub source: String,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentRecord {
    pub kind: String,
    pub text: String,
    pub text_version: i32,
    pub text_language: String,
    pub granted_at: DateTime<Utc>,
    pub granted_source: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawn_source: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmailRecord {
    pub subject: String,
    pub kind: String,
    pub status: String,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompanyShare {
    pub company: String,
    pub status: String,
    pub shared_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn profile(c: &candidate::Model, catalog: &Catalog) -> Profile {
    Profile {
        id: c.id,
        email: c.email.clone(),
        full_name: c.full_name.clone(),
        residence_country: c.residence_country.clone(),
        profession_code: c.profession_code.clone(),
        profession: catalog.get(&c.profession_code).map(|p| p.title.clone()),
        years_experience: c.years_experience,
        english_level: c.english_level.clone(),
        norwegian_level: c.norwegian_level.clone(),
        education_level: c.education_level.clone(),
        linkedin_url: c.linkedin_url.clone(),
        phone: c.phone.clone(),
        work_permit_norway: c.work_permit_norway,
        has_partner: c.has_partner,
        partner_profession: c.partner_profession.clone(),
        eu_status: c.eu_status.clone(),
        has_cv: c.cv_key.is_some(),
        confirmed_at: c.confirmed_at,
        created_at: c.created_at,
        updated_at: c.updated_at,
        last_active_at: c.last_active_at,
    }
}

/// Everything held about a candidate, as one document; `None` for an unknown id.
pub async fn export(
    db: &impl ConnectionTrait,
    catalog: &Catalog,
    candidate_id: i64,
) -> Result<Option<Export>> {
    use sea_orm::EntityTrait;
    let Some(candidate) = candidates::find(db, candidate_id).await? else {
        return Ok(None);
    };
    let campaigns = rows(
        db,
        "SELECT c.slug, c.title, s.created_at, s.kind, s.source, s.utm_source, s.utm_medium, s.utm_campaign \
         FROM signups s JOIN campaigns c ON c.id = s.campaign_id WHERE s.candidate_id = ? ORDER BY s.created_at, s.id",
        vec![candidate_id.into()],
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok(CampaignSignup {
            campaign: r.try_get("", "slug")?,
            title: r.try_get("", "title")?,
            signed_up_at: r.try_get("", "created_at")?,
            kind: r.try_get("", "kind")?,
            source: r.try_get("", "source")?,
            utm_source: r.try_get("", "utm_source")?,
            utm_medium: r.try_get("", "utm_medium")?,
            utm_campaign: r.try_get("", "utm_campaign")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let texts = consent_text::Entity::find().all(db).await?;
    let consents = consents::for_candidate(db, candidate_id)
        .await?
        .into_iter()
        .map(|c| {
            let text = texts.iter().find(|t| t.id == c.consent_text_id);
            ConsentRecord {
                kind: c.kind,
                text: text.map(|t| t.body.clone()).unwrap_or_default(),
                text_version: text.map_or(0, |t| t.version),
                text_language: text.map(|t| t.language.clone()).unwrap_or_default(),
                granted_at: c.granted_at,
                granted_source: c.granted_source,
                withdrawn_at: c.withdrawn_at,
                withdrawn_source: c.withdrawn_source,
            }
        })
        .collect();
    let emails = rows(
        db,
        "SELECT subject, template, status, created_at FROM email_log WHERE candidate_id = ? ORDER BY created_at, id",
        vec![candidate_id.into()],
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok(EmailRecord {
            subject: r.try_get("", "subject")?,
            kind: r.try_get("", "template")?,
            status: r.try_get("", "status")?,
            sent_at: r.try_get("", "created_at")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let companies = shared_with(db, candidate_id).await?;
    Ok(Some(Export {
        exported_at: Utc::now(),
        profile: profile(&candidate, catalog),
        citizenships: candidates::citizenships(db, candidate_id).await?,
        campaigns,
        consents,
        emails,
        companies,
    }))
}

/// The companies a candidate's profile was shared with, and where it stands with each.
pub async fn shared_with(
    db: &impl ConnectionTrait,
    candidate_id: i64,
) -> Result<Vec<CompanyShare>> {
    rows(
        db,
        "SELECT co.name, cc.status, cc.created_at, cc.withdrawn_at, cc.revoked_at \
         FROM company_candidates cc JOIN companies co ON co.id = cc.company_id \
         WHERE cc.candidate_id = ? ORDER BY cc.created_at, cc.id",
        vec![candidate_id.into()],
    )
    .await?
    .into_iter()
    .map(|r| {
        Ok(CompanyShare {
            company: r.try_get("", "name")?,
            status: r.try_get("", "status")?,
            shared_at: r.try_get("", "created_at")?,
            withdrawn_at: r.try_get("", "withdrawn_at")?,
            revoked_at: r.try_get("", "revoked_at")?,
        })
    })
    .collect()
}

/// Who asked for an erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureSource {
    SelfService,
    Staff,
    Api,
    Retention,
}

impl ErasureSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfService => "self_service",
            Self::Staff => "staff",
            Self::Api => "api",
            Self::Retention => "retention",
        }
    }
}

/// Erases a candidate everywhere, in one transaction: the profile with its
/// citizenships, sign-ups (and their pending answers), consents and tokens; the notes
/// companies wrote about them (the company keeps an anonymous "withdrawn" entry);
/// the address on newsletter deliveries, in the email log, the suppression list and the
/// development outbox; then the CV files. What stays is an anonymous row in `erasures`
/// and an audit entry saying that an erasure happened. `false` for an unknown id.
pub async fn erase(
    db: &DatabaseConnection,
    files: &dyn FileStore,
    candidate_id: i64,
    actor: Actor,
    source: ErasureSource,
) -> Result<bool> {
    let txn = crate::db::begin_write(db).await?;
    let Some(candidate) = candidates::find(&txn, candidate_id).await? else {
        return Ok(false);
    };
    let now = Utc::now();
    let signups = candidates::signups(&txn, candidate_id).await?;
    let mut campaign_ids: Vec<i64> = signups.iter().map(|s| s.campaign_id).collect();
    campaign_ids.sort_unstable();
    campaign_ids.dedup();
    // CVs uploaded with repeat sign-ups that were never applied.
    let mut cv_keys: Vec<String> = signups
        .iter()
        .filter_map(|s| s.pending_answers.as_ref())
        .filter_map(|p| p.get("cv_key").and_then(|k| k.as_str()).map(str::to_owned))
        .collect();
    cv_keys.extend(candidate.cv_key.clone());

    let id: Value = candidate_id.into();
    let email: Value = candidate.email.clone().into();
    // Each company keeps an entry marked withdrawn, without the link or its notes.
    let forwarded = crate::forwards::withdraw_candidate(&txn, candidate_id).await?;
    execute(
        &txn,
        "UPDATE deliveries SET recipient = NULL, candidate_id = NULL WHERE candidate_id = ?",
        vec![id.clone()],
    )
    .await?;
    execute(
        &txn,
        "DELETE FROM email_log WHERE candidate_id = ? OR recipient = ?",
        vec![id.clone(), email.clone()],
    )
    .await?;
    execute(
        &txn,
        "DELETE FROM outbox_messages WHERE recipient = ?",
        vec![email.clone()],
    )
    .await?;
    execute(
        &txn,
        "DELETE FROM suppressions WHERE email = ?",
        vec![email],
    )
    .await?;
    // Citizenships, sign-ups, consents and tokens go with the row (ON DELETE CASCADE).
    execute(&txn, "DELETE FROM candidates WHERE id = ?", vec![id]).await?;
    execute(
        &txn,
        "INSERT INTO erasures (source, campaign_ids, forwarded_to_companies, was_confirmed, erased_at) VALUES (?, ?, ?, ?, ?)",
        vec![
            source.as_str().into(),
            json!(campaign_ids).into(),
            i32::try_from(forwarded).unwrap_or(i32::MAX).into(),
            candidate.confirmed_at.is_some().into(),
            now.into(),
        ],
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "candidate.erased",
        "candidate",
        Some(candidate_id),
        Some(json!({ "source": source.as_str() })),
    )
    .await?;
    txn.commit().await?;
    for key in cv_keys {
        if let Err(e) = files.delete(&key).await {
            tracing::error!(error = %e, candidate_id, "could not delete an erased candidate's CV file");
        }
    }
    tracing::info!(candidate_id, source = source.as_str(), "candidate erased");
    Ok(true)
}
