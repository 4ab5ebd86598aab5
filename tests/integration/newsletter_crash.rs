//! Exactly once across crashes: real `talentpool worker` processes send a newsletter to
//! the SMTP sink in this process; one is SIGKILLed mid-send twice and restarted, and
//! every recipient still gets a copy, with duplicates within the documented bound (one
//! per open SMTP connection per kill). Two worker processes on one PostgreSQL database
//! never send to a recipient twice, and share one rate limit.
//!
//! The binary is `TALENTPOOL_BIN`, or `talentpool` in the target directory of this test
//! (`cargo build -p talentpool` builds it; `cargo nextest run --workspace` does too).

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use chrono::Utc;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, Database, DatabaseConnection, EntityTrait,
};
use talentpool_core::{
    audit::Actor,
    entities::candidate,
    newsletters::{self, DraftInput, Status},
    pool::Filter,
    segments,
};
use talentpool_tests::{SmtpSink, postgres_admin_url};

const CONCURRENCY: usize = 8;

fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("TALENTPOOL_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/integration-… → target/<profile>/talentpool
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("talentpool"))
        .expect("target directory");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p talentpool` or set TALENTPOOL_BIN",
        path.display()
    );
    path
}

struct Fixture {
    url: String,
    db: DatabaseConnection,
    dir: tempfile::TempDir,
    pg_database: Option<String>,
    sink: SmtpSink,
}

impl Fixture {
    async fn new(postgres: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg_database) = if postgres {
            let name = format!("tp_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(postgres_admin_url())
                .await
                .expect("PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            admin.close().await.ok();
            let base = postgres_admin_url();
            let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
            (format!("{server}/{name}"), Some(name))
        } else {
            (
                format!("sqlite://{}/crash.db?mode=rwc", dir.path().display()),
                None,
            )
        };
        let db = talentpool_core::db::connect(&url).await.expect("connect");
        talentpool::startup::migrate(&db).await.expect("migrate");
        let sink = SmtpSink::start().await.expect("sink");
        Self {
            url,
            db,
            dir,
            pg_database,
            sink,
        }
    }

    /// `n` confirmed candidates with newsletter consent, and a newsletter to all of them
    /// that is being sent.
    async fn newsletter(&self, n: usize) -> i64 {
        let now = Utc::now();
        let rows: Vec<candidate::ActiveModel> = (0..n)
            .map(|i| candidate::ActiveModel {
                id: NotSet,
                email: Set(format!("c{i}@crash.example")),
                full_name: Set(format!("Cand {i}")),
                residence_country: Set("PL".into()),
                profession_code: Set("2512".into()),
                years_experience: Set(3),
                english_level: Set("B2".into()),
                norwegian_level: Set("none".into()),
                linkedin_url: Set(None),
                phone: Set(None),
                education_level: Set(None),
                work_permit_norway: Set(false),
                has_partner: Set(false),
                partner_profession: Set(None),
                cv_key: Set(None),
                eu_status: Set("eu_eea".into()),
                consent_pool: Set(true),
                consent_share: Set(false),
                consent_newsletter: Set(true),
                confirmed_at: Set(Some(now)),
                suppressed_at: Set(None),
                last_active_at: Set(now),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .collect();
        for chunk in rows.chunks(500) {
            candidate::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&self.db)
                .await
                .expect("candidates");
        }
        let segment = segments::create(&self.db, "All", &Filter::default(), None)
            .await
            .expect("segment");
        let n = newsletters::create(
            &self.db,
            &DraftInput {
                subject: "Crash test for {{ candidate.first_name }}".into(),
                body_markdown: "Hello {{ candidate.first_name }}.\n\n{{ unsubscribe_url }}".into(),
                segment_id: Some(segment.id),
            },
            Actor::System,
            None,
            "http://localhost/privacy",
        )
        .await
        .expect("create")
        .expect("valid");
        newsletters::send(&self.db, n.id, None, Utc::now(), Actor::System)
            .await
            .expect("send")
            .expect("sending");
        n.id
    }

    fn worker(&self, rate: u32) -> Child {
        Command::new(binary())
            .arg("worker")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.url)
            .env("DATA_DIR", self.dir.path())
            .env("SMTP_URL", format!("smtp://127.0.0.1:{}", self.sink.port()))
            .env("SECRET_KEY", "crash-test-secret-key-0123456789abcdef")
            .env("BASE_URL", "http://localhost")
            .env("MAIL_FROM", "Talent Pool <talentpool@crash.example>")
            .env("JOB_POLL_MILLIS", "50")
            .env("NEWSLETTER_CONCURRENCY", CONCURRENCY.to_string())
            .env("NEWSLETTER_LEASE_SECS", "2")
            .env("NEWSLETTER_RETRY_SECS", "0")
            .env("SEND_RATE_PER_SEC", rate.to_string())
            // WORKER_LOG=info WORKER_LOG_FILE=/tmp/workers.log keeps the workers' logs.
            .env(
                "RUST_LOG",
                std::env::var("WORKER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(worker_log())
            .spawn()
            .expect("start the talentpool binary")
    }

    async fn status(&self, id: i64) -> Status {
        newsletters::status_of(
            &newsletters::find(&self.db, id)
                .await
                .expect("find")
                .expect("exists"),
        )
    }

    async fn wait_done(&self, id: i64, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.status(id).await != Status::Done {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not done in time: {:?}",
                newsletters::progress(&self.db, id).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// (recipients with no copy, copies beyond the first)
    async fn tally(&self, n: usize) -> (usize, usize) {
        let messages = self.sink.messages().await;
        let mut counts = vec![0usize; n];
        for m in &messages {
            for to in &m.to {
                let i: usize = to
                    .strip_prefix('c')
                    .and_then(|r| r.strip_suffix("@crash.example"))
                    .and_then(|r| r.parse().ok())
                    .expect("a crash-test address");
                counts[i] += 1;
            }
        }
        let missing = counts.iter().filter(|c| **c == 0).count();
        let duplicates = counts.iter().map(|c| c.saturating_sub(1)).sum();
        (missing, duplicates)
    }

    async fn teardown(self) {
        self.db.close().await.ok();
        if let Some(name) = self.pg_database
            && let Ok(admin) = Database::connect(postgres_admin_url()).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }
}

/// Where the workers' stderr goes: `WORKER_LOG_FILE` (appended to), or nowhere.
fn worker_log() -> Stdio {
    std::env::var("WORKER_LOG_FILE")
        .ok()
        .and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        })
        .map_or_else(Stdio::null, Stdio::from)
}

fn kill(child: &mut Child) {
    // `Child::kill` is SIGKILL on Unix: no shutdown code runs.
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

async fn killed_twice_mid_send(postgres: bool) {
    const N: usize = 3000;
    const KILLS: usize = 2;
    let fixture = Fixture::new(postgres).await;
    let id = fixture.newsletter(N).await;
    let mut worker = fixture.worker(1500);
    for after in [400, 1400] {
        fixture
            .sink
            .wait_for_total(after, Duration::from_secs(60))
            .await;
        kill(&mut worker);
        assert_ne!(fixture.status(id).await, Status::Done, "killed mid-send");
        worker = fixture.worker(1500);
    }
    fixture.wait_done(id, Duration::from_secs(120)).await;
    kill(&mut worker);
    let (missing, duplicates) = fixture.tally(N).await;
    eprintln!("{KILLS} kills: {missing} recipients without a copy, {duplicates} duplicates");
    assert_eq!(missing, 0, "every recipient has a copy");
    assert!(
        duplicates <= KILLS * CONCURRENCY,
        "{duplicates} duplicates; the bound is one per open connection per kill ({})",
        KILLS * CONCURRENCY
    );
    let progress = newsletters::progress(&fixture.db, id)
        .await
        .expect("progress");
    assert_eq!(
        (progress.sent, progress.queued),
        (N as i64, 0),
        "{progress:?}"
    );
    fixture.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_nobody_sqlite() {
    killed_twice_mid_send(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_nobody_postgres() {
    killed_twice_mid_send(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_postgres_send_each_message_once_at_one_shared_rate() {
    const N: usize = 2000;
    // SEND_RATE_PER_SEC is the rate of both processes together: 200 each, with leases
    // of 2 s (claims must stay small enough to be started within them).
    const RATE: u32 = 400;
    let fixture = Fixture::new(true).await;
    let id = fixture.newsletter(N).await;
    // Held until both processes are up and know of each other.
    newsletters::pause(&fixture.db, id, None, Actor::System)
        .await
        .expect("pause")
        .expect("paused");
    let mut one = fixture.worker(RATE);
    let mut two = fixture.worker(RATE);
    tokio::time::sleep(Duration::from_secs(3)).await;
    newsletters::resume(&fixture.db, id, Utc::now(), Actor::System)
        .await
        .expect("resume")
        .expect("sending");
    fixture.wait_done(id, Duration::from_secs(120)).await;
    kill(&mut one);
    kill(&mut two);
    assert_eq!(
        fixture.tally(N).await,
        (0, 0),
        "each recipient exactly once"
    );
    // Both processes sent, and together no faster than the one rate.
    let rows = fixture
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            fixture.db.get_database_backend(),
            format!(
                "SELECT claimed_by, CAST(COUNT(*) AS BIGINT) AS n, \
                 EXTRACT(EPOCH FROM MAX(sent_at) - MIN(sent_at))::float8 AS span \
                 FROM deliveries WHERE newsletter_id = {id} GROUP BY ROLLUP (claimed_by)"
            ),
        ))
        .await
        .expect("shares");
    let mut shares = Vec::new();
    let mut span = 0.0;
    for row in rows {
        let worker: Option<String> = row.try_get("", "claimed_by").expect("worker");
        let n: i64 = row.try_get("", "n").expect("count");
        match worker {
            Some(_) => shares.push(n),
            None => span = row.try_get::<f64>("", "span").expect("span"),
        }
    }
    let rate = (N - 1) as f64 / span;
    eprintln!("two processes sent {shares:?} at {rate:.0} messages/s together (limit {RATE})");
    assert_eq!(shares.len(), 2, "both processes sent: {shares:?}");
    assert!(
        shares.iter().all(|n| *n as usize >= N / 5),
        "each sent a fair part: {shares:?}"
    );
    assert!(
        rate <= f64::from(RATE) * 1.2,
        "{rate:.0} messages/s from both processes together; the limit is {RATE}"
    );
    fixture.teardown().await;
}
