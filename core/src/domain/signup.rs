//! The public sign-up: the raw answers as submitted (form or JSON, same field names),
//! and their validation into a [`ValidSignup`] or one clear message per bad field.

use serde::{Deserialize, Serialize};
use validator::Validate;

use super::{
    CandidateEmail, Country, EducationLevel, EuStatus, LanguageLevel, Phone,
    email::MAX_LEN as EMAIL_MAX_LEN,
};

/// The public field names, in form order. Partners embed the form: keep them stable.
pub const FIELDS: [&str; 18] = [
    "full_name",
    "email",
    "citizenship",
    "residence_country",
    "profession",
    "years_experience",
    "english_level",
    "norwegian_level",
    "education_level",
    "linkedin_url",
    "phone",
    "work_permit_norway",
    "has_partner",
    "partner_profession",
    "cv",
    "consent_pool",
    "consent_share",
    "consent_newsletter",
];

pub const MAX_CITIZENSHIPS: usize = 3;
pub const MAX_YEARS_EXPERIENCE: i64 = 60;

/// A sign-up as submitted. Consents default to `false` (an unticked box is not sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, utoipa::ToSchema)]
pub struct SignupInput {
    #[validate(length(max = 200, message = "Use at most 200 characters."))]
    #[schema(required = true)]
    #[serde(default)]
    pub full_name: String,
    #[schema(required = true)]
    #[serde(default)]
    pub email: String,
    /// ISO 3166-1 alpha-2 codes, one or more.
    #[schema(required = true)]
    #[serde(default)]
    pub citizenship: Vec<String>,
    /// ISO 3166-1 alpha-2 code.
    #[schema(required = true)]
    #[serde(default)]
    pub residence_country: String,
    /// ISCO-08 unit group code (4 digits).
    #[schema(required = true)]
    #[serde(default)]
    pub profession: String,
    #[schema(required = true)]
    #[serde(default)]
    pub years_experience: Option<i64>,
    /// CEFR level `A1`–`C2`, or `none`.
    #[schema(required = true)]
    #[serde(default)]
    pub english_level: String,
    /// CEFR level `A1`–`C2`, or `none`.
    #[schema(required = true)]
    #[serde(default)]
    pub norwegian_level: String,
    #[validate(length(max = 300, message = "Use at most 300 characters."))]
    #[serde(default)]
    pub linkedin_url: Option<String>,
    /// E.164, e.g. `+4791234567`.
    #[serde(default)]
    pub phone: Option<String>,
    /// `upper_secondary`, `vocational`, `bachelor`, `master` or `doctorate`.
    #[serde(default)]
    pub education_level: Option<String>,
    #[serde(default)]
    pub work_permit_norway: bool,
    #[serde(default)]
    pub has_partner: bool,
    #[validate(length(max = 200, message = "Use at most 200 characters."))]
    #[serde(default)]
    pub partner_profession: Option<String>,
    #[schema(required = true)]
    #[serde(default)]
    pub consent_pool: bool,
    #[serde(default)]
    pub consent_share: bool,
    #[serde(default)]
    pub consent_newsletter: bool,
}

/// One message per bad field, in form order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field.to_owned(), message.into()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, message)| message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// The same errors in form order.
    pub fn sorted(mut self) -> Self {
        self.sort();
        self
    }

    fn sort(&mut self) {
        let rank = |field: &str| {
            FIELDS
                .iter()
                .position(|f| *f == field)
                .unwrap_or(FIELDS.len())
        };
        self.0.sort_by_key(|(field, _)| rank(field));
    }
}

/// A sign-up whose every answer is valid and normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSignup {
    pub email: CandidateEmail,
    pub full_name: String,
    pub citizenships: Vec<Country>,
    pub residence_country: Country,
    pub profession: String,
    pub years_experience: i16,
    pub english_level: LanguageLevel,
    pub norwegian_level: LanguageLevel,
    pub linkedin_url: Option<String>,
    pub phone: Option<Phone>,
    pub education_level: Option<EducationLevel>,
    pub work_permit_norway: bool,
    pub has_partner: bool,
    pub partner_profession: Option<String>,
    pub consent_pool: bool,
    pub consent_share: bool,
    pub consent_newsletter: bool,
}

impl ValidSignup {
    pub fn eu_status(&self) -> EuStatus {
        EuStatus::from_citizenships(&self.citizenships)
    }

    /// The answers in their public form, normalised (what a repeat sign-up keeps pending).
    pub fn to_input(&self) -> SignupInput {
        SignupInput {
            full_name: self.full_name.clone(),
            email: self.email.to_string(),
            citizenship: self
                .citizenships
                .iter()
                .map(|c| c.code().to_owned())
                .collect(),
            residence_country: self.residence_country.code().to_owned(),
            profession: self.profession.clone(),
            years_experience: Some(i64::from(self.years_experience)),
            english_level: self.english_level.code().to_owned(),
            norwegian_level: self.norwegian_level.code().to_owned(),
            linkedin_url: self.linkedin_url.clone(),
            phone: self.phone.as_ref().map(|p| p.as_str().to_owned()),
            education_level: self.education_level.map(|e| e.code().to_owned()),
            work_permit_norway: self.work_permit_norway,
            has_partner: self.has_partner,
            partner_profession: self.partner_profession.clone(),
            consent_pool: self.consent_pool,
            consent_share: self.consent_share,
            consent_newsletter: self.consent_newsletter,
        }
    }
}

/// `Some(trimmed)` for a non-blank value.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn has_control_chars(value: &str) -> bool {
    value.chars().any(char::is_control)
}

impl SignupInput {
    /// Validates every field; `is_profession` says whether a code is a selectable
    /// profession. Returns all errors at once, in form order.
    pub fn validate_with(
        &self,
        is_profession: impl Fn(&str) -> bool,
    ) -> Result<ValidSignup, FieldErrors> {
        let mut errors = FieldErrors::default();
        if let Err(e) = self.validate() {
            for (field, list) in e.field_errors() {
                if let Some(message) = list.first().and_then(|err| err.message.as_ref()) {
                    errors.add(&field, message.to_string());
                }
            }
        }

        let full_name = self.full_name.trim().to_owned();
        if full_name.is_empty() {
            errors.add("full_name", "Enter your full name.");
        } else if has_control_chars(&full_name) {
            errors.add("full_name", "Use letters, spaces and punctuation only.");
        }

        let email = CandidateEmail::parse(&self.email)
            .map_err(|message| {
                let message = if self.email.trim().len() > EMAIL_MAX_LEN {
                    "The email address is too long."
                } else {
                    message
                };
                errors.add("email", message)
            })
            .ok();

        let mut citizenships = Vec::new();
        let codes: Vec<&str> = self
            .citizenship
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect();
        if codes.is_empty() {
            errors.add("citizenship", "Choose at least one citizenship.");
        } else if codes.len() > MAX_CITIZENSHIPS {
            errors.add("citizenship", "Choose at most three citizenships.");
        } else {
            for code in codes {
                match Country::parse(code) {
                    Some(country) if !citizenships.contains(&country) => citizenships.push(country),
                    Some(_) => {}
                    None => errors.add("citizenship", "Choose a country from the list."),
                }
            }
        }

        let residence_country = if self.residence_country.trim().is_empty() {
            errors.add("residence_country", "Choose the country you live in.");
            None
        } else {
            Country::parse(&self.residence_country).or_else(|| {
                errors.add("residence_country", "Choose a country from the list.");
                None
            })
        };

        let profession = self.profession.trim().to_owned();
        if profession.is_empty() {
            errors.add("profession", "Choose your profession.");
        } else if !is_profession(&profession) {
            errors.add("profession", "Choose a profession from the list.");
        }

        let years_experience = match self.years_experience {
            None => {
                errors.add(
                    "years_experience",
                    "Enter your years of experience (0 or more).",
                );
                0
            }
            Some(years) if !(0..=MAX_YEARS_EXPERIENCE).contains(&years) => {
                errors.add("years_experience", "Enter a number of years from 0 to 60.");
                0
            }
            Some(years) => years as i16,
        };

        let mut language = |field: &str, raw: &str, name: &str| {
            if raw.trim().is_empty() {
                errors.add(field, format!("Choose your {name} level, or None."));
                return None;
            }
            LanguageLevel::parse(raw).or_else(|| {
                errors.add(field, "Choose a level from A1 to C2, or None.");
                None
            })
        };
        let english_level = language("english_level", &self.english_level, "English");
        let norwegian_level = language("norwegian_level", &self.norwegian_level, "Norwegian");

        let linkedin_url = present(&self.linkedin_url).map(str::to_owned);
        if let Some(url) = &linkedin_url {
            let is_linkedin = is_linkedin_profile(url);
            if !is_linkedin && errors.get("linkedin_url").is_none() {
                errors.add(
                    "linkedin_url",
                    "Enter the address of your LinkedIn profile, like https://www.linkedin.com/in/your-name.",
                );
            }
        }

        let phone = present(&self.phone).and_then(|raw| {
            Phone::parse(raw).or_else(|| {
                errors.add(
                    "phone",
                    "Enter the number with country code, like +47 912 34 567.",
                );
                None
            })
        });

        let education_level = present(&self.education_level).and_then(|raw| {
            EducationLevel::parse(raw).or_else(|| {
                errors.add(
                    "education_level",
                    "Choose an education level from the list.",
                );
                None
            })
        });

        let partner_profession = present(&self.partner_profession).map(str::to_owned);
        if partner_profession.as_deref().is_some_and(has_control_chars) {
            errors.add(
                "partner_profession",
                "Use letters, spaces and punctuation only.",
            );
        }

        if !self.consent_pool {
            errors.add(
                "consent_pool",
                "To join the talent pool, agree that we store your profile.",
            );
        }

        match (email, residence_country, english_level, norwegian_level) {
            (Some(email), Some(residence_country), Some(english_level), Some(norwegian_level))
                if errors.is_empty() =>
            {
                Ok(ValidSignup {
                    email,
                    full_name,
                    citizenships,
                    residence_country,
                    profession,
                    years_experience,
                    english_level,
                    norwegian_level,
                    linkedin_url,
                    phone,
                    education_level,
                    work_permit_norway: self.work_permit_norway,
                    has_partner: self.has_partner,
                    partner_profession: if self.has_partner {
                        partner_profession
                    } else {
                        None
                    },
                    consent_pool: self.consent_pool,
                    consent_share: self.consent_share,
                    consent_newsletter: self.consent_newsletter,
                })
            }
            _ => {
                errors.sort();
                Err(errors)
            }
        }
    }
}

/// An `https` address on LinkedIn, judged by the host of the parsed URL (as a browser
/// reads it: `https://evil.example\\@www.linkedin.com/` goes to evil.example), with no
/// user name or password in it.
fn is_linkedin_profile(raw: &str) -> bool {
    let Ok(url) = url::Url::parse(raw) else {
        return false;
    };
    url.scheme() == "https"
        && url.username().is_empty()
        && url.password().is_none()
        && url.port().is_none()
        && url
            .host_str()
            .is_some_and(|host| host == "linkedin.com" || host.ends_with(".linkedin.com"))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn valid_input() -> SignupInput {
        SignupInput {
            full_name: "Ada Lovelace".into(),
            email: "Ada@Example.com".into(),
            citizenship: vec!["GB".into(), "IE".into()],
            residence_country: "GB".into(),
            profession: "2512".into(),
            years_experience: Some(7),
            english_level: "C2".into(),
            norwegian_level: "none".into(),
            consent_pool: true,
            ..SignupInput::default()
        }
    }

    fn is_profession(code: &str) -> bool {
        code == "2512"
    }

    #[test]
    fn valid_input_passes_and_normalises() {
        let valid = valid_input().validate_with(is_profession).expect("valid");
        assert_eq!(valid.email.as_str(), "Ada@example.com");
        assert_eq!(valid.eu_status(), EuStatus::EuEea);
        assert_eq!(valid.to_input().validate_with(is_profession), Ok(valid));
    }

    #[test]
    fn each_bad_field_gets_its_message() {
        type Mutation = Box<dyn Fn(&mut SignupInput)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("full_name", Box::new(|i| i.full_name = " ".into())),
            ("full_name", Box::new(|i| i.full_name = "x".repeat(201))),
            ("email", Box::new(|i| i.email = "not-an-email".into())),
            ("citizenship", Box::new(|i| i.citizenship = vec![])),
            (
                "citizenship",
                Box::new(|i| i.citizenship = vec!["XX".into()]),
            ),
            (
                "residence_country",
                Box::new(|i| i.residence_country = "QQ".into()),
            ),
            ("profession", Box::new(|i| i.profession = "9999".into())),
            (
                "years_experience",
                Box::new(|i| i.years_experience = Some(-1)),
            ),
            ("years_experience", Box::new(|i| i.years_experience = None)),
            (
                "english_level",
                Box::new(|i| i.english_level = "fluent".into()),
            ),
            (
                "norwegian_level",
                Box::new(|i| i.norwegian_level = String::new()),
            ),
            (
                "linkedin_url",
                Box::new(|i| i.linkedin_url = Some("https://evil.example/in/x".into())),
            ),
            ("phone", Box::new(|i| i.phone = Some("12345".into()))),
            (
                "education_level",
                Box::new(|i| i.education_level = Some("phd".into())),
            ),
            ("consent_pool", Box::new(|i| i.consent_pool = false)),
        ];
        for (field, mutate) in cases {
            let mut input = valid_input();
            mutate(&mut input);
            let errors = input.validate_with(is_profession).expect_err(field);
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
            assert_eq!(errors.iter().count(), 1, "{field}: {errors:?}");
        }
    }

    #[test]
    fn all_errors_come_at_once_in_form_order() {
        let errors = SignupInput::default()
            .validate_with(is_profession)
            .expect_err("empty");
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "full_name",
                "email",
                "citizenship",
                "residence_country",
                "profession",
                "years_experience",
                "english_level",
                "norwegian_level",
                "consent_pool"
            ]
        );
    }

    #[test]
    fn optional_fields_may_be_blank() {
        let mut input = valid_input();
        input.linkedin_url = Some("  ".into());
        input.phone = Some(String::new());
        input.partner_profession = Some("Nurse".into());
        let valid = input.validate_with(is_profession).expect("valid");
        assert_eq!(valid.linkedin_url, None);
        assert_eq!(
            valid.partner_profession, None,
            "no partner, no partner profession"
        );
    }

    #[test]
    fn linkedin_is_judged_by_the_parsed_host() {
        for bad in [
            "https://evil.example\\@www.linkedin.com/in/x",
            "https://evil.example?.linkedin.com/in/x",
            "https://evil.example#.linkedin.com/in/x",
            "https://evil.example/.linkedin.com/in/x",
            "https://www.linkedin.com.evil.example/in/x",
            "https://user:pw@www.linkedin.com/in/x",
            "https://www.linkedin.com:8443/in/x",
            "http://www.linkedin.com/in/x",
            "javascript://www.linkedin.com/%0aalert(1)",
            "https://evillinkedin.com/in/x",
        ] {
            assert!(!is_linkedin_profile(bad), "{bad} must be refused");
            let mut input = valid_input();
            input.linkedin_url = Some(bad.into());
            let errors = input.validate_with(is_profession).expect_err(bad);
            assert!(errors.get("linkedin_url").is_some(), "{bad}: {errors:?}");
        }
        for good in [
            "https://www.linkedin.com/in/kari-nordmann",
            "https://linkedin.com/in/x",
            "https://no.linkedin.com/in/x?trk=a",
        ] {
            assert!(is_linkedin_profile(good), "{good} must be accepted");
        }
    }
}
