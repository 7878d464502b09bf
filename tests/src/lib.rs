//! Test harness for black-box tests of carechain: a real network of `carechain` processes (orderers and
//! peers) on 127.0.0.1 with mutual TLS between nodes, real RocksDB and certificates from cryptogen.
//! Tests drive it through the gateway as users would, and can kill -9 and restart nodes.
//!
//! - [`net`]: build, start, kill and restart the network (its files on disk: `layout`).
//! - [`cli`]: run the `carechain` binary as an operator (success, refusals, flags for a node).
//! - [`lifecycle`]: deploy chaincode definitions (approve per org, commit).
//! - [`probe`]: observe it from outside (blocks with validation codes, state, snapshots, raw clients).
//! - [`scan`]: look for canaries (marked private strings) in blocks, databases, files and logs.
//! - [`tamper`]: rewrite signed proposals and transactions the way an attacker or a buggy client would.

pub mod cli;
mod layout;
pub mod lifecycle;
pub mod net;
pub mod probe;
pub mod scan;
pub mod tamper;

pub use net::{NamedUser, NetSpec, Node, TestNet};
pub use probe::{Snapshot, args};
