//! Building and running the application: database, migrations, development bootstrap,
//! the HTTP server and the workers, and a graceful stop.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum_csrf::{CsrfConfig, Key, SameSite};
use rand::{Rng, distr::Alphanumeric};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha512};
use talentpool_core::{
    campaigns, config::Settings, mail::Mailer, professions::Catalog, signup_writer::SignupWriter,
    staff, storage::LocalDir,
};
use talentpool_jobs::JobContext;
use talentpool_migrations::{Migrator, MigratorTrait};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{http, state::AppState, views::Views};

/// What this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    WebAndWorkers,
    Workers,
    Web,
}

pub struct Application {
    listener: Option<TcpListener>,
    state: AppState,
    jobs: JobContext,
    role: Role,
}

/// Applies sea-orm migrations and creates apalis's job tables.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")?;
    talentpool_jobs::setup_storage(db)
        .await
        .context("creating the job tables")?;
    Ok(())
}

impl Application {
    /// Connects, migrates and binds `BIND_ADDR:PORT` (loopback in development).
    pub async fn build(settings: Settings, role: Role) -> anyhow::Result<Self> {
        let listener = if role == Role::Workers {
            None
        } else {
            let addr = SocketAddr::new(settings.bind_addr, settings.port);
            Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding {addr}"))?,
            )
        };
        Self::build_with_listener(settings, role, listener).await
    }

    /// Like [`Application::build`] on a listener bound by the caller (tests use port 0).
    pub async fn build_with_listener(
        settings: Settings,
        role: Role,
        listener: Option<TcpListener>,
    ) -> anyhow::Result<Self> {
        let db = talentpool_core::db::connect_with(
            &settings.database_url,
            settings.database_max_connections,
        )
        .await
        .context("connecting to the database")?;
        migrate(&db).await?;
        if settings.is_development() {
            bootstrap_development(&db).await?;
        }
        let catalog = Catalog::load(&db).await.context("loading professions")?;
        let mailer = Mailer::from_settings(&settings, db.clone())?;
        let csrf = CsrfConfig::default()
            .with_key(Some(Key::from(&Sha512::digest(
                settings.secret_key.expose_secret().as_bytes(),
            ))))
            .with_cookie_name("tp_csrf")
            .with_cookie_same_site(SameSite::Lax)
            .with_http_only(true)
            .with_secure(settings.base_url.starts_with("https://"));
        let settings = Arc::new(settings);
        let state = AppState {
            db: db.clone(),
            catalog: Arc::new(catalog),
            files: Arc::new(LocalDir::new(settings.data_dir.join("files"))),
            views: Views::new().context("loading page templates")?,
            csrf,
            login_limits: Arc::new(crate::http::admin::LoginLimits::new(
                settings.login_attempts_per_hour,
                settings.login_attempts_per_hour.saturating_mul(5),
            )),
            campaigns: Default::default(),
            send_rates: Default::default(),
            signup_writer: SignupWriter::start(db.clone()),
            settings: settings.clone(),
        };
        let jobs = JobContext {
            db,
            mailer,
            settings: (*settings).clone(),
            files: state.files.clone(),
        };
        Ok(Self {
            listener,
            state,
            jobs,
            role,
        })
    }

    pub fn port(&self) -> Option<u16> {
        self.listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// Serves until `shutdown` resolves, then stops taking requests and jobs, and waits
    /// for those in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        let trigger = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests and jobs in flight");
            trigger.cancel();
        });
        let workers = (self.role != Role::Web).then(|| {
            let jobs = self.jobs.clone();
            let token = token.clone();
            tokio::spawn(async move { talentpool_jobs::run_workers(jobs, token).await })
        });
        if let Some(listener) = self.listener {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, base_url = %self.state.settings.base_url, "listening");
            }
            let router = http::router(self.state.clone());
            let token = token.clone();
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .context("serving HTTP")?;
        }
        if let Some(workers) = workers {
            workers.await.context("worker task")??;
        }
        self.state.db.clone().close().await.ok();
        Ok(())
    }
}

/// SIGTERM (Fly, systemd) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

pub const DEV_ADMIN_EMAIL: &str = "admin@talentpool.test";

/// A new, empty development database gets the demo campaign and an administrator
/// whose login is printed once.
pub async fn bootstrap_development(db: &DatabaseConnection) -> anyhow::Result<()> {
    if campaigns::count(db).await? > 0 || staff::count(db).await? > 0 {
        return Ok(());
    }
    if let Err(e) = campaigns::create_demo(db).await {
        // Two processes started on one new database at once: the other one won.
        if campaigns::count(db).await? > 0 {
            tracing::info!("another process created the demo data");
            return Ok(());
        }
        return Err(e.into());
    }
    let password: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    staff::create_admin(db, DEV_ADMIN_EMAIL, &password).await?;
    println!(
        "\n  Development database created.\n  Demo campaign: /c/{}\n  Admin login:   {DEV_ADMIN_EMAIL} / {password}\n  (shown once; create more with `talentpool create-admin`)\n",
        campaigns::DEMO_SLUG
    );
    Ok(())
}
