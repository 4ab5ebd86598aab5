//! `talentpool`: the one binary. `serve` (default) runs the web app and the workers,
//! `worker` the workers only, `migrate` the migrations.

use std::io::Read;

use clap::{Parser, Subcommand};
use talentpool::{startup, telemetry};
use talentpool_core::config::Settings;

#[derive(Parser)]
#[command(
    name = "talentpool",
    version,
    about = "Talent Pool: recruitment campaigns, talent pool and newsletters"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Web app and background workers in one process (the default).
    Serve {
        /// The web app only, for a deployment that runs `talentpool worker` processes
        /// of its own.
        #[arg(long)]
        no_workers: bool,
    },
    /// Background workers only.
    Worker,
    /// Apply database migrations and exit (Fly's release command).
    Migrate,
    /// Create a secretariat administrator; the password is read from stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Create a secretariat API token (prints it as the last line).
    CreateApiToken {
        #[arg(long)]
        name: String,
    },
    /// Insert N confirmed fake candidates (development and benchmarks only).
    Seed {
        #[arg(long)]
        candidates: u64,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("talentpool: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(&settings);
    match run(
        cli.command.unwrap_or(Command::Serve { no_workers: false }),
        settings,
    )
    .await
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = ?e, "talentpool failed");
            eprintln!("talentpool: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { no_workers } => {
            let role = if no_workers {
                startup::Role::Web
            } else {
                startup::Role::WebAndWorkers
            };
            let app = startup::Application::build(settings, role).await?;
            app.run_until(startup::shutdown_signal()).await
        }
        Command::Worker => {
            let app = startup::Application::build(settings, startup::Role::Workers).await?;
            app.run_until(startup::shutdown_signal()).await
        }
        Command::Migrate => {
            let db = talentpool_core::db::connect_with(
                &settings.database_url,
                settings.database_max_connections,
            )
            .await?;
            startup::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin { email } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let db = talentpool_core::db::connect_with(
                &settings.database_url,
                settings.database_max_connections,
            )
            .await?;
            startup::migrate(&db).await?;
            let id = talentpool_core::staff::create_admin(&db, &email, password).await?;
            println!("created administrator {email} (id {id})");
            Ok(())
        }
        Command::CreateApiToken { name } => {
            let db = talentpool_core::db::connect_with(
                &settings.database_url,
                settings.database_max_connections,
            )
            .await?;
            startup::migrate(&db).await?;
            let (id, token) = talentpool_core::api_tokens::create(&db, &name, None).await?;
            println!("created API token {name:?} (id {id}); it is shown only now:");
            println!("{token}");
            Ok(())
        }
        Command::Seed { candidates } => {
            if !settings.is_development() {
                anyhow::bail!("seed refuses to run with APP_ENV=production");
            }
            let db = talentpool_core::db::connect_with(
                &settings.database_url,
                settings.database_max_connections,
            )
            .await?;
            startup::migrate(&db).await?;
            startup::bootstrap_development(&db).await?;
            let catalog = talentpool_core::professions::Catalog::load(&db).await?;
            let started = std::time::Instant::now();
            let mut last_report = std::time::Instant::now();
            let inserted =
                talentpool_core::seed::seed(&db, &settings, &catalog, candidates, |done| {
                    if last_report.elapsed().as_secs() >= 5 {
                        eprintln!("seed: {done} of {candidates} candidates");
                        last_report = std::time::Instant::now();
                    }
                })
                .await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "seeded {inserted} candidates in {secs:.1} s ({:.0} per second)",
                inserted as f64 / secs.max(0.001)
            );
            Ok(())
        }
    }
}
