//! Test harness for black-box tests of carechain: a real network of `carechain` processes (orderers and
//! peers) on 127.0.0.1 with mutual TLS between nodes, real RocksDB and certificates from cryptogen.
//! Tests drive it through the gateway as users would, and can kill -9 and restart nodes.

pub mod net;

pub use net::{NetSpec, Node, TestNet};
