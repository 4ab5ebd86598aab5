//! A candidate's email address, normalised: trimmed, domain lower-cased.

use std::fmt;

use serde::Serialize;
use validator::ValidateEmail;

pub const MAX_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CandidateEmail(String);

impl CandidateEmail {
    /// Parses and normalises an address. The local part keeps its case (RFC 5321 lets
    /// servers treat it case-sensitively); the domain is lower-cased.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("Enter your email address.");
        }
        if trimmed.len() > MAX_LEN {
            return Err("The email address is too long.");
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err("Enter an email address like name@example.com.");
        };
        let normalised = format!("{local}@{}", domain.to_lowercase());
        if !normalised.validate_email() || !domain.contains('.') {
            return Err("Enter an email address like name@example.com.");
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for CandidateEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masks an address for logs: `j***@example.com`.
pub fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('*');
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_domain_and_trims() {
        let email = CandidateEmail::parse("  Ada.Lovelace@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "Ada.Lovelace@example.com");
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
        ] {
            assert!(CandidateEmail::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(CandidateEmail::parse(&long).is_err());
    }

    #[test]
    fn masks_for_logs() {
        assert_eq!(mask("ada@example.com"), "a***@example.com");
    }
}
