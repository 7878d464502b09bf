//! `carechain peer start`: run a peer process until interrupted.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;

/// Peer subcommands.
#[derive(Subcommand)]
pub enum PeerCommand {
    /// Start a peer (endorser, committer, gateway) from a configuration file.
    Start {
        /// Peer configuration (YAML).
        #[arg(long)]
        config: PathBuf,
    },
}

/// Runs a peer subcommand.
pub async fn run(cmd: PeerCommand) -> anyhow::Result<()> {
    match cmd {
        PeerCommand::Start { config } => {
            let cfg = carechain::nodeconfig::load_peer(&config)?;
            let log: carechain_peer::admin::LogControl = Arc::new(|f: &str| crate::logging::set_filter(f));
            let running = carechain_peer::start(cfg, Some(log)).await?;
            println!("peer listening on {}", running.address);
            tokio::select! {
                r = running.wait() => r?,
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
            }
            Ok(())
        }
    }
}
