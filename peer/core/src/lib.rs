//! The pure core of a carechain peer: everything a peer decides, with no I/O.
//!
//! # Layout
//! - [`state`]: versions, the [`state::StateView`] trait simulation and validation read through, and
//!   [`state::BlockUpdates`], what a validated block changes.
//! - [`rwset`]: building (endorsement) and decoding (validation) Fabric read/write sets.
//! - [`mvcc`]: the sequential read-version and phantom checks of validation.
//!
//! The async shells in `carechain-peer` feed these functions bytes from the network and hand their
//! results to the RocksDB ledger; the functions themselves never touch a socket, a file or a runtime, so
//! unit tests run them on in-memory state.

pub mod block;
pub mod blocksig;
pub mod collection;
pub mod configtx;
pub mod endorse;
pub mod lifecycle;
pub mod mvcc;
pub mod policy;
pub mod proposal;
pub mod pvtapply;
pub mod pvtrwset;
pub mod rwset;
pub mod simulator;
pub mod state;
pub mod summary;
pub mod txbuild;
pub mod txcheck;
