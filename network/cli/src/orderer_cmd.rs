//! `carechain orderer start`: run an ordering node until interrupted.

use std::path::PathBuf;
use std::sync::Arc;

use carechain_orderer::admin::LogControl;
use carechain_orderer::{NodeHooks, OrdererNode};
use clap::Subcommand;

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
            let hooks = NodeHooks {
                log_control: Some(Arc::new(Logs)),
            };
            let running = OrdererNode::start_with(cfg, hooks).await?;
            println!("orderer listening on {}", running.client_address());
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
