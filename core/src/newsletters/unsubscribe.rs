//! Unsubscribe links: the token names the newsletter and the candidate and carries an
//! HMAC-SHA256 over both with a key derived from `SECRET_KEY`, so it needs no storage,
//! cannot be forged or altered, and works for as long as the key is kept.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in the link (128 bits).
const TAG_BYTES: usize = 16;
const DOMAIN: &[u8] = b"talentpool/unsubscribe/v1:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsubscribeToken {
    pub newsletter_id: i64,
    pub candidate_id: i64,
}

fn mac(key: &SecretString, payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(DOMAIN);
    mac.update(payload);
    mac
}

impl UnsubscribeToken {
    pub fn sign(&self, key: &SecretString) -> String {
        let mut bytes = Vec::with_capacity(16 + TAG_BYTES);
        bytes.extend_from_slice(&self.newsletter_id.to_be_bytes());
        bytes.extend_from_slice(&self.candidate_id.to_be_bytes());
        let tag = mac(key, &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The token's ids if its MAC is right (checked in constant time).
    pub fn verify(raw: &str, key: &SecretString) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        if bytes.len() != 16 + TAG_BYTES {
            return None;
        }
        let (payload, tag) = bytes.split_at(16);
        mac(key, payload).verify_truncated_left(tag).ok()?;
        let newsletter_id = i64::from_be_bytes(payload[..8].try_into().ok()?);
        let candidate_id = i64::from_be_bytes(payload[8..].try_into().ok()?);
        Some(Self {
            newsletter_id,
            candidate_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let key = SecretString::from("k".repeat(40));
        let token = UnsubscribeToken {
            newsletter_id: 7,
            candidate_id: 123_456,
        };
        let raw = token.sign(&key);
        assert_eq!(UnsubscribeToken::verify(&raw, &key), Some(token));
        let other = SecretString::from("x".repeat(40));
        assert_eq!(UnsubscribeToken::verify(&raw, &other), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&raw).expect("base64");
        bytes[15] ^= 1;
        assert_eq!(
            UnsubscribeToken::verify(&URL_SAFE_NO_PAD.encode(bytes), &key),
            None
        );
        assert_eq!(UnsubscribeToken::verify("short", &key), None);
    }
}
