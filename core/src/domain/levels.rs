//! Closed vocabularies of the sign-up form: CEFR language levels and education levels.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LanguageLevel {
    None,
    A1,
    A2,
    B1,
    B2,
    C1,
    C2,
}

impl LanguageLevel {
    pub const ALL: [LanguageLevel; 7] = [
        Self::None,
        Self::A1,
        Self::A2,
        Self::B1,
        Self::B2,
        Self::C1,
        Self::C2,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.code().eq_ignore_ascii_case(raw.trim()))
    }

    /// The stored and submitted code: `none`, `A1` … `C2`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::A1 => "A1",
            Self::A2 => "A2",
            Self::B1 => "B1",
            Self::B2 => "B2",
            Self::C1 => "C1",
            Self::C2 => "C2",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::A1 => "A1 – Beginner",
            Self::A2 => "A2 – Elementary",
            Self::B1 => "B1 – Intermediate",
            Self::B2 => "B2 – Upper intermediate",
            Self::C1 => "C1 – Advanced",
            Self::C2 => "C2 – Proficient",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EducationLevel {
    UpperSecondary,
    Vocational,
    Bachelor,
    Master,
    Doctorate,
}

impl EducationLevel {
    pub const ALL: [EducationLevel; 5] = [
        Self::UpperSecondary,
        Self::Vocational,
        Self::Bachelor,
        Self::Master,
        Self::Doctorate,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.code() == raw.trim())
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::UpperSecondary => "upper_secondary",
            Self::Vocational => "vocational",
            Self::Bachelor => "bachelor",
            Self::Master => "master",
            Self::Doctorate => "doctorate",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::UpperSecondary => "Upper secondary school",
            Self::Vocational => "Vocational training",
            Self::Bachelor => "Bachelor's degree",
            Self::Master => "Master's degree",
            Self::Doctorate => "Doctorate",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_levels_parse_and_order() {
        assert_eq!(LanguageLevel::parse("b2"), Some(LanguageLevel::B2));
        assert_eq!(LanguageLevel::parse("none"), Some(LanguageLevel::None));
        assert_eq!(LanguageLevel::parse("D1"), None);
        assert!(LanguageLevel::C1 > LanguageLevel::B2);
        assert!(LanguageLevel::A1 > LanguageLevel::None);
    }

    #[test]
    fn education_levels_parse() {
        assert_eq!(
            EducationLevel::parse("master"),
            Some(EducationLevel::Master)
        );
        assert_eq!(EducationLevel::parse("phd"), None);
    }
}
