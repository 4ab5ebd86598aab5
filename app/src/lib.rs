//! The Talent Pool web application: HTTP routes, pages and startup.

pub mod campaign_cache;
pub mod http;
pub mod send_rates;
pub mod session_store;
pub mod signups;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod views;
