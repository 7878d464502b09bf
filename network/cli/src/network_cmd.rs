//! `carechain network up|down|status`: a whole local consortium network, one command.

use std::path::PathBuf;

use carechain::launcher::home::Home;
use carechain::launcher::spec::{NetworkSpec, Topology};
use clap::Subcommand;

/// Network subcommands.
#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Generate crypto material, create the channels, start every orderer and peer, join them, commit the
    /// chaincode definitions and write connection profiles. Idempotent. State lives in `$CARECHAIN_HOME`
    /// (default `./.carechain`).
    Up {
        /// Network description (default: the one `network up` used in this `$CARECHAIN_HOME`, else
        /// `network/network.yaml`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Stop every process of the network.
    Down {
        /// Network description (default: the one `network up` used in this `$CARECHAIN_HOME`, else
        /// `network/network.yaml`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also delete all data (`$CARECHAIN_HOME`).
        #[arg(long)]
        clean: bool,
    },
    /// Health and height of every node.
    Status {
        /// Network description (default: the one `network up` used in this `$CARECHAIN_HOME`, else
        /// `network/network.yaml`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs a network subcommand.
pub async fn run(cmd: NetworkCommand) -> anyhow::Result<()> {
    let home = Home::from_env();
    match cmd {
        NetworkCommand::Up { config } => {
            let config = home.network_config(config);
            let t = Topology::new(NetworkSpec::load(&config)?)?;
            home.record_config(&config)?;
            carechain::launcher::up(&t, &home).await
        }
        NetworkCommand::Down { config, clean } => {
            let t = Topology::new(NetworkSpec::load(&home.network_config(config))?)?;
            carechain::launcher::down(&t, &home, clean)
        }
        NetworkCommand::Status { config } => {
            let t = Topology::new(NetworkSpec::load(&home.network_config(config))?)?;
            if carechain::launcher::status(&t, &home).await? {
                Ok(())
            } else {
                anyhow::bail!("some nodes are not healthy")
            }
        }
    }
}
