//! `carechain`: the operator binary. Every subcommand is a thin shell over a library crate: crypto
//! material (`carechain-crypto`), nodes (`carechain-peer`, `carechain-orderer`), clients of the gateway
//! (`carechain-gateway`). Errors here are `anyhow`, printed with their full cause chain.

mod analytics_cmd;
mod bench;
mod bench_claims;
mod bench_cpu;
mod bench_target;
mod ca_cmd;
mod chaincode_cmd;
mod channel_cmd;
mod channel_update_cmd;
mod crypto;
mod demo;
mod logging;
mod network_cmd;
mod orderer_cmd;
mod peer_cmd;

use clap::{Parser, Subcommand};

/// carechain: a permissioned ledger for healthcare consortia, in the style of Hyperledger Fabric.
#[derive(Parser)]
#[command(name = "carechain", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Crypto material: generate MSP and TLS certificates for a consortium (like Fabric's cryptogen).
    Crypto {
        #[command(subcommand)]
        command: crypto::CryptoCommand,
    },
    /// Peer nodes.
    Peer {
        #[command(subcommand)]
        command: peer_cmd::PeerCommand,
    },
    /// Ordering nodes.
    Orderer {
        #[command(subcommand)]
        command: orderer_cmd::OrdererCommand,
    },
    /// Channels: genesis blocks and channel participation.
    Channel {
        #[command(subcommand)]
        command: channel_cmd::ChannelCommand,
    },
    /// A local consortium network: up, down, status.
    Network {
        #[command(subcommand)]
        command: network_cmd::NetworkCommand,
    },
    /// Load generator through the Fabric Gateway protocol (local network or a Fabric connection profile).
    Bench(bench::BenchArgs),
    /// Drive the healthcare story through a running local network, step by step.
    Demo {
        /// Network description (default: the one `network up` used in this `$CARECHAIN_HOME`, else
        /// `network/network.yaml`).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Invoke and query contracts through a peer's gateway.
    Chaincode {
        #[command(subcommand)]
        command: chaincode_cmd::ChaincodeCommand,
    },
    /// The organization's certificate authority: start, register, enroll, re-enroll, revoke, CRLs.
    Ca {
        #[command(subcommand)]
        command: ca_cmd::CaCommand,
    },
    /// The off-chain de-identified dataset: sync it from a channel; query, export and report (analysts).
    Analytics {
        #[command(subcommand)]
        command: analytics_cmd::AnalyticsCommand,
    },
}

fn run_async(cmd: Command) -> anyhow::Result<()> {
    carechain_transport::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cmd {
            Command::Peer { command } => peer_cmd::run(command).await,
            Command::Orderer { command } => orderer_cmd::run(command).await,
            Command::Channel { command } => channel_cmd::run(command).await,
            Command::Chaincode { command } => chaincode_cmd::run(command).await,
            Command::Network { command } => network_cmd::run(command).await,
            Command::Demo { config } => {
                let home = carechain::launcher::home::Home::from_env();
                demo::run(home.network_config(config)).await
            }
            Command::Bench(args) => bench::run(args).await,
            Command::Ca { command } => ca_cmd::run(command).await,
            Command::Analytics { command } => analytics_cmd::run(command).await,
            Command::Crypto { command } => crypto::run(command),
        }
    })
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let node = matches!(cli.command, Command::Peer { .. } | Command::Orderer { .. });
    logging::init(if node { "info,openraft=warn" } else { "warn" });
    let result = match cli.command {
        Command::Crypto { command } => crypto::run(command),
        other => run_async(other),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
