//! Typed settings read from the environment (see `.env.example`).

use std::{
    env,
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
};

use secrecy::SecretString;

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub database_url: String,
    /// `None`: mail goes to the outbox table (development only).
    pub smtp_url: Option<String>,
    pub base_url: String,
    pub port: u16,
    /// The address the web server listens on (`BIND_ADDR`): loopback in development,
    /// every interface in production.
    pub bind_addr: IpAddr,
    pub mail_from: String,
    pub secret_key: SecretString,
    /// Newsletter sending rate; 0 means no limit.
    pub send_rate_per_sec: u32,
    /// SMTP connections each worker process sends newsletters over.
    pub newsletter_concurrency: u32,
    /// How long a worker holds claimed deliveries before another may take them over.
    pub newsletter_lease_secs: u32,
    /// First retry delay after a temporary failure (doubling after each attempt).
    pub newsletter_retry_secs: u32,
    /// A scheduled newsletter more late than this waits for a person.
    pub newsletter_max_late_minutes: u32,
    /// PostgreSQL connections per process (SQLite uses a fixed small pool).
    pub database_max_connections: u32,
    /// Where the SQLite file, CVs and the development secret live.
    pub data_dir: PathBuf,
    /// Public form submissions per IP and minute; 0 turns the limit off.
    pub signup_rate_per_minute: u32,
    /// How long a confirmation link stays valid.
    pub confirm_token_hours: i64,
    /// How long the personal link to a candidate's own page (`/me/…`) stays valid.
    pub self_service_link_days: i64,
    /// Unconfirmed sign-ups are deleted after this many days.
    pub unconfirmed_retention_days: i64,
    /// Confirmed candidates inactive this long are asked whether they are still interested.
    pub inactive_after_days: i64,
    /// Days they have to answer before their data is erased.
    pub keep_answer_days: i64,
    /// How often idle workers look for new jobs.
    pub job_poll_millis: u64,
    /// The data controller named in the privacy notice.
    pub controller_name: String,
    pub controller_email: String,
    /// A header set by the proxy in front of the app with the client's IP, trusted for
    /// rate limiting (Fly.io: `Fly-Client-IP`). Unset: the TCP peer address counts.
    pub client_ip_header: Option<String>,
    /// Staff sign-in attempts per account and hour (five times as many per address).
    pub login_attempts_per_hour: u32,
}

impl Settings {
    /// Reads settings from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|key| env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests can pass their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let lookup = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let app_env = match lookup("APP_ENV").as_deref() {
            None | Some("development") => AppEnv::Development,
            Some("production") => AppEnv::Production,
            Some(other) => {
                return Err(Error::Config(format!(
                    "APP_ENV must be development or production, not {other:?}"
                )));
            }
        };
        let number = |key: &str, default: u64| -> Result<u64> {
            lookup(key).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .map_err(|_| Error::Config(format!("{key} must be a whole number, not {v:?}")))
            })
        };
        let port = u16::try_from(number("PORT", 8080)?)
            .map_err(|_| Error::Config("PORT is out of range".into()))?;
        let bind_addr = bind_addr(app_env, lookup("BIND_ADDR"), lookup("ALLOW_PUBLIC_BIND"))?;
        let data_dir = PathBuf::from(lookup("DATA_DIR").unwrap_or_else(|| "./data".into()));
        if app_env == AppEnv::Production {
            let missing: Vec<&str> = ["SECRET_KEY", "BASE_URL", "SMTP_URL"]
                .into_iter()
                .filter(|key| lookup(key).is_none())
                .collect();
            if !missing.is_empty() {
                return Err(Error::Config(format!(
                    "APP_ENV=production needs {} set",
                    missing.join(", ")
                )));
            }
        }
        let secret_key = match lookup("SECRET_KEY") {
            Some(key) if key.len() < 32 => {
                return Err(Error::Config(
                    "SECRET_KEY must be at least 32 characters".into(),
                ));
            }
            Some(key) => key,
            None => development_secret(&data_dir)?,
        };
        let database_url = lookup("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/talentpool.db?mode=rwc", data_dir.display()));
        Ok(Self {
            app_env,
            database_url,
            smtp_url: lookup("SMTP_URL"),
            base_url: lookup("BASE_URL")
                .unwrap_or_else(|| format!("http://localhost:{port}"))
                .trim_end_matches('/')
                .to_owned(),
            port,
            bind_addr,
            mail_from: lookup("MAIL_FROM")
                .unwrap_or_else(|| "Talent Pool <talentpool@localhost>".into()),
            secret_key: SecretString::from(secret_key),
            send_rate_per_sec: u32::try_from(number("SEND_RATE_PER_SEC", 0)?)
                .map_err(|_| Error::Config("SEND_RATE_PER_SEC is out of range".into()))?,
            newsletter_concurrency: u32::try_from(number("NEWSLETTER_CONCURRENCY", 8)?)
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| Error::Config("NEWSLETTER_CONCURRENCY must be 1 to 256".into()))?,
            newsletter_lease_secs: u32::try_from(number("NEWSLETTER_LEASE_SECS", 60)?)
                .ok()
                .filter(|n| *n >= 2)
                .ok_or_else(|| Error::Config("NEWSLETTER_LEASE_SECS must be at least 2".into()))?,
            newsletter_retry_secs: u32::try_from(number("NEWSLETTER_RETRY_SECS", 60)?)
                .map_err(|_| Error::Config("NEWSLETTER_RETRY_SECS is out of range".into()))?,
            newsletter_max_late_minutes: u32::try_from(number("NEWSLETTER_MAX_LATE_MINUTES", 60)?)
                .map_err(|_| Error::Config("NEWSLETTER_MAX_LATE_MINUTES is out of range".into()))?,
            database_max_connections: u32::try_from(number(
                "DATABASE_MAX_CONNECTIONS",
                u64::from(crate::db::DEFAULT_PG_CONNECTIONS),
            )?)
            .map_err(|_| Error::Config("DATABASE_MAX_CONNECTIONS is out of range".into()))?,
            data_dir,
            signup_rate_per_minute: u32::try_from(number("SIGNUP_RATE_PER_MINUTE", 20)?)
                .map_err(|_| Error::Config("SIGNUP_RATE_PER_MINUTE is out of range".into()))?,
            confirm_token_hours: i64::try_from(number("CONFIRM_TOKEN_HOURS", 72)?)
                .map_err(|_| Error::Config("CONFIRM_TOKEN_HOURS is out of range".into()))?,
            self_service_link_days: i64::try_from(number("SELF_SERVICE_LINK_DAYS", 30)?)
                .map_err(|_| Error::Config("SELF_SERVICE_LINK_DAYS is out of range".into()))?,
            unconfirmed_retention_days: i64::try_from(number("UNCONFIRMED_RETENTION_DAYS", 7)?)
                .map_err(|_| Error::Config("UNCONFIRMED_RETENTION_DAYS is out of range".into()))?,
            inactive_after_days: i64::try_from(number("INACTIVE_AFTER_DAYS", 730)?)
                .map_err(|_| Error::Config("INACTIVE_AFTER_DAYS is out of range".into()))?,
            keep_answer_days: i64::try_from(number("KEEP_ANSWER_DAYS", 30)?)
                .map_err(|_| Error::Config("KEEP_ANSWER_DAYS is out of range".into()))?,
            job_poll_millis: number("JOB_POLL_MILLIS", 200)?,
            controller_name: lookup("CONTROLLER_NAME")
                .unwrap_or_else(|| "the regional council's talent attraction secretariat".into()),
            client_ip_header: lookup("CLIENT_IP_HEADER"),
            login_attempts_per_hour: u32::try_from(number("LOGIN_ATTEMPTS_PER_HOUR", 10)?)
                .map_err(|_| Error::Config("LOGIN_ATTEMPTS_PER_HOUR is out of range".into()))?,
            controller_email: lookup("CONTROLLER_EMAIL")
                .unwrap_or_else(|| "privacy@talentpool.test".into()),
        })
    }

    pub fn is_development(&self) -> bool {
        self.app_env == AppEnv::Development
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// Development mode shows every email, with its working links, at `/dev/outbox`, and has
/// a demo administrator: it listens on loopback only, unless `ALLOW_PUBLIC_BIND=true`
/// says that whoever can reach the address may see that.
fn bind_addr(app_env: AppEnv, raw: Option<String>, allow_public: Option<String>) -> Result<IpAddr> {
    let addr = match raw {
        Some(raw) => raw
            .trim()
            .parse::<IpAddr>()
            .map_err(|_| Error::Config(format!("BIND_ADDR must be an IP address, not {raw:?}")))?,
        None if app_env == AppEnv::Production => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    let allowed = allow_public
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    if app_env == AppEnv::Development && !addr.is_loopback() && !allowed {
        return Err(Error::Config(format!(
            "development mode serves every email at /dev/outbox to whoever can reach it, so it \
             listens on loopback only; BIND_ADDR={addr} is not loopback. Set APP_ENV=production, \
             or ALLOW_PUBLIC_BIND=true if everyone on this network may read that mail"
        )));
    }
    Ok(addr)
}

/// In development a random secret is created once and kept in the data directory, so
/// that links and form tokens survive restarts.
fn development_secret(data_dir: &std::path::Path) -> Result<String> {
    use rand::RngCore;
    let path = data_dir.join(".secret_key");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= 32
    {
        return Ok(existing.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    std::fs::write(&path, &secret)?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn defaults_are_for_development() {
        let dir = std::env::temp_dir().join(format!("tp-config-{}", std::process::id()));
        let dir = dir.to_string_lossy().into_owned();
        let s = settings(&[("DATA_DIR", &dir)]).expect("defaults");
        assert!(s.is_development());
        assert_eq!(s.port, 8080);
        assert!(s.database_url.starts_with("sqlite://"));
        assert_eq!(s.smtp_url, None);
        assert_eq!(s.send_rate_per_sec, 0);
        // The development secret is kept and reused.
        let again = settings(&[("DATA_DIR", &dir)]).expect("defaults");
        use secrecy::ExposeSecret;
        assert_eq!(
            s.secret_key.expose_secret(),
            again.secret_key.expose_secret()
        );
    }

    #[test]
    fn production_refuses_to_start_without_secrets() {
        let err = settings(&[("APP_ENV", "production")]).expect_err("must refuse");
        let message = err.to_string();
        for key in ["SECRET_KEY", "BASE_URL", "SMTP_URL"] {
            assert!(message.contains(key), "{message}");
        }
        let ok = settings(&[
            ("APP_ENV", "production"),
            ("SECRET_KEY", &"k".repeat(40)),
            ("BASE_URL", "https://talent.example.no/"),
            ("SMTP_URL", "smtp://mail.example.no:587"),
        ])
        .expect("complete production settings");
        assert_eq!(ok.base_url, "https://talent.example.no");
    }

    #[test]
    fn development_listens_on_loopback_only_unless_told() {
        let dir = std::env::temp_dir().join(format!("tp-config-bind-{}", std::process::id()));
        let dir = dir.to_string_lossy().into_owned();
        let s = settings(&[("DATA_DIR", &dir)]).expect("defaults");
        assert_eq!(s.bind_addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let err = settings(&[("DATA_DIR", &dir), ("BIND_ADDR", "0.0.0.0")])
            .expect_err("a public address in development must be refused");
        assert!(err.to_string().contains("BIND_ADDR"), "{err}");
        let err = settings(&[("DATA_DIR", &dir), ("BIND_ADDR", "::")])
            .expect_err("a public IPv6 address too");
        assert!(err.to_string().contains("loopback"), "{err}");
        let told = settings(&[
            ("DATA_DIR", &dir),
            ("BIND_ADDR", "0.0.0.0"),
            ("ALLOW_PUBLIC_BIND", "true"),
        ])
        .expect("allowed when told");
        assert_eq!(told.bind_addr, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let ipv6 = settings(&[("DATA_DIR", &dir), ("BIND_ADDR", "::1")]).expect("loopback");
        assert!(ipv6.bind_addr.is_loopback());
        let production = settings(&[
            ("APP_ENV", "production"),
            ("SECRET_KEY", &"k".repeat(40)),
            ("BASE_URL", "https://talent.example.no/"),
            ("SMTP_URL", "smtp://mail.example.no:587"),
        ])
        .expect("production");
        assert_eq!(production.bind_addr, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn bad_numbers_are_reported() {
        let err =
            settings(&[("PORT", "eighty"), ("SECRET_KEY", &"k".repeat(32))]).expect_err("bad port");
        assert!(err.to_string().contains("PORT"));
    }
}
