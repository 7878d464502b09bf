//! `carechain peer start`: run a peer process until interrupted.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;

/// Private data subcommands.
#[derive(Subcommand)]
pub enum PvtDataCommand {
    /// Private data this peer's organization is entitled to but does not hold yet (being reconciled
    /// from other member peers).
    Missing {
        /// Channel.
        #[arg(long)]
        channel: String,
        #[command(flatten)]
        client: carechain::identity::ClientArgs,
    },
}

/// Peer subcommands.
#[derive(Subcommand)]
pub enum PeerCommand {
    /// Private data status of a peer.
    Pvtdata {
        #[command(subcommand)]
        command: PvtDataCommand,
    },
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
        PeerCommand::Pvtdata {
            command: PvtDataCommand::Missing { channel, client },
        } => {
            let mut admin =
                carechain::admin::NodeAdmin::connect(&client.address, &client.tls()?, client.signer()?)
                    .await?;
            let missing = admin.missing_private_data(&channel).await?;
            if missing.is_empty() {
                println!("no private data missing on {channel}");
            }
            for m in missing {
                println!(
                    "block {:>6} tx {:>4}  {}/{}",
                    m.block, m.tx, m.namespace, m.collection
                );
            }
            Ok(())
        }
        PeerCommand::Start { config } => {
            let cfg = carechain::nodeconfig::load_peer(&config)?;
            let log: carechain_peer::admin::LogControl = Arc::new(crate::logging::Logs);
            let running = carechain_peer::start(cfg, Some(log)).await?;
            println!("peer listening on {}", running.address);
            if let Some(ops) = running.ops_address {
                println!("operations endpoint on http://{ops}");
            }
            tokio::select! {
                r = running.wait() => r?,
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
            }
            Ok(())
        }
    }
}
