//! Secretariat API tokens: shown once when created, stored only as a SHA-256 hash,
//! revocable.

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use crate::{Error, Result, entities::api_token, tokens};

pub use api_token::Model as ApiToken;

const PREFIX: &str = "tp_";

/// Creates a token; returns its id and the raw value (the only time it exists).
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    created_by: Option<i64>,
) -> Result<(i64, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::Invalid(
            "a token needs a name of 1 to 100 characters".into(),
        ));
    }
    let raw = format!("{PREFIX}{}", tokens::generate());
    let id = api_token::Entity::insert(api_token::ActiveModel {
        id: NotSet,
        name: Set(name.to_owned()),
        token_hash: Set(tokens::hash(&raw)),
        created_by: Set(created_by),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec(db)
    .await?
    .last_insert_id;
    Ok((id, raw))
}

/// The active token with this raw value, if any; records its use.
pub async fn authenticate(db: &impl ConnectionTrait, raw: &str) -> Result<Option<ApiToken>> {
    if !raw.starts_with(PREFIX) || raw.len() > 100 {
        return Ok(None);
    }
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(tokens::hash(raw)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    if let Some(token) = &found {
        let stale = token
            .last_used_at
            .is_none_or(|t| Utc::now() - t > chrono::Duration::minutes(1));
        if stale {
            api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Expr::value(Utc::now()))
                .filter(api_token::Column::Id.eq(token.id))
                .exec(db)
                .await?;
        }
    }
    Ok(found)
}

pub async fn revoke(db: &impl ConnectionTrait, id: i64) -> Result<bool> {
    let result = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ApiToken>> {
    Ok(api_token::Entity::find()
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?)
}
