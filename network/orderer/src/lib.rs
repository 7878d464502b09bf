//! The ordering service: the "order" of endorse → order → validate. Clients (through the gateway)
//! broadcast endorsed, signed transactions; the orderers of a channel agree on their order, cut them
//! into blocks, sign and store the hash-chained blocks; peers pull the blocks with Deliver and validate
//! them. The orderer never executes or validates transaction contents beyond who sent them.
//!
//! # Layout
//!
//! Pure, synchronous logic:
//! - [`cutter`]: Fabric's block-cutting rules (count, preferred bytes, timeout decisions).
//! - [`ordering`]: block numbering and hash chaining, leader/follower state, block signing.
//! - [`envelope`]: header parsing, clock-skew bound, creator signature and channel policy checks.
//! - [`msgprocessor`]: per message kind, what is checked before ordering (and again after a config
//!   change); config updates become CONFIG transactions.
//!
//! Async shells and storage:
//! - [`consensus`]: the seam between the chain and consensus (the [`consensus::Consensus`] trait).
//! - [`raft`]: Raft consensus (openraft): one group per channel among its consenters, the Raft log in
//!   RocksDB, mutual-TLS gRPC between orderers, catch-up from the log or a snapshot.
//! - [`chain`]: one actor per channel: cutter + batch timer on the leader, sign-and-append everywhere.
//! - [`store`]: one RocksDB block store per channel, crash-consistent appends.
//! - [`registry`]: the served channels; joining, reopening, and the per-channel wiring.
//! - [`handle`]: one served channel (configuration in force, consensus while a consenter) and how it
//!   follows config blocks; [`join`]: joining from a genesis or a later config block.
//! - [`broadcast`], [`deliver`], [`admin`]: the gRPC surfaces.
//! - [`node`]: [`OrdererNode::start`] → [`RunningOrderer`], ports, TLS and graceful shutdown.
//! - [`config`] and [`error`]: [`OrdererConfig`] and the crate's one error type with its status mapping.

pub mod admin;
pub mod broadcast;
pub mod chain;
pub mod config;
pub mod consensus;
pub mod cutter;
pub mod deliver;
pub mod envelope;
pub mod error;
pub mod handle;
pub mod join;
pub mod msgprocessor;
pub mod node;
pub mod ordering;
pub mod raft;
pub mod registry;
pub mod store;

pub use config::OrdererConfig;
pub use error::OrdererError;
pub use node::{ChannelStatus, NodeHooks, OrdererNode, RunningOrderer, StatusHandle};

/// Resolves once the node's shutdown flag is set (or its sender is gone).
pub(crate) async fn stop_requested(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
