//! CSRF helpers shared by every form: the token to put in a page, and the check of a
//! submitted one (signed double-submit cookie, `axum_csrf`).

use axum_csrf::CsrfToken;

use super::error::Error;

/// The value for the form's hidden `authenticity_token` field.
pub fn token(csrf: &CsrfToken) -> Result<String, Error> {
    csrf.authenticity_token()
        .map_err(|e| Error::Unexpected(anyhow::anyhow!("CSRF token: {e:?}")))
}

/// Refuses a form whose token is missing or does not match its cookie.
pub fn verify(csrf: &CsrfToken, submitted: &str) -> Result<(), Error> {
    if submitted.is_empty() || csrf.verify(submitted).is_err() {
        return Err(Error::Csrf);
    }
    Ok(())
}
