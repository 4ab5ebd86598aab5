//! Reading an HTML form post, `multipart/form-data` (with a file) or
//! `application/x-www-form-urlencoded`, into a list of fields.

use axum::{
    body::Bytes,
    extract::{FromRequest, Multipart, Request},
    http::header,
};
use talentpool_core::{
    candidates::SignupSource,
    domain::signup::{FieldErrors, SignupInput},
};

use super::error::Error;

/// The largest single text field we read.
const MAX_FIELD_BYTES: usize = 10 * 1024;

#[derive(Debug, Default)]
pub struct FormData {
    pub fields: Vec<(String, String)>,
    /// The uploaded file of field `cv`, if one was chosen.
    pub cv: Option<Vec<u8>>,
}

impl FormData {
    pub async fn read(request: Request) -> Result<Self, Error> {
        let is_multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if is_multipart {
            Self::read_multipart(request).await
        } else {
            let bytes = Bytes::from_request(request, &())
                .await
                .map_err(|e| Error::BadRequest(e.body_text()))?;
            let fields = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
            Ok(Self { fields, cv: None })
        }
    }

    async fn read_multipart(request: Request) -> Result<Self, Error> {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| Error::BadRequest(e.body_text()))?;
        let mut form = Self::default();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| Error::BadRequest(e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let is_file = field.file_name().is_some();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| Error::BadRequest(e.body_text()))?;
            if name == "cv" && is_file {
                if !bytes.is_empty() {
                    form.cv = Some(bytes.to_vec());
                }
            } else if bytes.len() <= MAX_FIELD_BYTES {
                form.fields
                    .push((name, String::from_utf8_lossy(&bytes).into_owned()));
            } else {
                return Err(Error::BadRequest(format!("the field {name} is too long")));
            }
        }
        Ok(form)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::to_owned)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A ticked checkbox sends its value; an unticked one sends nothing.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "true" | "on" | "yes" | "1"
            )
        })
    }

    /// The sign-up answers with their public field names.
    pub fn signup_input(&self) -> (SignupInput, FieldErrors) {
        let mut errors = FieldErrors::default();
        let years = self.text("years_experience");
        let years_experience = match years.trim() {
            "" => None,
            raw => match raw.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add("years_experience", "Enter a whole number of years, like 5.");
                    Some(0)
                }
            },
        };
        let input = SignupInput {
            full_name: self.text("full_name"),
            email: self.text("email"),
            citizenship: self.all("citizenship"),
            residence_country: self.text("residence_country"),
            profession: self.text("profession"),
            years_experience,
            english_level: self.text("english_level"),
            norwegian_level: self.text("norwegian_level"),
            linkedin_url: self.optional("linkedin_url"),
            phone: self.optional("phone"),
            education_level: self.optional("education_level"),
            work_permit_norway: self.checked("work_permit_norway"),
            has_partner: self.checked("has_partner"),
            partner_profession: self.optional("partner_profession"),
            consent_pool: self.checked("consent_pool"),
            consent_share: self.checked("consent_share"),
            consent_newsletter: self.checked("consent_newsletter"),
        };
        (input, errors)
    }

    pub fn source(&self) -> SignupSource {
        SignupSource {
            utm_source: self.optional("utm_source"),
            utm_medium: self.optional("utm_medium"),
            utm_campaign: self.optional("utm_campaign"),
            utm_term: self.optional("utm_term"),
            utm_content: self.optional("utm_content"),
            referrer: None,
        }
    }
}
