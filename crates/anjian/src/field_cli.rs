//! `anjian field …`: the reference client as a command line, playing an inspector.

use std::path::PathBuf;

use anjian_field_client::FieldClient;
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;
use uuid::Uuid;

#[derive(Args)]
pub struct FieldArgs {
    /// The anjian server.
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,
    /// The local replica and outbox.
    #[arg(long, default_value = "field.db", global = true)]
    pub replica: PathBuf,
    #[command(subcommand)]
    pub command: FieldCommand,
}

#[derive(Subcommand)]
pub enum FieldCommand {
    /// Signs in (needs the network).
    Login {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
    },
    /// Pulls the territory into the replica.
    Pull,
    /// Records an inspection (and a hazard per failed item) in the outbox; works offline.
    Inspect {
        /// Enterprise id or credit code.
        #[arg(long)]
        enterprise: String,
        /// Template code (e.g. `fire`).
        #[arg(long)]
        template: String,
        /// Item codes that failed; every other item passes.
        #[arg(long = "fail")]
        failed: Vec<String>,
        /// `general` or `major`, for the hazards of failed items.
        #[arg(long, default_value = "general")]
        severity: String,
        /// A photo file (JPEG, PNG, WebP) proving the first failed item; repeatable.
        #[arg(long = "photo")]
        photos: Vec<std::path::PathBuf>,
    },
    /// Sends the outbox.
    Push,
    /// Push, then pull.
    Sync,
    /// What the replica holds and what is queued.
    Status,
}

/// Runs a field command and prints what happened.
pub async fn run(args: FieldArgs) -> anyhow::Result<()> {
    let c = FieldClient::open(&args.server, &args.replica).await?;
    match args.command {
        FieldCommand::Login { username, password } => {
            c.login(&username, &password).await?;
            println!("signed in as {username}; device {}", c.device_id);
        }
        FieldCommand::Pull => {
            let r = c.pull().await?;
            println!(
                "pulled {} changes in {} pages{}",
                r.changes,
                r.pages,
                if r.reset { " (replica rebuilt)" } else { "" }
            );
        }
        FieldCommand::Inspect {
            enterprise,
            template,
            failed,
            severity,
            photos,
        } => {
            if !photos.is_empty() && failed.is_empty() {
                anyhow::bail!("photos prove a failed item: add --fail");
            }
            let mut photo_ids = Vec::new();
            for path in &photos {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let content_type = match path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("png") => "image/png",
                    Some("webp") => "image/webp",
                    _ => "image/jpeg",
                };
                photo_ids.push(c.add_photo(&bytes, content_type).await?);
            }
            let ent = c
                .list("enterprise")
                .await?
                .into_iter()
                .find(|e| e["id"] == enterprise.as_str() || e["credit_code"] == enterprise.as_str())
                .context("no such enterprise in the replica; pull first")?;
            let tpl = c
                .list("template")
                .await?
                .into_iter()
                .filter(|t| t["code"] == template.as_str())
                .max_by_key(|t| t["version"].as_i64())
                .context("no such template in the replica; pull first")?;
            let items = tpl["items"].as_array().cloned().unwrap_or_default();
            for f in &failed {
                if !items.iter().any(|i| i["code"] == f.as_str()) {
                    anyhow::bail!("template {template} has no item {f}");
                }
            }
            let now = chrono::Utc::now();
            let inspection = Uuid::now_v7();
            let results: Vec<_> = items
                .iter()
                .map(|i| {
                    let fail = failed.iter().any(|f| i["code"] == f.as_str());
                    json!({"item_code": i["code"], "outcome": if fail { "fail" } else { "pass" }, "note": ""})
                })
                .collect();
            c.record(
                "inspection.create",
                None,
                json!({"id": inspection, "enterprise_id": ent["id"], "template_id": tpl["id"], "template_version": tpl["version"],
                    "started_at": now, "finished_at": now, "results": results,
                    "summary": format!("检查{}项，不合格{}项", items.len(), failed.len())}),
            )
            .await?;
            for (n, f) in failed.iter().enumerate() {
                let item = items
                    .iter()
                    .find(|i| i["code"] == f.as_str())
                    .cloned()
                    .unwrap_or_default();
                c.record(
                    "hazard.create",
                    None,
                    json!({"id": Uuid::now_v7(), "enterprise_id": ent["id"], "inspection_id": inspection, "item_code": f,
                        "title": item["text"], "description": item["guidance"], "category": item["category"],
                        "severity": severity, "found_at": now, "responsible_person": ent["contact_name"], "measures": "",
                        "photo_ids": if n == 0 { photo_ids.clone() } else { Vec::new() }}),
                )
                .await?;
            }
            println!(
                "recorded inspection {inspection} of {} with {} hazards; {} queued",
                ent["name"],
                failed.len(),
                c.pending().await?
            );
        }
        FieldCommand::Push => {
            let r = c.push().await?;
            println!(
                "applied {}, not applied {}, still queued {}, retries {}",
                r.applied,
                r.unapplied.len(),
                r.pending,
                r.retries
            );
            for u in r.unapplied {
                println!("  seq {}: {} ({})", u.seq, u.status, u.code);
            }
        }
        FieldCommand::Sync => {
            let (p, u, q) = c.sync().await?;
            println!(
                "pushed: applied {}, not applied {}; photos: uploaded {}, refused {}, waiting {}; pulled {} changes",
                p.applied,
                p.unapplied.len(),
                u.uploaded,
                u.refused.len(),
                u.pending,
                q.changes
            );
        }
        FieldCommand::Status => {
            for t in anjian_usecases::sync::TYPES {
                println!("{t:>11}: {}", c.versions(t).await?.len());
            }
            println!("     outbox: {}", c.pending().await?);
            for state in ["queued", "done", "refused"] {
                println!(
                    "{:>11}: {}",
                    format!("photos {state}"),
                    c.photos(state).await?.len()
                );
            }
        }
    }
    Ok(())
}
