//! `carechain bench`: a load generator that speaks only the Fabric Gateway protocol. It drives the
//! `basic` contract through its asset-transfer-basic functions, or the `private` contract through
//! asset-transfer-private-data's `CreateAsset` (private data from the transient map), so the same load
//! runs against any Fabric 2.4+ peer with `--profile`. Many concurrent clients run closed loop or at a
//! fixed rate; it reports throughput, latency percentiles, validation codes and its own CPU per
//! transaction, as a table and as JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use carechain_gateway::client::{ClientError, GatewayClient};
use clap::{Args, ValueEnum};
use tokio::sync::Mutex;

use crate::bench_cpu::{Accounting, Sample};

/// What each transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
pub enum Workload {
    /// `CreateAsset` with a fresh id (endorse, order, validate, commit; no conflicts).
    Write,
    /// `ReadAsset` of a seeded asset (Evaluate only).
    Read,
    /// `private` `CreateAsset` with a fresh id, its properties in the transient map: private writes to
    /// `assetCollection` (disseminated to the other member org's peer) and the caller's org collection,
    /// only hashes in the block.
    PrivateWrite,
    /// `claims` `SubmitClaim` by a hospital's billing clerk (`--org`, default HospitalA, user
    /// `billing`) to the Insurer: FHIR Claim details in the pair's collection, both orgs endorse, a
    /// duplicate check over secondary indexes. One coverage per client is registered first.
    Claims,
}

impl Workload {
    /// The chaincode a workload calls when `--chaincode` is not given.
    fn default_chaincode(self) -> &'static str {
        match self {
            Workload::Write | Workload::Read => "basic",
            Workload::PrivateWrite => "private",
            Workload::Claims => "claims",
        }
    }
}

/// Bench settings.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Local network description, used when `--profile` is not given (default: the one `network up`
    /// used in this `$CARECHAIN_HOME`, else `network/network.yaml`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Channel.
    #[arg(long, default_value = "care")]
    pub channel: String,
    /// Chaincode (default: `basic`, or `private` for `--workload private-write`).
    #[arg(long)]
    pub chaincode: Option<String>,
    /// Organization whose gateway the clients use (local network; default the channel's first).
    #[arg(long)]
    pub org: Option<String>,
    /// The user of that organization the clients act as (default `User1`; `billing` for `claims`).
    #[arg(long)]
    pub user: Option<String>,
    /// A Fabric connection profile (JSON or YAML) instead of the local network: the first peer of
    /// `client.organization` is used, with `--msp-dir`/`--msp-id` as the identity.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Identity for `--profile`.
    #[arg(long, requires = "profile")]
    pub msp_dir: Option<PathBuf>,
    /// MSP id for `--profile`.
    #[arg(long, requires = "profile")]
    pub msp_id: Option<String>,
    /// Workload.
    #[arg(long, value_enum, default_value = "write")]
    pub workload: Workload,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// gRPC connections shared by the clients.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Run time in seconds (after a short warm-up).
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Target rate in transactions per second (open loop); closed loop when absent.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Size of each written asset's color field, in bytes (private data for `private-write`).
    #[arg(long, default_value_t = 32)]
    pub payload: usize,
    /// Endorse on these organizations only (default: the gateway plans from the policy).
    #[arg(long = "endorsing-org")]
    pub endorsing_orgs: Vec<String>,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl BenchArgs {
    /// The user the clients act as.
    pub fn user(&self) -> String {
        let default = match self.workload {
            Workload::Claims => "billing",
            _ => "User1",
        };
        self.user.clone().unwrap_or_else(|| default.to_string())
    }

    /// The local network's description.
    pub fn network_config(&self) -> PathBuf {
        carechain::launcher::home::Home::from_env().network_config(self.config.clone())
    }

    /// The chaincode to call.
    pub fn chaincode(&self) -> &str {
        self.chaincode
            .as_deref()
            .unwrap_or(self.workload.default_chaincode())
    }
}

/// Outcome counts and latencies.
#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    /// Per submitted transaction: endorse (with the remote endorsements), submit (orderer's ack), and
    /// the wait for the commit status.
    phases: [Vec<Duration>; 3],
    codes: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the benchmark.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let clients = crate::bench_target::connect(&args).await?;
    if args.workload == Workload::Read {
        seed(&clients[0], &args).await?;
    }
    let stats = Arc::new(Mutex::new(Stats::default()));
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    if args.workload == Workload::Claims {
        crate::bench_claims::seed(&args, &run_id).await?;
    }
    let accounting = match args.profile {
        Some(_) => Accounting::bench_only(),
        None => Accounting::local(&args.network_config()),
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.duration);
    let cpu0 = accounting.sample();
    let per_client_interval = args
        .rate
        .map(|r| Duration::from_secs_f64(args.clients as f64 / r.max(1) as f64));
    let mut tasks = Vec::new();
    let clients_n = args.clients.max(1) as u32;
    for c in 0..args.clients {
        let gw = clients[c % clients.len()].clone();
        let (stats, args, run_id) = (stats.clone(), args.clone(), run_id.clone());
        tasks.push(tokio::spawn(async move {
            // Clients start staggered over one interval, so a fixed rate arrives evenly, not in bursts.
            let mut next =
                Instant::now() + per_client_interval.map_or(Duration::ZERO, |iv| iv * c as u32 / clients_n);
            let mut n = 0u64;
            while Instant::now() < deadline {
                if let Some(iv) = per_client_interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += iv;
                }
                let t0 = Instant::now();
                let outcome = one(&gw, &args, &format!("bench-{run_id}-{c}-{n}"), n).await;
                let took = t0.elapsed();
                n += 1;
                let mut s = stats.lock().await;
                match outcome {
                    Ok((code, phases)) => {
                        *s.codes.entry(code).or_default() += 1;
                        s.latencies.push(took);
                        for (all, d) in s.phases.iter_mut().zip(phases.into_iter().flatten()) {
                            all.push(d);
                        }
                    }
                    Err(e) => *s.errors.entry(e).or_default() += 1,
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed();
    let cpu = accounting.sample().since(&cpu0);
    let stats = stats.lock().await;
    report(&args, &stats, elapsed, &cpu)
}

/// The phases' p50 and p99 in ms, by name.
fn phases_json(s: &Stats) -> serde_json::Value {
    let names = ["endorse", "submit", "commit_wait"];
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let by_name = names.iter().zip(&s.phases).map(|(name, d)| {
        let mut d = d.clone();
        d.sort();
        (
            name.to_string(),
            serde_json::json!([ms(percentile(&d, 0.5)), ms(percentile(&d, 0.99))]),
        )
    });
    serde_json::Value::Object(by_name.collect())
}

/// Latency by phase of a submitted transaction (p50 / p99 in ms), when there were any.
fn print_phases(s: &Stats) {
    if s.phases[0].is_empty() {
        return;
    }
    println!("  latency by phase, p50 / p99 (ms):");
    for (name, d) in ["endorse", "submit (orderer ack)", "commit status wait"]
        .iter()
        .zip(&s.phases)
    {
        let mut d = d.clone();
        d.sort();
        let ms = |x: Duration| x.as_secs_f64() * 1000.0;
        println!(
            "    {:<26} {:>8.1} / {:>7.1}",
            name,
            ms(percentile(&d, 0.50)),
            ms(percentile(&d, 0.99))
        );
    }
}

/// Each node's CPU per transaction and share of one core, then the machine's load (local networks).
fn print_cpu(cpu: &Sample, elapsed: Duration, per_tx: &dyn Fn(f64) -> f64) {
    if cpu.nodes.is_empty() {
        return;
    }
    let core = |secs: f64| 100.0 * secs / elapsed.as_secs_f64();
    println!("  CPU per tx (ms) and share of one core, by process:");
    let total: f64 = cpu.nodes.iter().map(|(_, c)| c).sum::<f64>() + cpu.bench;
    for (name, secs) in cpu.nodes.iter().chain([&("bench".to_string(), cpu.bench)]) {
        println!("    {:<40} {:>8.3} {:>6.0}%", name, per_tx(*secs), core(*secs));
    }
    println!(
        "    {:<40} {:>8.3} {:>6.0}%",
        "all of the above",
        per_tx(total),
        core(total)
    );
    println!(
        "  {:<28} {:>11.0}%",
        "machine busy (100% = 1 core)",
        core(cpu.machine)
    );
}

/// Endorse, submit and commit-wait durations of a submitted transaction.
type Phases = Option<[Duration; 3]>;

/// One transaction: its validation code name and phases, or an error description.
async fn one(gw: &GatewayClient, args: &BenchArgs, id: &str, n: u64) -> Result<(String, Phases), String> {
    let none = BTreeMap::new();
    match args.workload {
        Workload::Read => {
            let key = format!("bench-seed-{}", n % 100);
            gw.evaluate(
                &args.channel,
                args.chaincode(),
                &[b"ReadAsset".to_vec(), key.into_bytes()],
                &none,
            )
            .await
            .map(|_| ("VALID".to_string(), None))
            .map_err(short)
        }
        Workload::Write => {
            let color = "x".repeat(args.payload.max(1));
            let a: Vec<Vec<u8>> = ["CreateAsset", id, &color, "5", "Synthetic Bench Owner", "100"]
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect();
            submit_and_wait(gw, args, &a, &none).await
        }
        Workload::PrivateWrite => {
            let props = serde_json::json!({
                "objectType": "asset",
                "assetID": id,
                "color": "x".repeat(args.payload.max(1)),
                "size": 5,
                "appraisedValue": 100,
            });
            let transient =
                BTreeMap::from([("asset_properties".to_string(), props.to_string().into_bytes())]);
            submit_and_wait(gw, args, &[b"CreateAsset".to_vec()], &transient).await
        }
        Workload::Claims => {
            let (call, transient) = crate::bench_claims::submit(id, n);
            submit_and_wait(gw, args, &call, &transient).await
        }
    }
}

/// Endorse, submit and wait for the commit status of one transaction.
async fn submit_and_wait(
    gw: &GatewayClient,
    args: &BenchArgs,
    a: &[Vec<u8>],
    transient: &BTreeMap<String, Vec<u8>>,
) -> Result<(String, Phases), String> {
    let t0 = Instant::now();
    let p = gw.proposal(&args.channel, args.chaincode(), a, transient);
    let prepared = gw
        .endorse(&args.channel, &p, &args.endorsing_orgs)
        .await
        .map_err(short)?;
    let t1 = Instant::now();
    gw.submit(&prepared).await.map_err(short)?;
    let t2 = Instant::now();
    let (code, _) = gw
        .commit_status(&args.channel, &prepared.tx_id)
        .await
        .map_err(short)?;
    let phases = [t1 - t0, t2 - t1, t2.elapsed()];
    Ok((code.as_str_name().to_string(), Some(phases)))
}

fn short(e: ClientError) -> String {
    let s = e.to_string();
    s.chars().take(120).collect()
}

async fn seed(gw: &GatewayClient, args: &BenchArgs) -> anyhow::Result<()> {
    let none = BTreeMap::new();
    for i in 0..100 {
        let id = format!("bench-seed-{i}");
        let exists = gw
            .evaluate(
                &args.channel,
                args.chaincode(),
                &[b"AssetExists".to_vec(), id.clone().into_bytes()],
                &none,
            )
            .await?;
        if exists == b"true" {
            continue;
        }
        let a: Vec<Vec<u8>> = ["CreateAsset", &id, "seed", "1", "Synthetic Seed Owner", "1"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        gw.submit_transaction(&args.channel, args.chaincode(), &a, &none)
            .await
            .context("seeding assets for the read workload")?;
    }
    Ok(())
}

fn report(args: &BenchArgs, s: &Stats, elapsed: Duration, cpu: &Sample) -> anyhow::Result<()> {
    let mut lat = s.latencies.clone();
    lat.sort();
    let done: u64 = s.codes.values().sum();
    let valid = s.codes.get("VALID").copied().unwrap_or(0);
    let errors: u64 = s.errors.values().sum();
    let tps = valid as f64 / elapsed.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let per_tx = |secs: f64| {
        if done > 0 {
            secs * 1000.0 / done as f64
        } else {
            0.0
        }
    };
    let cpu_per_tx_ms = per_tx(cpu.bench);
    println!(
        "\ncarechain bench: {:?} on {}/{}, {} clients, {:.1} s",
        args.workload,
        args.channel,
        args.chaincode(),
        args.clients,
        elapsed.as_secs_f64()
    );
    println!("  {:<28} {:>12}", "submitted", done + errors);
    for (code, n) in &s.codes {
        println!("  {:<28} {:>12}", code, n);
    }
    for (e, n) in &s.errors {
        println!("  error: {:<21} {:>12}", e, n);
    }
    println!("  {:<28} {:>12.1}", "throughput (VALID tx/s)", tps);
    println!(
        "  {:<28} {:>12.1}",
        "latency p50 (ms)",
        ms(percentile(&lat, 0.50))
    );
    println!(
        "  {:<28} {:>12.1}",
        "latency p90 (ms)",
        ms(percentile(&lat, 0.90))
    );
    println!(
        "  {:<28} {:>12.1}",
        "latency p99 (ms)",
        ms(percentile(&lat, 0.99))
    );
    println!(
        "  {:<28} {:>12.1}",
        "latency max (ms)",
        ms(lat.last().copied().unwrap_or_default())
    );
    print_phases(s);
    println!("  {:<28} {:>12.3}", "bench CPU per tx (ms)", cpu_per_tx_ms);
    print_cpu(cpu, elapsed, &per_tx);
    if let Some(path) = &args.json {
        let j = serde_json::json!({
            "workload": args.workload,
            "channel": args.channel,
            "chaincode": args.chaincode(),
            "clients": args.clients,
            "rate": args.rate,
            "payload_bytes": args.payload,
            "seconds": elapsed.as_secs_f64(),
            "submitted": done + errors,
            "codes": s.codes,
            "errors": s.errors,
            "throughput_tps": tps,
            "latency_ms": {
                "p50": ms(percentile(&lat, 0.50)), "p90": ms(percentile(&lat, 0.90)),
                "p99": ms(percentile(&lat, 0.99)), "max": ms(lat.last().copied().unwrap_or_default()),
            },
            "bench_cpu_ms_per_tx": cpu_per_tx_ms,
            "node_cpu_ms_per_tx": cpu.nodes.iter().map(|(n, c)| (n.clone(), per_tx(*c))).collect::<BTreeMap<_, _>>(),
            "machine_busy_pct": 100.0 * cpu.machine / elapsed.as_secs_f64(),
            "phase_p50_p99_ms": phases_json(s),
        });
        std::fs::write(path, serde_json::to_string_pretty(&j)?)?;
    }
    if valid == 0 {
        bail!("no transaction succeeded");
    }
    Ok(())
}
