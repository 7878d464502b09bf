//! `carechain crypto generate`: cryptogen-style crypto material from a YAML spec, in Fabric's
//! directory layout.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

/// Crypto subcommands.
#[derive(Subcommand)]
pub enum CryptoCommand {
    /// Generate CAs, node and user identities (MSP + TLS) for every org of a spec.
    Generate {
        /// The spec (orderer and peer orgs, nodes, users with attributes).
        #[arg(long, default_value = "crypto-config/crypto-config.yaml")]
        config: PathBuf,
        /// Output directory (`peerOrganizations/`, `ordererOrganizations/` are created inside).
        #[arg(long, default_value = "crypto")]
        output: PathBuf,
        /// Replace existing org directories instead of refusing.
        #[arg(long)]
        overwrite: bool,
    },
}

/// Runs a crypto subcommand.
pub fn run(cmd: CryptoCommand) -> anyhow::Result<()> {
    match cmd {
        CryptoCommand::Generate {
            config,
            output,
            overwrite,
        } => {
            let summary = carechain_crypto::cryptogen::generate(&config, &output, overwrite)
                .with_context(|| format!("generating crypto material from {}", config.display()))?;
            for org in &summary.orgs {
                println!(
                    "{:<14} {:<18} {:>2} nodes {:>2} users  {}",
                    org.name,
                    org.msp_id,
                    org.nodes.len(),
                    org.users.len(),
                    org.dir.display()
                );
            }
            println!(
                "wrote crypto material for {} organizations to {}",
                summary.orgs.len(),
                output.display()
            );
            Ok(())
        }
    }
}
