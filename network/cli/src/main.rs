//! `carechain`: the operator binary. Every subcommand is a thin shell over a library crate: crypto
//! material (`carechain-crypto`), nodes (`carechain-peer`, `carechain-orderer`), clients of the gateway
//! (`carechain-gateway`). Errors here are `anyhow`, printed with their full cause chain.

mod crypto;
mod logging;

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init();
    let result = match cli.command {
        Command::Crypto { command } => crypto::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
