//! `carechain analytics`: the off-chain de-identified dataset (`carechain-analytics`). `sync` follows a
//! channel's committed blocks into the store; `query`, `export` and `report` are for analysts only (an
//! analyst certificate of a channel member, checked against the channel configuration in the store);
//! `status` shows where the store is. The store is an SQLite file under `$CARECHAIN_HOME/analytics/` by
//! default, or PostgreSQL (`--store postgres://...`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use carechain::identity::{ClientArgs, SignerArgs};
use carechain::launcher::home::Home;
use carechain_analytics::analyst::admit;
use carechain_analytics::anonymity::{Column, report};
use carechain_analytics::deliver::PeerReader;
use carechain_analytics::export::{self, Format};
use carechain_analytics::render::{self, TableFormat};
use carechain_analytics::safeharbor::RestrictedZip3;
use carechain_analytics::store::{Access, Location, Store};
use carechain_analytics::sync::{SyncParams, default_key_file};
use clap::{Args, Subcommand, ValueEnum};

/// Which store.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Channel the store follows.
    #[arg(long, default_value = "care")]
    pub channel: String,
    /// The store: an SQLite path (`sqlite:PATH` or `PATH`), `postgres://user@host:port/db` or
    /// `postgres:host=... dbname=...` (default: `$CARECHAIN_HOME/analytics/<channel>.sqlite`).
    #[arg(long, env = "CARECHAIN_ANALYTICS_STORE")]
    pub store: Option<String>,
}

impl StoreArgs {
    fn location(&self) -> anyhow::Result<Location> {
        match &self.store {
            Some(s) => Ok(s.parse()?),
            None => Ok(Location::Sqlite(
                Home::from_env()
                    .root
                    .join("analytics")
                    .join(format!("{}.sqlite", self.channel)),
            )),
        }
    }
}

/// What an analyst's report or export groups by.
#[derive(Args, Clone, Debug)]
pub struct PrivacyArgs {
    /// Quasi-identifiers (comma-separated: category, year, age_band, birth_year, sex, zip3).
    #[arg(long, default_value = "age_band,birth_year,sex,zip3")]
    pub qi: String,
    /// Sensitive attribute for l-diversity.
    #[arg(long, default_value = "category")]
    pub sensitive: String,
    /// k-anonymity threshold: an export is refused below it.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
}

/// Query output formats.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OutputFormat {
    /// Aligned columns.
    Table,
    /// CSV.
    Csv,
    /// JSON lines.
    Json,
}

/// Export formats.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    /// CSV with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// Analytics subcommands.
#[derive(Subcommand)]
pub enum AnalyticsCommand {
    /// Follow the channel's committed blocks (Deliver, as a reader of the channel) into the store.
    Sync {
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// Chaincode whose de-identified events are kept.
        #[arg(long, default_value = "records")]
        chaincode: String,
        /// Linking key file (default: next to the SQLite file, or `$CARECHAIN_HOME/analytics/<channel>.key`).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Restricted three-digit ZIP prefixes, one per line (replaces the store's table; default HHS's list).
        #[arg(long)]
        restricted_zip3: Option<PathBuf>,
        /// Stop once caught up with the peer's height at start, instead of following new blocks.
        #[arg(long)]
        once: bool,
        /// Serve Prometheus `/metrics` (lag in blocks) and `/healthz` on this address.
        #[arg(long)]
        metrics: Option<SocketAddr>,
        /// Crash tests only: hold each store transaction open this many milliseconds before committing.
        #[arg(long, hide = true)]
        commit_delay_ms: Option<u64>,
    },
    /// Where the store is: last block, observed peer height and lag, rows and patients.
    Status {
        #[command(flatten)]
        store: StoreArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one read-only SQL query (analysts only), e.g. `SELECT category, count(*) FROM entries GROUP BY 1`.
    Query {
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// The query.
        sql: String,
    },
    /// Export the dataset (analysts only); refused when k-anonymity is below the threshold.
    Export {
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        privacy: PrivacyArgs,
        /// l-diversity threshold (default 1: no constraint).
        #[arg(long, default_value_t = 1)]
        l: usize,
        /// File format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output file (written only if the export is allowed).
        #[arg(long)]
        output: PathBuf,
    },
    /// k-anonymity and l-diversity of the dataset (analysts only).
    Report {
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        privacy: PrivacyArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs an analytics subcommand.
pub async fn run(cmd: AnalyticsCommand) -> anyhow::Result<()> {
    match cmd {
        AnalyticsCommand::Sync {
            client,
            store,
            chaincode,
            key_file,
            restricted_zip3,
            once,
            metrics,
            commit_delay_ms,
        } => {
            let location = store.location()?;
            let restricted = match restricted_zip3 {
                Some(f) => Some(RestrictedZip3::parse(
                    &std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?,
                )?),
                None => None,
            };
            let key_file = key_file
                .unwrap_or_else(|| default_key_file(&location, &Home::from_env().root, &store.channel));
            let params = SyncParams {
                peer: PeerReader::new(
                    client.address.clone(),
                    client.tls()?,
                    client.signer()?,
                    store.channel,
                ),
                chaincode,
                location,
                key_file,
                restricted,
                follow: !once,
                metrics,
                progress: true,
                commit_delay: commit_delay_ms.map(std::time::Duration::from_millis),
            };
            let done = carechain_analytics::sync::run(params, shutdown()).await?;
            eprintln!(
                "analytics store at block {}: {} rows added, {} removed, {} events skipped",
                done.next_block, done.entries, done.removed, done.skipped
            );
            Ok(())
        }
        other => tokio::task::spawn_blocking(move || blocking(other)).await?,
    }
}

async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// The commands that only read the store (both database clients are synchronous).
fn blocking(cmd: AnalyticsCommand) -> anyhow::Result<()> {
    match cmd {
        AnalyticsCommand::Status { store, json } => status(&store, json),
        AnalyticsCommand::Query {
            signer,
            store,
            format,
            sql,
        } => {
            let (mut db, who) = open_as_analyst(&signer, &store, "query")?;
            let result = db.query(&sql);
            audit(
                &store,
                &who,
                "query",
                &serde_json::json!({"sql": sql, "ok": result.is_ok()}),
            );
            let format = match format {
                OutputFormat::Table => TableFormat::Table,
                OutputFormat::Csv => TableFormat::Csv,
                OutputFormat::Json => TableFormat::Json,
            };
            print!("{}", render::query(&result?, format));
            Ok(())
        }
        AnalyticsCommand::Export {
            signer,
            store,
            privacy,
            l,
            format,
            output,
        } => export_cmd(&signer, &store, &privacy, l, format, &output),
        AnalyticsCommand::Report {
            signer,
            store,
            privacy,
            json,
        } => {
            let (mut db, who) = open_as_analyst(&signer, &store, "report")?;
            let (qi, sensitive) = columns(&privacy)?;
            let rows = db.rows()?;
            let r = report(rows.iter().map(|s| (s.subject.as_str(), &s.row)), &qi, sensitive);
            audit(
                &store,
                &who,
                "report",
                &serde_json::json!({"qi": privacy.qi, "k": r.k}),
            );
            if json {
                let mut v = serde_json::to_value(&r)?;
                v["threshold"] = privacy.k.into();
                println!("{v}");
            } else {
                print!("{}", render::report(&r, privacy.k));
            }
            Ok(())
        }
        AnalyticsCommand::Sync { .. } => bail!("sync runs on the async runtime"),
    }
}

fn status(store: &StoreArgs, json: bool) -> anyhow::Result<()> {
    let location = store.location()?;
    let mut db = Store::open(&location, Access::Read)?;
    let cp = db.checkpoint()?;
    let stats = db.stats()?;
    let v = serde_json::json!({
        "store": location.to_string(),
        "backend": db.backend_name(),
        "channel": cp.channel,
        "chaincode": cp.chaincode,
        "lastBlock": cp.last_block,
        "nextBlock": cp.next_block(),
        "peerHeight": cp.peer_height.as_ref().map(|(h, _)| h),
        "observedAt": cp.peer_height.as_ref().map(|(_, at)| at),
        "lagBlocks": cp.lag(),
        "updatedAt": cp.updated_at,
        "configBlock": cp.config_number,
        "entries": stats.entries,
        "patients": stats.patients,
    });
    if json {
        println!("{v}");
        return Ok(());
    }
    println!("store:        {} ({})", location, db.backend_name());
    println!("channel:      {} (chaincode {})", cp.channel, cp.chaincode);
    let last = cp.last_block.map_or("none".to_string(), |b| b.to_string());
    println!(
        "last block:   {last} (applied {})",
        cp.updated_at.as_deref().unwrap_or("never")
    );
    match &cp.peer_height {
        Some((h, at)) => println!(
            "peer height:  {h} (observed {at}); lag {} blocks",
            cp.lag().unwrap_or_default()
        ),
        None => println!("peer height:  not observed yet"),
    }
    println!(
        "dataset:      {} rows, {} patients",
        stats.entries, stats.patients
    );
    Ok(())
}

fn columns(p: &PrivacyArgs) -> anyhow::Result<(Vec<Column>, Column)> {
    Ok((Column::parse_list(&p.qi)?, p.sensitive.parse()?))
}

/// Opens the store read-only and admits `signer` only if it is an analyst of the channel.
fn open_as_analyst(signer: &SignerArgs, store: &StoreArgs, what: &str) -> anyhow::Result<(Store, String)> {
    let id = signer.signer()?;
    let mut db = Store::open(&store.location()?, Access::Read)?;
    match admit(&mut db, &id) {
        Ok(a) => Ok((db, format!("{} ({})", a.common_name, a.msp_id))),
        Err(e) => {
            let who = format!("{} ({})", id.common_name(), id.msp_id());
            audit(store, &who, what, &serde_json::json!({"denied": e.to_string()}));
            Err(e.into())
        }
    }
}

fn export_cmd(
    signer: &SignerArgs,
    store: &StoreArgs,
    privacy: &PrivacyArgs,
    l: usize,
    format: ExportFormat,
    output: &Path,
) -> anyhow::Result<()> {
    let (mut db, who) = open_as_analyst(signer, store, "export")?;
    let (qi, sensitive) = columns(privacy)?;
    let rows = db.rows()?;
    let r = report(rows.iter().map(|s| (s.subject.as_str(), &s.row)), &qi, sensitive);
    if let Err(e) = export::check(&r, privacy.k, l) {
        audit(
            store,
            &who,
            "export",
            &serde_json::json!({"refused": true, "k": r.k, "qi": privacy.qi}),
        );
        return Err(e.into());
    }
    let format = match format {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Parquet => Format::Parquet,
    };
    // Written next to the target and renamed, so a failed export leaves no partial file behind.
    let tmp = output.with_extension("partial");
    let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    export::write(&rows, format, std::io::BufWriter::new(file))?;
    std::fs::rename(&tmp, output).with_context(|| format!("writing {}", output.display()))?;
    audit(
        store,
        &who,
        "export",
        &serde_json::json!({"rows": rows.len(), "k": r.k, "qi": privacy.qi, "file": output.display().to_string()}),
    );
    eprintln!(
        "exported {} rows of {} patients to {} (k = {}, l = {})",
        r.rows,
        r.patients,
        output.display(),
        r.k.map_or("-".into(), |k| k.to_string()),
        r.l.map_or("-".into(), |l| l.to_string())
    );
    Ok(())
}

/// Appends one line per analyst command to `$CARECHAIN_HOME/analytics/<channel>-access.log` (who, what,
/// when, allowed or not). Best effort: a log that cannot be written is reported on stderr.
fn audit(store: &StoreArgs, who: &str, command: &str, detail: &serde_json::Value) {
    let dir = Home::from_env().root.join("analytics");
    let path = dir.join(format!("{}-access.log", store.channel));
    let line = serde_json::json!({
        "at": render::now_rfc3339(),
        "who": who,
        "command": command,
        "detail": detail,
    });
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(f, "{line}")
    });
    if let Err(e) = written {
        eprintln!("warning: cannot write the access log {}: {e}", path.display());
    }
}
