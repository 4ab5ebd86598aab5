//! sea-orm entities, one module per table. Behaviour lives in the modules named after
//! what they do (`crate::candidates`, `crate::tokens`, …), not here.

pub mod api_token;
pub mod audit_log;
pub mod campaign;
pub mod campaign_profession;
pub mod candidate;
pub mod citizenship;
pub mod company;
pub mod company_campaign;
pub mod company_candidate;
pub mod company_candidate_event;
pub mod company_user;
pub mod consent;
pub mod consent_text;
pub mod delivery;
pub mod email_log;
pub mod forward;
pub mod newsletter;
pub mod outbox_message;
pub mod profession;
pub mod segment;
pub mod session;
pub mod signup;
pub mod staff_user;
pub mod suppression;
pub mod token;
