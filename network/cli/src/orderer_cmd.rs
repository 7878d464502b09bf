//! `carechain orderer start`: run an ordering node until interrupted, with its operations endpoint
//! (`/healthz`, `/metrics`, `/logspec`) beside it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use carechain_orderer::admin::LogControl;
use carechain_orderer::{NodeHooks, OrdererConfig, OrdererNode, StatusHandle};
use clap::Subcommand;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Orderer subcommands.
#[derive(Subcommand)]
pub enum OrdererCommand {
    /// Start an ordering node from a configuration file.
    Start {
        /// Orderer configuration (YAML).
        #[arg(long)]
        config: PathBuf,
    },
}

struct Logs;

impl LogControl for Logs {
    fn set_filter(&self, filter: &str) -> Result<String, String> {
        crate::logging::set_filter(filter)
    }
}

/// Runs an orderer subcommand.
pub async fn run(cmd: OrdererCommand) -> anyhow::Result<()> {
    match cmd {
        OrdererCommand::Start { config } => {
            let cfg = carechain::nodeconfig::load_orderer(&config)?;
            let ops_addr = cfg.operations_listen_address;
            let certs = own_certificates(&cfg)?;
            let hooks = NodeHooks {
                log_control: Some(Arc::new(Logs)),
            };
            let running = OrdererNode::start_with(cfg, hooks).await?;
            println!("orderer listening on {}", running.client_address());
            if let Some(addr) = ops_addr {
                let bound = serve_ops(running.status(), &certs, addr).await?;
                println!("operations endpoint on http://{bound}");
            }
            running
                .run_until(async {
                    let _ = tokio::signal::ctrl_c().await;
                    tracing::info!("interrupted; stopping");
                })
                .await?;
            Ok(())
        }
    }
}

/// The node's signing and TLS certificates (PEM), for the expiry gauge.
fn own_certificates(cfg: &OrdererConfig) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut out = vec![(
        "tls",
        std::fs::read(&cfg.tls.cert).with_context(|| format!("reading {}", cfg.tls.cert.display()))?,
    )];
    let signcerts = cfg.msp_dir.join("signcerts");
    if let Some(first) = std::fs::read_dir(&signcerts)
        .with_context(|| format!("reading {}", signcerts.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_file())
    {
        out.push(("signing", std::fs::read(first)?));
    }
    Ok(out)
}

type ChannelLabels = Vec<(String, String)>;

/// Serves `/healthz` (every joined channel readable), `/metrics` (height and leadership per channel,
/// certificate expiry) and `/logspec`.
async fn serve_ops(
    status: StatusHandle,
    certs: &[(&'static str, Vec<u8>)],
    addr: SocketAddr,
) -> anyhow::Result<SocketAddr> {
    let mut registry = Registry::default();
    let refs: Vec<(&str, &[u8])> = certs.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    carechain_ops::register_cert_expiry(&mut registry, &refs);
    let height = Family::<ChannelLabels, Gauge>::default();
    let leader = Family::<ChannelLabels, Gauge>::default();
    registry.register(
        "carechain_orderer_block_height",
        "Blocks in each channel's chain on this orderer",
        height.clone(),
    );
    registry.register(
        "carechain_orderer_is_leader",
        "1 when this orderer leads the channel's Raft group",
        leader.clone(),
    );
    let for_health = status.clone();
    let health: carechain_ops::HealthCheck = Arc::new(move || {
        for_health
            .channels()
            .into_iter()
            .map(|c| (format!("chain/{}", c.channel_id), Ok(())))
            .collect()
    });
    let refresh = Arc::new(move || {
        for c in status.channels() {
            let labels = vec![("channel".to_string(), c.channel_id.clone())];
            height.get_or_create(&labels).set(c.height as i64);
            leader.get_or_create(&labels).set(i64::from(c.role == "leader"));
        }
    });
    let log: Arc<dyn carechain_ops::LogSpec> = Arc::new(crate::logging::Logs);
    let ops = carechain_ops::Ops::new(registry, health, refresh, Some(log));
    ops.serve(addr)
        .await
        .with_context(|| format!("operations endpoint {addr}"))
}
