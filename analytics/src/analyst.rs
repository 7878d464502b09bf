//! The gate in front of `carechain analytics query|export|report`: the caller's certificate is checked
//! against the channel configuration the store holds ([`crate::access`]), and its key signs a fresh random
//! challenge, before any row is read.

use carechain_channel::config::ChannelConfig;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use prost::Message;
use ring::rand::SecureRandom;

use crate::access::{AccessError, Analyst, authorize};
use crate::store::{Store, StoreError};

/// Why an analyst command may not proceed.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store has not seen a config block yet.
    #[error(
        "the store holds no channel configuration yet: let `carechain analytics sync` apply block 0 first"
    )]
    NoConfig,
    /// The stored configuration does not parse.
    #[error("the stored channel configuration is unreadable: {0}")]
    Config(String),
    /// The identity is not an analyst.
    #[error("access denied: {0}")]
    Denied(#[from] AccessError),
    /// The system random source failed.
    #[error("the system random source failed")]
    Random,
}

/// Checks `signer` against the store's channel configuration; returns who was admitted.
pub fn admit(store: &mut Store, signer: &SigningIdentity) -> Result<Analyst, GateError> {
    let raw = store.config_block()?.ok_or(GateError::NoConfig)?;
    let block = Block::decode(raw.as_slice()).map_err(|e| GateError::Config(e.to_string()))?;
    let config = ChannelConfig::from_block(&block).map_err(|e| GateError::Config(e.to_string()))?;
    let mut challenge = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut challenge)
        .map_err(|_| GateError::Random)?;
    let signature = signer.sign(&challenge);
    Ok(authorize(
        &config,
        signer.serialize(),
        &challenge,
        &signature,
        time::OffsetDateTime::now_utc(),
    )?)
}
