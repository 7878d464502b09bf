//! The local-network launcher behind `carechain network up|down|status`: one command brings a whole
//! consortium up on 127.0.0.1 (crypto material, channels, 3 orderers and the peers of every org as
//! separate processes with mutual TLS, chaincode definitions, connection profiles), idempotently, with all
//! state under one home directory.

pub mod files;
pub mod home;
mod ops;
pub mod profiles;
pub mod spec;
mod up;

pub use ops::{down, status};
pub use up::up;
