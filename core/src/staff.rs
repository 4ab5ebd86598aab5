//! Secretariat staff accounts. Passwords are stored as argon2id PHC strings.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::Expr,
};

use crate::{Error, Result, domain::CandidateEmail, entities::staff_user};

pub const MIN_PASSWORD_LEN: usize = 12;

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Invalid(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Creates an administrator; the email must be new.
pub async fn create_admin(db: &impl ConnectionTrait, email: &str, password: &str) -> Result<i64> {
    let email = CandidateEmail::parse(email).map_err(|m| Error::Invalid(m.to_owned()))?;
    let password_hash = hash_password(password)?;
    let name = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or("admin")
        .to_owned();
    let result = staff_user::Entity::insert(staff_user::ActiveModel {
        id: NotSet,
        email: Set(email.into_inner()),
        name: Set(name),
        password_hash: Set(password_hash),
        role: Set("admin".into()),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
        disabled_at: Set(None),
    })
    .exec(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            Error::Invalid("an account with this email exists already".into())
        }
        _ => Error::Database(e),
    })?;
    Ok(result.last_insert_id)
}

pub use staff_user::Model as StaffUser;

/// The active account with this email and password. Takes the same time whether or not
/// the account exists.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    email: &str,
    password: &str,
) -> Result<Option<StaffUser>> {
    let email = email.trim();
    let found = match CandidateEmail::parse(email) {
        Ok(email) => {
            staff_user::Entity::find()
                .filter(staff_user::Column::Email.eq(email.as_str()))
                .filter(staff_user::Column::DisabledAt.is_null())
                .one(db)
                .await?
        }
        Err(_) => None,
    };
    let hash = found
        .as_ref()
        .map_or(DUMMY_HASH.as_str(), |user| user.password_hash.as_str());
    let valid = verify_password(password, hash);
    match found {
        Some(user) if valid => {
            staff_user::Entity::update_many()
                .col_expr(staff_user::Column::LastLoginAt, Expr::value(Utc::now()))
                .filter(staff_user::Column::Id.eq(user.id))
                .exec(db)
                .await?;
            Ok(Some(user))
        }
        _ => Ok(None),
    }
}

/// Hashed once, verified against when no account matches, so that a missing account
/// costs as much time as a wrong password.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("no account has this password").unwrap_or_default());

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<StaffUser>> {
    Ok(staff_user::Entity::find_by_id(id)
        .filter(staff_user::Column::DisabledAt.is_null())
        .one(db)
        .await?)
}

/// Changes a password after checking the current one.
pub async fn change_password(
    db: &impl ConnectionTrait,
    id: i64,
    current: &str,
    new: &str,
) -> Result<bool> {
    let Some(user) = find(db, id).await? else {
        return Ok(false);
    };
    if !verify_password(current, &user.password_hash) {
        return Ok(false);
    }
    let hash = hash_password(new)?;
    staff_user::Entity::update_many()
        .col_expr(staff_user::Column::PasswordHash, Expr::value(hash))
        .filter(staff_user::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(true)
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(staff_user::Entity::find().count(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_short_passwords_are_refused() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(hash_password("short").is_err());
    }
}
