//! `anjian`: serve, migrate, seed, and generate the roster.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anjian::app::{StartOptions, prepare, start};
use anjian::config::{Config, LogFormat};

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "anjian",
    version,
    about = "安检 — work-safety hazard campaign server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, seed, and serve the API (the default).
    Serve {
        /// Also create the demo accounts (see README) and, at the first such
        /// start, a year of synthetic inspection history.
        #[arg(long)]
        demo: bool,
        /// With `--demo`: the accounts only, no history.
        #[arg(long, requires = "demo")]
        no_history: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Migrate and load the seeds (villages, templates, roster, campaigns) and exit.
    Seed {
        /// Also create the demo accounts.
        #[arg(long)]
        demo: bool,
    },
    /// The reference field client, playing an inspector (login, pull, inspect offline, push).
    Field(anjian::field_cli::FieldArgs),
    /// Photo evidence housekeeping.
    Photos {
        #[command(subcommand)]
        command: PhotosCommand,
    },
    /// The enterprise roster.
    Roster {
        #[command(subcommand)]
        command: RosterCommand,
    },
    /// User accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Scheduled jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Makes and stores a week's report and prints its figures (JSON): a past
    /// week as the server knew it at its cut-off (Monday 08:00 after it), the
    /// week in progress as of now.
    Weekly {
        /// The ISO week (`2026-W48`); default: the last week whose cut-off has passed.
        #[arg(long)]
        week: Option<String>,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Runs every scheduled job whose due period is not done yet, as the
    /// server's scheduler does every 15 seconds, and prints what ran.
    CatchUp,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Gives every roster enterprise without an account one (username: its
    /// credit code) with a one-time initial password, and writes the list.
    ProvisionEnterprises {
        /// Where to write the list for distribution (XLSX): the only place
        /// the initial passwords are shown.
        #[arg(long)]
        xlsx: PathBuf,
    },
}

#[derive(Subcommand)]
enum PhotosCommand {
    /// Reports photos declared but never uploaded and stored objects nothing
    /// refers to; removes them with `--apply`.
    Sweep {
        /// Age, in days, past which an unfinished upload is abandoned.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Remove what was found (default: report only).
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Subcommand)]
enum RosterCommand {
    /// Writes the deterministic 3,152-enterprise roster.
    Generate {
        #[arg(long, default_value = "seeds/enterprises.csv")]
        out: PathBuf,
    },
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| {
        eprintln!(
            "ANJIAN_LOG `{}` is not a valid filter; using `info`",
            config.log_filter
        );
        tracing_subscriber::EnvFilter::new("info")
    });
    // Logs go to stderr: stdout carries what commands print (the sweep's JSON report).
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => b.json().init(),
        LogFormat::Pretty => b.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let env: HashMap<String, String> = std::env::vars().collect();
    let config = Config::load(&env)?;
    init_logging(&config);
    match cli.command.unwrap_or(Command::Serve {
        demo: false,
        no_history: false,
    }) {
        Command::Serve { demo, no_history } => {
            let t = Instant::now();
            let running = start(
                &config,
                StartOptions {
                    demo,
                    demo_history: !no_history,
                    scheduler: true,
                    clock: None,
                },
            )
            .await?;
            println!(
                "anjian is serving on {}  (started in {:.1} s)",
                running.public_url,
                t.elapsed().as_secs_f64()
            );
            println!("  API docs:  {}/docs", running.public_url);
            if let Some(pw) = &running.admin_password {
                println!(
                    "  first admin created: username `admin`, password `{pw}` (shown once; change it)"
                );
            }
            if !running.demo_accounts.is_empty() {
                println!(
                    "  demo accounts created ({}), password `{}`",
                    running.demo_accounts.join(", "),
                    anjian_usecases::setup::DEMO_PASSWORD
                );
            }
            if let Some(h) = &running.demo_history {
                println!(
                    "  demo history made: {} inspections, {} hazards, {} rectifications, {} photos",
                    h.inspections, h.hazards, h.rectifications, h.photos
                );
            }
            shutdown_signal().await;
            tracing::info!("shutting down");
            running.stop().await
        }
        Command::Migrate => {
            let db = anjian_store::Db::connect(&config.database_url()).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Seed { demo } => {
            let db = prepare(&config).await?;
            if demo {
                let made = anjian_usecases::setup::demo_accounts(&db)
                    .await
                    .context("creating the demo accounts")?;
                println!("demo accounts created: {}", made.len());
            }
            println!("seeds loaded");
            Ok(())
        }
        Command::Field(args) => anjian::field_cli::run(args).await,
        Command::Photos {
            command: PhotosCommand::Sweep { days, apply },
        } => {
            let db = prepare(&config).await?;
            let store = anjian::photos::store_for_cli(&config).await?;
            let report = anjian::photos::sweep(&db, &store, days, apply).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Users {
            command: UsersCommand::ProvisionEnterprises { xlsx },
        } => {
            let db = prepare(&config).await?;
            let p = anjian::accounts::provision(&db, &xlsx).await?;
            println!(
                "enterprise accounts created: {}; enterprises that already had one: {}; list written to {}",
                p.created.len(),
                p.skipped,
                xlsx.display()
            );
            Ok(())
        }
        Command::Report {
            command: ReportCommand::Weekly { week },
        } => {
            let db = prepare(&config).await?;
            let policy = config.policy();
            let now = chrono::Utc::now();
            let week = match week {
                Some(w) => w
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--week `{w}`: {e}"))?,
                None => anjian_domain::report::IsoWeek::last_cut_off(
                    now.with_timezone(&policy.tz).naive_local(),
                ),
            };
            let store = anjian::photos::store_for_cli(&config).await?;
            let r = anjian_usecases::reports::make(&db, Some(&store), week, (&policy, now)).await?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Command::Jobs {
            command: JobsCommand::CatchUp,
        } => {
            let db = prepare(&config).await?;
            let store = anjian::photos::store_for_cli(&config).await?;
            let ctx = anjian::app::job_context(&config, &db, Some(store));
            let runner = format!("cli-{}", std::process::id());
            for spec in anjian_scheduler::table() {
                match anjian_scheduler::run_once(&ctx, &spec, &runner, chrono::Utc::now()).await {
                    Ok(Some(d)) => println!("{}: {d}", spec.name),
                    Ok(None) => println!("{}: done already, or running elsewhere", spec.name),
                    Err(e) => println!("{}: failed: {e:#}", spec.name),
                }
            }
            Ok(())
        }
        Command::Roster {
            command: RosterCommand::Generate { out },
        } => {
            let text = anjian::roster_gen::generate();
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}
