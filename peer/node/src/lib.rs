//! The carechain peer: the process that endorses (simulates contracts and signs results), validates
//! and commits blocks, and hosts the Fabric Gateway for its organization's clients.
//!
//! # Layout
//! - [`peer`]: shared state; `process_proposal` (endorse) and `join` (channel participation).
//! - [`channel`]: one joined channel: ledger, configuration, commit notifications.
//! - [`puller`] → [`committer`]: the validate pipeline, one actor each per channel.
//! - [`endorser`], [`deliver`], [`admin`]: gRPC services; [`context`]: the gateway's view of the peer.
//! - [`node`]: wiring and startup; [`config`]: settings; [`error`]: errors and their status mapping.

pub mod admin;
pub mod chaincodes;
pub mod channel;
pub mod committer;
pub mod config;
pub mod context;
pub mod deliver;
pub mod endorser;
pub mod error;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod puller;
pub mod pvtdata;
pub mod reconciler;

pub use config::{PeerConfig, TlsFiles};
pub use error::PeerError;
pub use node::{RunningPeer, start};
