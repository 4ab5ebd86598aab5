//! Taking a sign-up, whether from the landing-page form or the JSON API: validate every
//! answer, keep the CV, record the sign-up. Nothing is stored unless all is valid.

use talentpool_core::{
    campaigns::Campaign,
    candidates::{NewSignup, SignupOutcome, SignupSource},
    domain::signup::{FieldErrors, SignupInput},
    storage::{self, MAX_CV_BYTES},
};

use crate::{http::error::Error, state::AppState};

pub struct Submission {
    pub input: SignupInput,
    pub cv: Option<Vec<u8>>,
    /// Problems found while reading the request (e.g. a non-numeric number).
    pub read_errors: FieldErrors,
    pub source: SignupSource,
    /// `form` or `api`.
    pub channel: &'static str,
}

pub async fn submit(
    state: &AppState,
    campaign: &Campaign,
    submission: Submission,
) -> Result<SignupOutcome, Error> {
    let Submission {
        input,
        cv,
        read_errors,
        source,
        channel,
    } = submission;
    let catalog = state.catalog.clone();
    let validated = input.validate_with(|code| catalog.contains(code));
    let mut errors = match &validated {
        Ok(_) => FieldErrors::default(),
        Err(errors) => errors.clone(),
    };
    for (field, message) in read_errors.iter() {
        errors.add(field, message);
    }
    if let Some(bytes) = &cv {
        if bytes.len() > MAX_CV_BYTES {
            errors.add("cv", "The CV must be at most 5 MB.");
        } else if !storage::is_pdf(bytes) {
            errors.add("cv", "The CV must be a PDF file.");
        }
    }
    let valid = match validated {
        Ok(valid) if errors.is_empty() => valid,
        _ => return Err(Error::Validation(errors.sorted())),
    };
    let cv_key = match &cv {
        Some(bytes) => {
            let key = storage::new_cv_key();
            state.files.put(&key, bytes).await?;
            Some(key)
        }
        None => None,
    };
    let result = state
        .signup_writer
        .sign_up(NewSignup {
            campaign_id: campaign.id,
            valid,
            cv_key: cv_key.clone(),
            channel,
            source,
        })
        .await;
    match result {
        Ok(outcome) => {
            tracing::info!(campaign = %campaign.slug, ?outcome, "sign-up recorded");
            Ok(outcome)
        }
        Err(e) => {
            if let Some(key) = cv_key
                && let Err(cleanup) = state.files.delete(&key).await
            {
                tracing::warn!(error = %cleanup, "could not remove the CV of a failed sign-up");
            }
            Err(e.into())
        }
    }
}
