//! The talent pool's candidates: sign-up (double opt-in), confirmation, and applying the
//! answers of a repeat sign-up once the owner of the address confirms them. All SQL on
//! candidates and their citizenships and sign-ups lives here.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set, Unchanged},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QueryTrait,
    sea_query::{OnConflict, Query},
};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    audit::{self, Actor},
    consents::{self, CurrentTexts, Kind},
    domain::signup::{SignupInput, ValidSignup},
    entities::{candidate, citizenship, signup},
    professions::Catalog,
    queue::{self, CANDIDATE_EMAIL_QUEUE, CandidateEmail},
    tokens::{self, Lookup, Purpose},
};

mod new_postgres;

pub use candidate::Model as Candidate;

/// The language of the consent texts a sign-up agrees to.
const CONSENT_LANGUAGE: &str = "en";

/// A repeat sign-up emails its confirmation link at most this often per address.
pub const REPEAT_EMAIL_INTERVAL_MINUTES: i64 = 10;

/// Where a sign-up came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignupSource {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    #[serde(skip)]
    pub referrer: Option<String>,
}

impl SignupSource {
    /// Trims values and cuts them to the column size; blanks become `None`.
    pub fn normalised(self) -> Self {
        let clean = |v: Option<String>, max: usize| {
            v.map(|s| s.trim().chars().take(max).collect::<String>())
                .filter(|s| !s.is_empty())
        };
        Self {
            utm_source: clean(self.utm_source, 200),
            utm_medium: clean(self.utm_medium, 200),
            utm_campaign: clean(self.utm_campaign, 200),
            utm_term: clean(self.utm_term, 200),
            utm_content: clean(self.utm_content, 200),
            referrer: clean(self.referrer, 500),
        }
    }
}

/// What a repeat sign-up keeps until its owner confirms it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingAnswers {
    answers: SignupInput,
    cv_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupOutcome {
    /// A new candidate, waiting for the confirmation of its address.
    Created { candidate_id: i64 },
    /// A known address: the answers wait for confirmation through a link sent to it.
    Pending { candidate_id: i64, emailed: bool },
}

/// One sign-up to record: valid answers for an open campaign.
#[derive(Debug, Clone)]
pub struct NewSignup {
    pub campaign_id: i64,
    pub valid: ValidSignup,
    pub cv_key: Option<String>,
    /// `form` or `api`.
    pub channel: &'static str,
    pub source: SignupSource,
}

/// Records sign-ups and returns their outcomes in the order given. A new address
/// creates an unconfirmed candidate; a known one (or the second of two sign-ups with
/// one address) creates nothing but a pending sign-up. Either way the email job is
/// written in the same transaction as the rows it is about.
///
/// The new candidates of all the sign-ups are written in one transaction, each table
/// with one multi-row statement, which is what makes group commit (`signup_writer`)
/// pay off; if that fails, nothing of it is written and the error is the outer one.
/// Repeat sign-ups (rare) are written one transaction each, with an outcome each.
pub async fn sign_up_many(
    db: &DatabaseConnection,
    signups: &[NewSignup],
) -> Result<Vec<Result<SignupOutcome>>> {
    if signups.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    // The first sign-up of each address may create its candidate. Rows go in in address
    // order, so that two batches committing at once lock their addresses in one order.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (i, signup) in signups.iter().enumerate() {
        first_of.entry(signup.valid.email.as_str()).or_insert(i);
    }
    let mut firsts: Vec<&NewSignup> = first_of.values().map(|&i| &signups[i]).collect();
    firsts.sort_by(|a, b| a.valid.email.as_str().cmp(b.valid.email.as_str()));
    // The texts agreed to are the ones current when the sign-up is recorded.
    let inserted = match db.get_database_backend() {
        DbBackend::Postgres => new_postgres::insert(db, &firsts, now).await?,
        _ => {
            let txn = crate::db::begin_write(db).await?;
            let texts = consents::current_texts(&txn, CONSENT_LANGUAGE).await?;
            let inserted = insert_new(&txn, &firsts, &texts, now).await?;
            txn.commit().await?;
            inserted
        }
    };
    let mut outcomes = Vec::with_capacity(signups.len());
    for (i, signup) in signups.iter().enumerate() {
        let email = signup.valid.email.as_str();
        match inserted.get(email) {
            Some(&candidate_id) if first_of.get(email) == Some(&i) => {
                outcomes.push(Ok(SignupOutcome::Created { candidate_id }));
            }
            _ => outcomes.push(sign_up_repeat(db, signup, now).await),
        }
    }
    Ok(outcomes)
}

/// New candidates with everything that comes with them (see [`new_postgres::insert`]
/// for PostgreSQL's bulk form of the same): multi-row `INSERT`s in the caller's
/// transaction.
async fn insert_new(
    txn: &impl ConnectionTrait,
    signups: &[&NewSignup],
    texts: &CurrentTexts,
    now: chrono::DateTime<Utc>,
) -> Result<HashMap<String, i64>> {
    let inserted = insert_candidates(txn, signups, now).await?;
    let created: Vec<(&NewSignup, i64)> = signups
        .iter()
        .filter_map(|s| inserted.get(s.valid.email.as_str()).map(|id| (*s, *id)))
        .collect();
    if created.is_empty() {
        return Ok(inserted);
    }
    citizenship::Entity::insert_many(created.iter().flat_map(|(signup, candidate_id)| {
        signup
            .valid
            .citizenships
            .iter()
            .map(move |country| citizenship::ActiveModel {
                candidate_id: Set(*candidate_id),
                country: Set(country.code().to_owned()),
            })
    }))
    .exec_without_returning(txn)
    .await?;
    consents::record_initial(
        txn,
        created.iter().flat_map(|(signup, candidate_id)| {
            given_consents(&signup.valid)
                .filter(|(_, given)| *given)
                .map(|(kind, _)| consents::Grant {
                    candidate_id: *candidate_id,
                    kind,
                    text_id: texts.get(kind).id,
                    source: signup.channel,
                })
        }),
        now,
    )
    .await?;
    signup::Entity::insert_many(created.iter().map(|(signup, candidate_id)| {
        signup_row(
            signup.campaign_id,
            *candidate_id,
            "new",
            None,
            signup.channel,
            &signup.source.clone().normalised(),
            now,
        )
    }))
    .exec_without_returning(txn)
    .await?;
    let jobs: Vec<CandidateEmail> = created
        .iter()
        .map(|(_, candidate_id)| CandidateEmail::ConfirmSignup {
            candidate_id: *candidate_id,
        })
        .collect();
    queue::enqueue_many(txn, CANDIDATE_EMAIL_QUEUE, &jobs).await?;
    Ok(inserted)
}

/// Inserts a candidate per sign-up unless its address is known; returns the ids of
/// the rows inserted, by address.
async fn insert_candidates(
    db: &impl ConnectionTrait,
    signups: &[&NewSignup],
    now: chrono::DateTime<Utc>,
) -> Result<HashMap<String, i64>> {
    use candidate::Column as C;
    if signups.is_empty() {
        return Ok(HashMap::new());
    }
    let mut insert = candidate::Entity::insert_many(
        signups
            .iter()
            .map(|signup| new_candidate(&signup.valid, signup.cv_key.clone(), now)),
    )
    .on_conflict(OnConflict::column(C::Email).do_nothing().to_owned())
    .into_query();
    insert.returning(Query::returning().columns([C::Id, C::Email]));
    let backend = db.get_database_backend();
    let rows = db.query_all_raw(backend.build(&insert)).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "email")?,
                row.try_get::<i64>("", "id")?,
            ))
        })
        .collect()
}

fn new_candidate(
    valid: &ValidSignup,
    cv_key: Option<String>,
    now: chrono::DateTime<Utc>,
) -> candidate::ActiveModel {
    candidate::ActiveModel {
        id: NotSet,
        email: Set(valid.email.to_string()),
        full_name: Set(valid.full_name.clone()),
        residence_country: Set(valid.residence_country.code().to_owned()),
        profession_code: Set(valid.profession.clone()),
        years_experience: Set(valid.years_experience),
        english_level: Set(valid.english_level.code().to_owned()),
        norwegian_level: Set(valid.norwegian_level.code().to_owned()),
        linkedin_url: Set(valid.linkedin_url.clone()),
        phone: Set(valid.phone.as_ref().map(|p| p.as_str().to_owned())),
        education_level: Set(valid.education_level.map(|e| e.code().to_owned())),
        work_permit_norway: Set(valid.work_permit_norway),
        has_partner: Set(valid.has_partner),
        partner_profession: Set(valid.partner_profession.clone()),
        cv_key: Set(cv_key),
        eu_status: Set(valid.eu_status().as_str().to_owned()),
        consent_pool: Set(valid.consent_pool),
        consent_share: Set(valid.consent_share),
        consent_newsletter: Set(valid.consent_newsletter),
        confirmed_at: Set(None),
        suppressed_at: Set(None),
        last_active_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// A sign-up with a known address: its answers wait, as a pending sign-up, until the
/// owner confirms them through the link emailed (at most once per interval).
async fn sign_up_repeat(
    db: &DatabaseConnection,
    signup: &NewSignup,
    now: chrono::DateTime<Utc>,
) -> Result<SignupOutcome> {
    let txn = crate::db::begin_write(db).await?;
    let outcome = record_repeat(&txn, signup, now).await?;
    txn.commit().await?;
    Ok(outcome)
}

async fn record_repeat(
    db: &impl ConnectionTrait,
    signup: &NewSignup,
    now: chrono::DateTime<Utc>,
) -> Result<SignupOutcome> {
    let candidate_id = candidate::Entity::find()
        .filter(candidate::Column::Email.eq(signup.valid.email.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| Error::Invalid("candidate vanished during sign-up".into()))?
        .id;
    let recently_emailed = signup::Entity::find()
        .filter(signup::Column::CandidateId.eq(candidate_id))
        .filter(signup::Column::Kind.eq("repeat"))
        .filter(
            signup::Column::CreatedAt.gt(now - Duration::minutes(REPEAT_EMAIL_INTERVAL_MINUTES)),
        )
        .count(db)
        .await?
        > 0;
    let pending = PendingAnswers {
        answers: signup.valid.to_input(),
        cv_key: signup.cv_key.clone(),
    };
    let signup_id = signup::Entity::insert(signup_row(
        signup.campaign_id,
        candidate_id,
        "repeat",
        Some(serde_json::to_value(&pending)?),
        signup.channel,
        &signup.source.clone().normalised(),
        now,
    ))
    .exec(db)
    .await?
    .last_insert_id;
    if !recently_emailed {
        queue::enqueue(
            db,
            CANDIDATE_EMAIL_QUEUE,
            &CandidateEmail::ConfirmChanges { signup_id },
        )
        .await?;
    }
    Ok(SignupOutcome::Pending {
        candidate_id,
        emailed: !recently_emailed,
    })
}

fn signup_row(
    campaign_id: i64,
    candidate_id: i64,
    kind: &str,
    pending_answers: Option<serde_json::Value>,
    channel: &str,
    source: &SignupSource,
    now: chrono::DateTime<Utc>,
) -> signup::ActiveModel {
    signup::ActiveModel {
        id: NotSet,
        campaign_id: Set(campaign_id),
        candidate_id: Set(candidate_id),
        kind: Set(kind.to_owned()),
        pending_answers: Set(pending_answers),
        applied_at: Set(None),
        source: Set(channel.to_owned()),
        utm_source: Set(source.utm_source.clone()),
        utm_medium: Set(source.utm_medium.clone()),
        utm_campaign: Set(source.utm_campaign.clone()),
        utm_term: Set(source.utm_term.clone()),
        utm_content: Set(source.utm_content.clone()),
        referrer: Set(source.referrer.clone()),
        created_at: Set(now),
    }
}

async fn replace_citizenships(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    valid: &ValidSignup,
) -> Result<()> {
    citizenship::Entity::delete_many()
        .filter(citizenship::Column::CandidateId.eq(candidate_id))
        .exec(db)
        .await?;
    insert_citizenships(db, candidate_id, valid).await
}

async fn insert_citizenships(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    valid: &ValidSignup,
) -> Result<()> {
    citizenship::Entity::insert_many(valid.citizenships.iter().map(|country| {
        citizenship::ActiveModel {
            candidate_id: Set(candidate_id),
            country: Set(country.code().to_owned()),
        }
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn given_consents(valid: &ValidSignup) -> impl Iterator<Item = (Kind, bool)> + '_ {
    Kind::ALL.into_iter().map(|kind| {
        let given = match kind {
            Kind::Pool => valid.consent_pool,
            Kind::Share => valid.consent_share,
            Kind::Newsletter => valid.consent_newsletter,
        };
        (kind, given)
    })
}

/// Brings the consent rows in line with the answers: grants what is given, withdraws
/// what is no longer given.
async fn grant_consents(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    valid: &ValidSignup,
    texts: &CurrentTexts,
    source: &str,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    for (kind, given) in given_consents(valid) {
        if given {
            consents::grant(db, candidate_id, kind, texts.get(kind).id, source, now).await?;
        } else {
            consents::withdraw(db, candidate_id, kind, source, now).await?;
        }
    }
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Candidate>> {
    Ok(candidate::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_by_email(db: &impl ConnectionTrait, email: &str) -> Result<Option<Candidate>> {
    Ok(candidate::Entity::find()
        .filter(candidate::Column::Email.eq(email))
        .one(db)
        .await?)
}

pub async fn citizenships(db: &impl ConnectionTrait, candidate_id: i64) -> Result<Vec<String>> {
    Ok(citizenship::Entity::find()
        .filter(citizenship::Column::CandidateId.eq(candidate_id))
        .order_by_asc(citizenship::Column::Country)
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.country)
        .collect())
}

pub async fn signups(db: &impl ConnectionTrait, candidate_id: i64) -> Result<Vec<signup::Model>> {
    Ok(signup::Entity::find()
        .filter(signup::Column::CandidateId.eq(candidate_id))
        .all(db)
        .await?)
}

pub async fn find_signup(db: &impl ConnectionTrait, id: i64) -> Result<Option<signup::Model>> {
    Ok(signup::Entity::find_by_id(id).one(db).await?)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(candidate::Entity::find().count(db).await?)
}

/// The result of following a confirmation link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The address is confirmed (and, for a repeat sign-up, its answers applied).
    Confirmed {
        candidate_id: i64,
        applied_changes: bool,
    },
    /// The link was used before.
    AlreadyUsed,
    /// The link is too old.
    Expired,
    /// No such link.
    Unknown,
}

/// Follows a confirmation link: single use, expiring, and bound to its purpose.
pub async fn confirm(
    db: &DatabaseConnection,
    raw_token: &str,
    catalog: &Catalog,
    texts: &CurrentTexts,
) -> Result<Confirmation> {
    let txn = crate::db::begin_write(db).await?;
    let token = match tokens::find(&txn, raw_token).await? {
        Lookup::Valid(token) => token,
        Lookup::Used(_) => return Ok(Confirmation::AlreadyUsed),
        Lookup::Expired(_) => return Ok(Confirmation::Expired),
        Lookup::Unknown => return Ok(Confirmation::Unknown),
    };
    let purpose_ok =
        token.purpose == Purpose::Confirm.as_str() || token.purpose == Purpose::Apply.as_str();
    let Some(candidate_id) = token.candidate_id.filter(|_| purpose_ok) else {
        return Ok(Confirmation::Unknown);
    };
    if !tokens::consume(&txn, token.id).await? {
        return Ok(Confirmation::AlreadyUsed);
    }
    let Some(candidate) = find(&txn, candidate_id).await? else {
        return Ok(Confirmation::Unknown);
    };
    let now = Utc::now();
    let mut applied_changes = false;
    let mut update: candidate::ActiveModel = candidate.clone().into();
    if token.purpose == Purpose::Apply.as_str() {
        let signup = token.subject_id.map(|id| find_signup(&txn, id));
        let signup = match signup {
            Some(fut) => fut.await?,
            None => None,
        };
        if let Some(signup) =
            signup.filter(|s| s.candidate_id == candidate_id && s.applied_at.is_none())
        {
            if let Some(pending) = signup.pending_answers.clone() {
                let pending: PendingAnswers = serde_json::from_value(pending)?;
                // Valid when submitted; re-checked in case the profession list changed.
                if let Ok(valid) = pending.answers.validate_with(|code| catalog.contains(code)) {
                    apply_answers(&mut update, &valid);
                    if pending.cv_key.is_some() {
                        update.cv_key = Set(pending.cv_key);
                    }
                    replace_citizenships(&txn, candidate_id, &valid).await?;
                    grant_consents(&txn, candidate_id, &valid, texts, "form", now).await?;
                    if candidate.consent_share && !valid.consent_share {
                        // No longer to be shared: out of every company portal at once.
                        crate::forwards::withdraw_candidate(&txn, candidate_id).await?;
                    }
                    applied_changes = true;
                }
            }
            let mut applied: signup::ActiveModel = signup.into();
            applied.applied_at = Set(Some(now));
            applied.pending_answers = Set(None);
            applied.update(&txn).await?;
        }
    }
    if candidate.confirmed_at.is_none() {
        update.confirmed_at = Set(Some(now));
    }
    update.last_active_at = Set(now);
    update.updated_at = Set(now);
    update.id = Unchanged(candidate_id);
    update.update(&txn).await?;
    audit::record(
        &txn,
        Actor::Candidate(candidate_id),
        if applied_changes {
            "candidate.changes_confirmed"
        } else {
            "candidate.confirmed"
        },
        "candidate",
        Some(candidate_id),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(Confirmation::Confirmed {
        candidate_id,
        applied_changes,
    })
}

/// Edits a confirmed candidate's own profile (from their self-service page): the same
/// rules as at sign-up; the address and the consents are not part of it. `Ok(Err(_))`
/// names every bad field and changes nothing.
pub async fn update_profile(
    db: &DatabaseConnection,
    catalog: &Catalog,
    candidate_id: i64,
    mut input: SignupInput,
) -> Result<std::result::Result<(), crate::domain::signup::FieldErrors>> {
    let txn = crate::db::begin_write(db).await?;
    let Some(candidate) = find(&txn, candidate_id).await? else {
        return Err(Error::Invalid("no such candidate".into()));
    };
    input.email = candidate.email.clone();
    input.consent_pool = candidate.consent_pool;
    input.consent_share = candidate.consent_share;
    input.consent_newsletter = candidate.consent_newsletter;
    let valid = match input.validate_with(|code| catalog.contains(code)) {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(errors)),
    };
    let now = Utc::now();
    let mut update: candidate::ActiveModel = candidate.into();
    apply_profile(&mut update, &valid);
    update.last_active_at = Set(now);
    update.updated_at = Set(now);
    update.update(&txn).await?;
    replace_citizenships(&txn, candidate_id, &valid).await?;
    audit::record(
        &txn,
        Actor::Candidate(candidate_id),
        "candidate.profile_updated",
        "candidate",
        Some(candidate_id),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(()))
}

/// Grants or withdraws one consent, with its source (`self_service`, `unsubscribe`,
/// `api`, …): a consent row under the current text, and the flag on the candidate.
/// Withdrawing `share` takes the candidate out of every company's portal at once.
/// Returns whether anything changed.
pub async fn set_consent(
    db: &DatabaseConnection,
    candidate_id: i64,
    kind: Kind,
    granted: bool,
    texts: &CurrentTexts,
    source: &str,
) -> Result<bool> {
    let txn = crate::db::begin_write(db).await?;
    let Some(candidate) = find(&txn, candidate_id).await? else {
        return Ok(false);
    };
    let current = match kind {
        Kind::Pool => candidate.consent_pool,
        Kind::Share => candidate.consent_share,
        Kind::Newsletter => candidate.consent_newsletter,
    };
    if current == granted {
        return Ok(false);
    }
    let now = Utc::now();
    if granted {
        consents::grant(&txn, candidate_id, kind, texts.get(kind).id, source, now).await?;
    } else {
        consents::withdraw(&txn, candidate_id, kind, source, now).await?;
    }
    let mut update: candidate::ActiveModel = candidate.into();
    match kind {
        Kind::Pool => update.consent_pool = Set(granted),
        Kind::Share => update.consent_share = Set(granted),
        Kind::Newsletter => update.consent_newsletter = Set(granted),
    }
    update.last_active_at = Set(now);
    update.updated_at = Set(now);
    update.update(&txn).await?;
    if kind == Kind::Share && !granted {
        // No longer to be shared: out of every company portal at once.
        crate::forwards::withdraw_candidate(&txn, candidate_id).await?;
    }
    audit::record(
        &txn,
        Actor::Candidate(candidate_id),
        if granted {
            "consent.granted"
        } else {
            "consent.withdrawn"
        },
        "candidate",
        Some(candidate_id),
        Some(serde_json::json!({ "kind": kind.as_str(), "source": source })),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Replaces (or with `None` removes) a candidate's CV; returns the previous file's key,
/// for the caller to delete once this is committed.
pub async fn set_cv_key(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    cv_key: Option<String>,
) -> Result<Option<String>> {
    let Some(candidate) = find(db, candidate_id).await? else {
        return Err(Error::Invalid("no such candidate".into()));
    };
    let previous = candidate.cv_key.clone();
    let now = Utc::now();
    let mut update: candidate::ActiveModel = candidate.into();
    update.cv_key = Set(cv_key);
    update.last_active_at = Set(now);
    update.updated_at = Set(now);
    update.update(db).await?;
    Ok(previous)
}

fn apply_answers(update: &mut candidate::ActiveModel, valid: &ValidSignup) {
    apply_profile(update, valid);
    update.consent_pool = Set(valid.consent_pool);
    update.consent_share = Set(valid.consent_share);
    update.consent_newsletter = Set(valid.consent_newsletter);
}

fn apply_profile(update: &mut candidate::ActiveModel, valid: &ValidSignup) {
    update.full_name = Set(valid.full_name.clone());
    update.residence_country = Set(valid.residence_country.code().to_owned());
    update.profession_code = Set(valid.profession.clone());
    update.years_experience = Set(valid.years_experience);
    update.english_level = Set(valid.english_level.code().to_owned());
    update.norwegian_level = Set(valid.norwegian_level.code().to_owned());
    update.linkedin_url = Set(valid.linkedin_url.clone());
    update.phone = Set(valid.phone.as_ref().map(|p| p.as_str().to_owned()));
    update.education_level = Set(valid.education_level.map(|e| e.code().to_owned()));
    update.work_permit_norway = Set(valid.work_permit_norway);
    update.has_partner = Set(valid.has_partner);
    update.partner_profession = Set(valid.partner_profession.clone());
    update.eu_status = Set(valid.eu_status().as_str().to_owned());
}

/// Asks for the personal link to a candidate's own page. Answers nothing about whether
/// the address is known; sends at most one such link per interval and address.
pub async fn request_self_service_link(db: &DatabaseConnection, email: &str) -> Result<()> {
    let Ok(email) = crate::domain::CandidateEmail::parse(email) else {
        return Ok(());
    };
    let Some(candidate) = find_by_email(db, email.as_str()).await? else {
        return Ok(());
    };
    use crate::entities::email_log;
    let recent = email_log::Entity::find()
        .filter(email_log::Column::Recipient.eq(candidate.email.as_str()))
        .filter(email_log::Column::Template.eq("self_service_link"))
        .filter(
            email_log::Column::CreatedAt
                .gt(Utc::now() - Duration::minutes(REPEAT_EMAIL_INTERVAL_MINUTES)),
        )
        .count(db)
        .await?;
    if recent == 0 {
        queue::enqueue(
            db,
            CANDIDATE_EMAIL_QUEUE,
            &CandidateEmail::SelfServiceLink {
                candidate_id: candidate.id,
            },
        )
        .await?;
    }
    Ok(())
}

/// Asks for a fresh confirmation link for an unconfirmed address. Answers nothing
/// about whether the address is known; sends at most one link per interval.
pub async fn resend_confirmation(db: &DatabaseConnection, email: &str) -> Result<()> {
    let Ok(email) = crate::domain::CandidateEmail::parse(email) else {
        return Ok(());
    };
    let Some(candidate) = find_by_email(db, email.as_str()).await? else {
        return Ok(());
    };
    if candidate.confirmed_at.is_some() {
        return Ok(());
    }
    let recent = crate::entities::token::Entity::find()
        .filter(crate::entities::token::Column::CandidateId.eq(candidate.id))
        .filter(crate::entities::token::Column::Purpose.eq(Purpose::Confirm.as_str()))
        .filter(
            crate::entities::token::Column::CreatedAt
                .gt(Utc::now() - Duration::minutes(REPEAT_EMAIL_INTERVAL_MINUTES)),
        )
        .filter(crate::entities::token::Column::UsedAt.is_null())
        .filter(crate::entities::token::Column::ExpiresAt.gt(Utc::now()))
        .count(db)
        .await?;
    if recent == 0 {
        queue::enqueue(
            db,
            CANDIDATE_EMAIL_QUEUE,
            &CandidateEmail::ConfirmSignup {
                candidate_id: candidate.id,
            },
        )
        .await?;
    }
    Ok(())
}
