//! Domain types that parse instead of validate: once a value has one of these types it
//! is known to be valid and normalised.

pub mod country;
pub mod email;
pub mod eu_status;
pub mod levels;
pub mod org_number;
pub mod phone;
pub mod signup;

pub use country::Country;
pub use email::CandidateEmail;
pub use eu_status::EuStatus;
pub use levels::{EducationLevel, LanguageLevel};
pub use org_number::OrgNumber;
pub use phone::Phone;
