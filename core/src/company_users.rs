//! Company users (recruiters): invitation by the secretariat, a single-use expiring link
//! to set a password, sign-in, and acceptance of the terms of use. All SQL on
//! company users lives here.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use crate::{
    Result,
    audit::{self, Actor},
    companies::{self, Company, FieldMessages},
    domain::CandidateEmail,
    entities::{company, company_user},
    queue::{self, COMPANY_EMAIL_QUEUE, CompanyEmail},
    staff::{hash_password, verify_password},
    tokens::{self, Lookup, Purpose},
};

pub use company_user::Model as CompanyUser;

/// How long an invitation link works.
pub const INVITE_HOURS: i64 = 72;

/// The version of the terms of use a recruiter accepts at first sign-in.
pub const TERMS_VERSION: &str = "2026-11";

/// Invites a recruiter: creates the account without a password and, in the same
/// transaction, the job that emails the link. Inviting a pending address of the same
/// company again sends a new link.
pub async fn invite(
    db: &DatabaseConnection,
    company_id: i64,
    email: &str,
    name: &str,
    actor: Actor,
) -> Result<Option<Result<CompanyUser, FieldMessages>>> {
    let mut errors = FieldMessages::new();
    let email = match CandidateEmail::parse(email) {
        Ok(email) => Some(email.into_inner()),
        Err(_) => {
            errors.push(("email".into(), "Give a valid email address.".into()));
            None
        }
    };
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push((
            "name".into(),
            "Give the person's name (1 to 200 characters).".into(),
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let Some(company) = companies::find(&txn, company_id).await? else {
        return Ok(None);
    };
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Ok(Some(Err(errors)));
    };
    if company.archived_at.is_some() {
        return Ok(Some(Err(vec![(
            "company".into(),
            "The company is archived; restore it first.".into(),
        )])));
    }
    let existing = company_user::Entity::find()
        .filter(company_user::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    let user_id = match existing {
        Some(user) if user.company_id == company_id && user.password_hash.is_none() => {
            company_user::Entity::update_many()
                .col_expr(company_user::Column::Name, Expr::value(name.clone()))
                .filter(company_user::Column::Id.eq(user.id))
                .exec(&txn)
                .await?;
            user.id
        }
        Some(_) => {
            return Ok(Some(Err(vec![(
                "email".into(),
                "This address has an account already.".into(),
            )])));
        }
        None => {
            company_user::Entity::insert(company_user::ActiveModel {
                id: NotSet,
                company_id: Set(company_id),
                email: Set(email),
                name: Set(name),
                password_hash: Set(None),
                terms_accepted_at: Set(None),
                terms_version: Set(None),
                created_at: Set(Utc::now()),
                last_login_at: Set(None),
                disabled_at: Set(None),
            })
            .exec(&txn)
            .await?
            .last_insert_id
        }
    };
    queue::enqueue(
        &txn,
        COMPANY_EMAIL_QUEUE,
        &CompanyEmail::Invite {
            company_user_id: user_id,
        },
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "company_user.invited",
        "company",
        Some(company_id),
        Some(serde_json::json!({ "company_user_id": user_id })),
    )
    .await?;
    let user = company_user::Entity::find_by_id(user_id).one(&txn).await?;
    txn.commit().await?;
    Ok(user.map(Ok))
}

/// Makes the raw invitation token for the email (called by the job, so the raw token
/// never rests in the job table).
pub async fn issue_invite_token(db: &impl ConnectionTrait, user_id: i64) -> Result<String> {
    tokens::issue_for_subject(
        db,
        Purpose::CompanyInvite,
        user_id,
        Duration::hours(INVITE_HOURS),
    )
    .await
}

/// What an invitation link turned out to be.
#[derive(Debug)]
pub enum Invite {
    Valid(CompanyUser),
    Expired,
    Used,
    Unknown,
}

async fn lookup(db: &impl ConnectionTrait, raw: &str) -> Result<(Invite, Option<i64>)> {
    let token = match tokens::find(db, raw).await? {
        Lookup::Valid(t) => t,
        Lookup::Expired(t) if t.purpose == Purpose::CompanyInvite.as_str() => {
            return Ok((Invite::Expired, None));
        }
        Lookup::Used(t) if t.purpose == Purpose::CompanyInvite.as_str() => {
            return Ok((Invite::Used, None));
        }
        _ => return Ok((Invite::Unknown, None)),
    };
    if token.purpose != Purpose::CompanyInvite.as_str() {
        return Ok((Invite::Unknown, None));
    }
    let Some(user_id) = token.subject_id else {
        return Ok((Invite::Unknown, None));
    };
    Ok(match find_active(db, user_id).await? {
        Some((user, _)) => (Invite::Valid(user), Some(token.id)),
        None => (Invite::Unknown, None),
    })
}

/// Looks at an invitation link without using it.
pub async fn find_invite(db: &impl ConnectionTrait, raw: &str) -> Result<Invite> {
    Ok(lookup(db, raw).await?.0)
}

/// Uses an invitation link to set the password. The link then works no more.
pub async fn accept_invite(db: &DatabaseConnection, raw: &str, password: &str) -> Result<Invite> {
    let hash = hash_password(password)?;
    let txn = crate::db::begin_write(db).await?;
    let (invite, token_id) = lookup(&txn, raw).await?;
    let (user, token_id) = match (invite, token_id) {
        (Invite::Valid(user), Some(token_id)) => (user, token_id),
        (Invite::Valid(_), None) => return Ok(Invite::Unknown),
        (other, _) => return Ok(other),
    };
    if !tokens::consume(&txn, token_id).await? {
        return Ok(Invite::Used);
    }
    company_user::Entity::update_many()
        .col_expr(company_user::Column::PasswordHash, Expr::value(hash))
        .filter(company_user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        Actor::CompanyUser(user.id),
        "company_user.password_set",
        "company",
        Some(user.company_id),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(Invite::Valid(user))
}

/// Hashed once, verified against when no account matches, so that a missing account
/// costs as much time as a wrong password.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("no account has this password").unwrap_or_default());

/// The active user (of an active company) with this email and password.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
) -> Result<Option<(CompanyUser, Company)>> {
    let found = match CandidateEmail::parse(email.trim()) {
        Ok(email) => {
            let user = company_user::Entity::find()
                .filter(company_user::Column::Email.eq(email.as_str()))
                .one(db)
                .await?;
            match user {
                Some(user) => find_active(db, user.id).await?,
                None => None,
            }
        }
        Err(_) => None,
    };
    let hash = found
        .as_ref()
        .and_then(|(user, _)| user.password_hash.as_deref())
        .unwrap_or(DUMMY_HASH.as_str());
    let valid = verify_password(password, hash);
    match found {
        Some((user, company)) if valid && user.password_hash.is_some() => {
            company_user::Entity::update_many()
                .col_expr(company_user::Column::LastLoginAt, Expr::value(Utc::now()))
                .filter(company_user::Column::Id.eq(user.id))
                .exec(db)
                .await?;
            Ok(Some((user, company)))
        }
        _ => Ok(None),
    }
}

/// A user that is not disabled, of a company that is not archived.
pub async fn find_active(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<(CompanyUser, Company)>> {
    let Some(user) = company_user::Entity::find_by_id(id)
        .filter(company_user::Column::DisabledAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let company = company::Entity::find_by_id(user.company_id)
        .filter(company::Column::ArchivedAt.is_null())
        .one(db)
        .await?;
    Ok(company.map(|c| (user, c)))
}

/// Records that the user accepted the current terms of use.
pub async fn accept_terms(db: &DatabaseConnection, user: &CompanyUser) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    company_user::Entity::update_many()
        .col_expr(
            company_user::Column::TermsAcceptedAt,
            Expr::value(Utc::now()),
        )
        .col_expr(
            company_user::Column::TermsVersion,
            Expr::value(TERMS_VERSION),
        )
        .filter(company_user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        Actor::CompanyUser(user.id),
        "company_user.terms_accepted",
        "company",
        Some(user.company_id),
        Some(serde_json::json!({ "version": TERMS_VERSION })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub fn has_accepted_terms(user: &CompanyUser) -> bool {
    user.terms_accepted_at.is_some() && user.terms_version.as_deref() == Some(TERMS_VERSION)
}

/// A company's users, by name.
pub async fn for_company(db: &impl ConnectionTrait, company_id: i64) -> Result<Vec<CompanyUser>> {
    Ok(company_user::Entity::find()
        .filter(company_user::Column::CompanyId.eq(company_id))
        .order_by_asc(company_user::Column::Name)
        .all(db)
        .await?)
}

/// The users of a company who receive its emails (not disabled).
pub async fn recipients(db: &impl ConnectionTrait, company_id: i64) -> Result<Vec<CompanyUser>> {
    Ok(company_user::Entity::find()
        .filter(company_user::Column::CompanyId.eq(company_id))
        .filter(company_user::Column::DisabledAt.is_null())
        .order_by_asc(company_user::Column::Id)
        .all(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<CompanyUser>> {
    Ok(company_user::Entity::find_by_id(id).one(db).await?)
}
