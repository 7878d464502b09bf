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
        /// Network description.
        #[arg(long, default_value = "network/network.yaml")]
        config: PathBuf,
    },
    /// Stop every process of the network.
    Down {
        /// Network description.
        #[arg(long, default_value = "network/network.yaml")]
        config: PathBuf,
        /// Also delete all data (`$CARECHAIN_HOME`).
        #[arg(long)]
        clean: bool,
    },
    /// Health and height of every node.
    Status {
        /// Network description.
        #[arg(long, default_value = "network/network.yaml")]
        config: PathBuf,
    },
}

/// Runs a network subcommand.
pub async fn run(cmd: NetworkCommand) -> anyhow::Result<()> {
    let home = Home::from_env();
    match cmd {
        NetworkCommand::Up { config } => {
            let t = Topology::new(NetworkSpec::load(&config)?)?;
            carechain::launcher::up(&t, &home).await
        }
        NetworkCommand::Down { config, clean } => {
            let t = Topology::new(NetworkSpec::load(&config)?)?;
            carechain::launcher::down(&t, &home, clean)
        }
        NetworkCommand::Status { config } => {
            let t = Topology::new(NetworkSpec::load(&config)?)?;
            if carechain::launcher::status(&t, &home).await? {
                Ok(())
            } else {
                anyhow::bail!("some nodes are not healthy")
            }
        }
    }
}
