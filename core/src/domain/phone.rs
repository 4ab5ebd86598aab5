//! A phone number in E.164 form: `+` then 8 to 15 digits, the first not zero.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces, dashes and brackets as typed on a phone and removes them.
    pub fn parse(raw: &str) -> Option<Self> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let digits = compact.strip_prefix('+')?;
        let valid = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        valid.then_some(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_with_separators() {
        assert_eq!(
            Phone::parse("+47 912 34 567").map(|p| p.0),
            Some("+4791234567".into())
        );
        assert_eq!(
            Phone::parse("+91-98765-43210").map(|p| p.0),
            Some("+919876543210".into())
        );
    }

    #[test]
    fn rejects_non_e164() {
        for bad in [
            "91234567",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+47 abc",
        ] {
            assert!(Phone::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
