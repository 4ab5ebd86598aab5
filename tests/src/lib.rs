//! Test harness: each test gets its own database (SQLite file or PostgreSQL database),
//! its own port, its own SMTP sink, and the real application with its workers.

pub mod smtp;

use std::{collections::HashMap, time::Duration};

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use talentpool::startup::{Application, Role};
use talentpool_core::{config::Settings, queue};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use smtp::{Fault, Received, SmtpSink};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the suite uses; override with `TEST_POSTGRES_URL`.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub db: DatabaseConnection,
    pub smtp: SmtpSink,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub settings: Settings,
    pg_database: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Options for [`TestApp::spawn_with`].
#[derive(Default)]
pub struct Options {
    pub env: Vec<(&'static str, String)>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        match Self::try_spawn(backend, options).await {
            Ok(app) => app,
            Err(e) => panic!("could not start the app on {backend:?}: {e:#}"),
        }
    }

    async fn try_spawn(backend: Backend, options: Options) -> anyhow::Result<Self> {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,talentpool=info")),
            )
            .try_init();
        let data_dir = tempfile::tempdir().context("temp dir")?;
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}/test.db?mode=rwc", data_dir.path().display()),
                None,
            ),
            Backend::Postgres => {
                let name = format!("tp_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(postgres_admin_url())
                    .await
                    .with_context(|| {
                        format!(
                            "PostgreSQL is required for the test suite and did not answer at {}",
                            postgres_admin_url()
                        )
                    })?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .context("creating the test database")?;
                admin.close().await.ok();
                let base = postgres_admin_url();
                let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
                (format!("{server}/{name}"), Some(name))
            }
        };
        let smtp = SmtpSink::start().await?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let address = format!("http://127.0.0.1:{port}");
        let mut env: HashMap<&str, String> = HashMap::from([
            ("DATA_DIR", data_dir.path().display().to_string()),
            ("DATABASE_URL", database_url),
            ("SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port())),
            ("BASE_URL", address.clone()),
            ("PORT", port.to_string()),
            (
                "SECRET_KEY",
                "test-secret-key-test-secret-key-0123456789".into(),
            ),
            ("SIGNUP_RATE_PER_MINUTE", "0".into()),
            ("JOB_POLL_MILLIS", "50".into()),
            // Tests run side by side on one PostgreSQL server with 100 connections.
            ("DATABASE_MAX_CONNECTIONS", "8".into()),
            (
                "MAIL_FROM",
                "Talent Pool Oslo <talentpool@region.test>".into(),
            ),
            // Newsletter retries at once and short leases keep tests fast.
            ("NEWSLETTER_RETRY_SECS", "0".into()),
            ("NEWSLETTER_LEASE_SECS", "5".into()),
        ]);
        for (key, value) in options.env {
            env.insert(key, value);
        }
        let settings = Settings::from_lookup(|key| env.get(key).cloned())?;
        let app =
            Application::build_with_listener(settings.clone(), Role::WebAndWorkers, Some(listener))
                .await?;
        let db = app.db().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()?;
        Ok(Self {
            backend,
            address,
            db,
            smtp,
            client,
            data_dir,
            settings,
            pg_database,
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    /// Waits for `count` messages to `address`; on a time-out, fails with the state of
    /// the job queue to tell a slow worker from a lost job.
    pub async fn mail(&self, address: &str, count: usize) -> Vec<Received> {
        match self
            .smtp
            .wait_for(address, count, Duration::from_secs(45))
            .await
        {
            Ok(found) => found,
            Err(found) => panic!(
                "{count} message(s) to {address} expected, {} arrived; jobs: {}",
                found.len(),
                self.job_states().await
            ),
        }
    }

    /// apalis's job table on this backend.
    pub fn job_table(&self) -> &'static str {
        if self.backend == Backend::Postgres {
            "apalis.jobs"
        } else {
            "Jobs"
        }
    }

    /// The job table in one line: status, attempts and last result of each job.
    pub async fn job_states(&self) -> String {
        let backend = self.db.get_database_backend();
        let table = self.job_table();
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT status, CAST(attempts AS BIGINT) AS a, CAST(last_result AS TEXT) AS r, lock_by FROM {table}"),
            ))
            .await;
        match rows {
            Ok(rows) => rows
                .iter()
                .map(|r| {
                    format!(
                        "{}(attempts {}, result {}, lock {})",
                        r.try_get::<String>("", "status").unwrap_or_default(),
                        r.try_get::<i64>("", "a").unwrap_or(-1),
                        r.try_get::<Option<String>>("", "r")
                            .ok()
                            .flatten()
                            .unwrap_or_default(),
                        r.try_get::<Option<String>>("", "lock_by")
                            .ok()
                            .flatten()
                            .unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => format!("(could not read the job table: {e})"),
        }
    }

    /// A secretariat API token.
    pub async fn api_token(&self) -> String {
        talentpool_core::api_tokens::create(&self.db, "tests", None)
            .await
            .expect("token")
            .1
    }

    /// Inserts `n` realistic confirmed candidates.
    pub async fn seed(&self, n: u64) {
        let catalog = talentpool_core::professions::Catalog::load(&self.db)
            .await
            .expect("catalog");
        talentpool_core::seed::seed(&self.db, &self.settings, &catalog, n, |_| {})
            .await
            .expect("seed");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Waits until no job is pending or running.
    pub async fn drain_jobs(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        loop {
            let mut left = 0;
            for name in [queue::CANDIDATE_EMAIL_QUEUE, queue::COMPANY_EMAIL_QUEUE] {
                left += queue::unfinished(&self.db, name)
                    .await
                    .expect("counting jobs");
            }
            if left == 0 {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("{left} jobs still unfinished: {}", self.job_states().await);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"
        ))
        .await
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .expect("query")
            .expect("one row");
        row.try_get_by_index::<i64>(0).expect("an integer")
    }

    pub async fn execute(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect("statement");
    }

    /// Stops the app (checking that no job was left behind) and drops its database.
    pub async fn teardown(mut self) {
        self.drain_jobs().await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            match tokio::time::timeout(Duration::from_secs(30), server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("the app stopped with an error: {e:#}"),
                Ok(Err(e)) => panic!("the app task failed: {e}"),
                Err(_) => panic!("the app did not stop within 30 s"),
            }
        }
        self.db.clone().close().await.ok();
        if let Some(name) = self.pg_database.take()
            && let Ok(admin) = Database::connect(postgres_admin_url()).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }
}

/// Runs a test body against SQLite and against PostgreSQL, as two tests; with a list of
/// `("KEY", "value")` pairs, the app gets them as extra environment.
#[macro_export]
macro_rules! db_test {
    ($name:ident, [$(($key:literal, $value:expr)),* $(,)?]) => {
        mod $name {
            fn options() -> $crate::Options {
                $crate::Options { env: vec![$(($key, ($value).to_string())),*] }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::spawn_with($crate::Backend::Sqlite, options()).await;
                super::$name(&app).await;
                app.teardown().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::TestApp::spawn_with($crate::Backend::Postgres, options()).await;
                super::$name(&app).await;
                app.teardown().await;
            }
        }
    };
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await;
                super::$name(&app).await;
                app.teardown().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::TestApp::spawn($crate::Backend::Postgres).await;
                super::$name(&app).await;
                app.teardown().await;
            }
        }
    };
}
