//! ISO 3166-1 alpha-2 country codes, checked against the `rust_iso3166` crate.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Country(rust_iso3166::CountryCode);

impl Country {
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != 2 {
            return None;
        }
        rust_iso3166::from_alpha2(&code).map(Self)
    }

    pub fn code(&self) -> &'static str {
        self.0.alpha2
    }

    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Every country, sorted by English name, for select boxes.
    pub fn all() -> Vec<Country> {
        let mut all: Vec<Country> = rust_iso3166::ALL.iter().copied().map(Self).collect();
        all.sort_by_key(|c| c.name());
        all
    }
}

impl From<Country> for String {
    fn from(value: Country) -> Self {
        value.code().to_owned()
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_case_insensitively() {
        assert_eq!(Country::parse("no").map(|c| c.code()), Some("NO"));
        assert_eq!(Country::parse(" IN ").map(|c| c.name()), Some("India"));
    }

    #[test]
    fn rejects_unknown_codes() {
        for bad in ["", "XX", "NOR", "1", "ZZ"] {
            assert!(Country::parse(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn lists_all_countries() {
        assert!(Country::all().len() >= 249);
    }
}
