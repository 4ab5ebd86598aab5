//! Single-use tokens carried by email links. Only a SHA-256 hash is stored; the raw token
//! exists in the email alone.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::{Result, entities::token};

/// What a token may be used for: a token of one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms a new sign-up (double opt-in).
    Confirm,
    /// Applies the pending answers of a repeat sign-up (and confirms the address).
    Apply,
    /// Opens the candidate's own page `/me/{token}`: reusable until it expires.
    SelfService,
    /// Answers retention's "still interested?" email: keep my data.
    Keep,
    /// Lets an invited company user set a password (subject: the company user).
    CompanyInvite,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Apply => "apply",
            Self::SelfService => "self_service",
            Self::Keep => "keep",
            Self::CompanyInvite => "company_invite",
        }
    }
}

pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Creates a token and returns the raw value to put in the link.
pub async fn issue(
    db: &impl ConnectionTrait,
    purpose: Purpose,
    candidate_id: i64,
    subject_id: Option<i64>,
    valid_for: Duration,
) -> Result<String> {
    let raw = generate();
    let now = Utc::now();
    token::Entity::insert(token::ActiveModel {
        id: NotSet,
        token_hash: Set(hash(&raw)),
        purpose: Set(purpose.as_str().to_owned()),
        candidate_id: Set(Some(candidate_id)),
        subject_id: Set(subject_id),
        expires_at: Set(now + valid_for),
        used_at: Set(None),
        created_at: Set(now),
    })
    .exec(db)
    .await?;
    Ok(raw)
}

/// Creates a token about something other than a candidate (`subject_id`) and returns
/// the raw value to put in the link.
pub async fn issue_for_subject(
    db: &impl ConnectionTrait,
    purpose: Purpose,
    subject_id: i64,
    valid_for: Duration,
) -> Result<String> {
    let raw = generate();
    let now = Utc::now();
    token::Entity::insert(token::ActiveModel {
        id: NotSet,
        token_hash: Set(hash(&raw)),
        purpose: Set(purpose.as_str().to_owned()),
        candidate_id: Set(None),
        subject_id: Set(Some(subject_id)),
        expires_at: Set(now + valid_for),
        used_at: Set(None),
        created_at: Set(now),
    })
    .exec(db)
    .await?;
    Ok(raw)
}

/// What a presented token turned out to be.
#[derive(Debug)]
pub enum Lookup {
    Valid(token::Model),
    Expired(token::Model),
    Used(token::Model),
    Unknown,
}

pub async fn find(db: &impl ConnectionTrait, raw: &str) -> Result<Lookup> {
    // A raw token is 43 URL-safe characters; anything else cannot match.
    if raw.len() > 64
        || !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(Lookup::Unknown);
    }
    let found = token::Entity::find()
        .filter(token::Column::TokenHash.eq(hash(raw)))
        .one(db)
        .await?;
    Ok(match found {
        None => Lookup::Unknown,
        Some(t) if t.used_at.is_some() => Lookup::Used(t),
        Some(t) if t.expires_at <= Utc::now() => Lookup::Expired(t),
        Some(t) => Lookup::Valid(t),
    })
}

/// The candidate a self-service link belongs to, if the link is one and still valid.
/// Self-service links are not used up: every email carries one, and it opens the
/// candidate's page until it expires (or the candidate is erased). A link is either a
/// random token stored as a hash (made by the email jobs) or a signed one ([`sign_self_service`],
/// for bulk mail such as newsletters, where a row per message would cost too much).
pub async fn self_service_candidate(
    db: &impl ConnectionTrait,
    key: &SecretString,
    raw: &str,
) -> Result<SelfService> {
    if let Some((candidate_id, expires_at)) = verify_self_service(raw, key) {
        return Ok(if expires_at <= Utc::now() {
            SelfService::Expired
        } else {
            SelfService::Valid(candidate_id)
        });
    }
    Ok(match find(db, raw).await? {
        Lookup::Valid(t) if t.purpose == Purpose::SelfService.as_str() => match t.candidate_id {
            Some(id) => SelfService::Valid(id),
            None => SelfService::Unknown,
        },
        Lookup::Expired(t) if t.purpose == Purpose::SelfService.as_str() => SelfService::Expired,
        _ => SelfService::Unknown,
    })
}

type HmacSha256 = Hmac<Sha256>;
/// Bytes of the MAC kept in a signed link (128 bits).
const TAG_BYTES: usize = 16;
const SELF_SERVICE_DOMAIN: &[u8] = b"talentpool/self-service/v1:";

fn self_service_mac(key: &SecretString, payload: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(SELF_SERVICE_DOMAIN);
    mac.update(payload);
    mac
}

/// A signed self-service link for `candidate_id`, valid until `expires_at`: needs no
/// database row, cannot be altered, and is bound to its purpose by the MAC's domain.
pub fn sign_self_service(
    candidate_id: i64,
    expires_at: DateTime<Utc>,
    key: &SecretString,
) -> String {
    let mut bytes = Vec::with_capacity(16 + TAG_BYTES);
    bytes.extend_from_slice(&candidate_id.to_be_bytes());
    bytes.extend_from_slice(&expires_at.timestamp().to_be_bytes());
    let tag = self_service_mac(key, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..TAG_BYTES]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The candidate and expiry of a signed self-service link whose MAC is right.
fn verify_self_service(raw: &str, key: &SecretString) -> Option<(i64, DateTime<Utc>)> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    if bytes.len() != 16 + TAG_BYTES {
        return None;
    }
    let (payload, tag) = bytes.split_at(16);
    self_service_mac(key, payload)
        .verify_truncated_left(tag)
        .ok()?;
    let candidate_id = i64::from_be_bytes(payload[..8].try_into().ok()?);
    let expires = i64::from_be_bytes(payload[8..].try_into().ok()?);
    Some((candidate_id, DateTime::from_timestamp(expires, 0)?))
}

/// What a presented self-service link turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfService {
    Valid(i64),
    Expired,
    Unknown,
}

/// Marks a token used; `false` when another request used it first.
pub async fn consume(db: &impl ConnectionTrait, id: i64) -> Result<bool> {
    let result = token::Entity::update_many()
        .col_expr(token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(token::Column::Id.eq(id))
        .filter(token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn signed_self_service_links_resist_tampering() {
        let key = SecretString::from("k".repeat(40));
        let expires = DateTime::from_timestamp(2_000_000_000, 0).expect("time");
        let raw = sign_self_service(42, expires, &key);
        assert_eq!(raw.len(), 43, "as long as a random token");
        assert_eq!(verify_self_service(&raw, &key), Some((42, expires)));
        assert_eq!(
            verify_self_service(&raw, &SecretString::from("x".repeat(40))),
            None
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&raw).expect("base64");
        bytes[7] ^= 1; // another candidate
        assert_eq!(
            verify_self_service(&URL_SAFE_NO_PAD.encode(&bytes), &key),
            None
        );
        assert_eq!(
            verify_self_service(&generate(), &key),
            None,
            "random tokens are not signed"
        );
    }
}
