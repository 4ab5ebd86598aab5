//! A Norwegian organisation number (organisasjonsnummer): nine digits whose last digit
//! is a modulus-11 check digit over the first eight, with the weights 3 2 7 6 5 4 3 2.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgNumber(String);

const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

impl OrgNumber {
    /// Accepts the digits with optional spaces (`923 609 016`), as printed on letters.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("An organisation number has 9 digits.");
        }
        let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = values.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err("This is not a valid organisation number (check digit)."),
            c => c,
        };
        if values[8] != check {
            return Err("This is not a valid organisation number (check digit).");
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for OrgNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends the right check digit to eight digits (None when no digit fits).
    fn with_check(eight: &str) -> Option<String> {
        (0..10)
            .map(|d| format!("{eight}{d}"))
            .find(|n| OrgNumber::parse(n).is_ok())
    }

    #[test]
    fn real_numbers_are_accepted() {
        for n in ["923609016", "974760673", "984851006", "971524960"] {
            assert_eq!(OrgNumber::parse(n).map(|o| o.into_inner()), Ok(n.into()));
        }
        assert_eq!(
            OrgNumber::parse(" 923 609 016 ").map(|o| o.into_inner()),
            Ok("923609016".into())
        );
    }

    #[test]
    fn wrong_check_digits_lengths_and_characters_are_refused() {
        assert!(OrgNumber::parse("923609017").is_err());
        assert!(OrgNumber::parse("92360901").is_err());
        assert!(OrgNumber::parse("9236090160").is_err());
        assert!(OrgNumber::parse("92360901a").is_err());
        assert!(OrgNumber::parse("").is_err());
    }

    #[test]
    fn exactly_one_check_digit_fits_unless_the_remainder_is_one() {
        for eight in ["12345678", "00000000", "98765432", "11111111", "55555555"] {
            let fits: Vec<u32> = (0..10)
                .filter(|d| OrgNumber::parse(&format!("{eight}{d}")).is_ok())
                .collect();
            let sum: u32 = eight
                .bytes()
                .zip(WEIGHTS)
                .map(|(b, w)| u32::from(b - b'0') * w)
                .sum();
            if sum % 11 == 1 {
                assert!(fits.is_empty(), "{eight}");
                assert_eq!(with_check(eight), None);
            } else {
                assert_eq!(fits.len(), 1, "{eight}");
                assert_eq!(fits[0], (11 - sum % 11) % 11, "{eight}");
            }
        }
    }
}
