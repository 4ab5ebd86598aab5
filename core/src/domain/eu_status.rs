//! EU/EEA status: a candidate with any EU, EEA or EFTA citizenship may work in Norway at
//! once (`eu_eea`); everyone else needs a work permit (`non_eu`).

use std::{collections::HashSet, sync::LazyLock};

use serde::{Deserialize, Serialize};

use super::Country;

/// ISO codes of the EU, EEA and EFTA members, shipped with the project.
const FREE_MOVEMENT_CSV: &str = include_str!("../../data/free_movement_countries.csv");

static FREE_MOVEMENT: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    FREE_MOVEMENT_CSV
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next())
        .map(str::trim)
        .filter(|code| code.len() == 2)
        .collect()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EuStatus {
    EuEea,
    NonEu,
}

impl EuStatus {
    pub fn from_citizenships<'a>(citizenships: impl IntoIterator<Item = &'a Country>) -> Self {
        if citizenships.into_iter().any(|c| has_free_movement(*c)) {
            Self::EuEea
        } else {
            Self::NonEu
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::EuEea => "eu_eea",
            Self::NonEu => "non_eu",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "eu_eea" => Some(Self::EuEea),
            "non_eu" => Some(Self::NonEu),
            _ => None,
        }
    }
}

pub fn has_free_movement(country: Country) -> bool {
    FREE_MOVEMENT.contains(country.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn countries(codes: &[&str]) -> Vec<Country> {
        codes
            .iter()
            .map(|c| Country::parse(c).expect("known code"))
            .collect()
    }

    #[test]
    fn the_list_has_eu_eea_and_efta() {
        assert_eq!(FREE_MOVEMENT.len(), 31);
    }

    #[test]
    fn any_free_movement_citizenship_counts() {
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["PL"])),
            EuStatus::EuEea
        );
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["CH"])),
            EuStatus::EuEea
        );
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["NO"])),
            EuStatus::EuEea
        );
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["IN"])),
            EuStatus::NonEu
        );
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["GB"])),
            EuStatus::NonEu
        );
        // Dual citizens: one EU citizenship is enough, in either order.
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["BR", "PT"])),
            EuStatus::EuEea
        );
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["IE", "US"])),
            EuStatus::EuEea
        );
        assert_eq!(
            EuStatus::from_citizenships(&countries(&["US", "CA"])),
            EuStatus::NonEu
        );
    }
}
