//! Checking a block as delivered by an orderer, before any transaction is looked at: it continues the
//! hash chain this peer holds, and it carries signatures by orderer identities that satisfy the
//! channel's `/Channel/Orderer/BlockValidation` policy. A peer never validates, let alone commits, a
//! block the ordering service did not sign.

use std::sync::Arc;

use carechain_channel::block::{self, BlockError};
use carechain_channel::{ChannelConfig, PolicyError};
use carechain_crypto::msp::Identity;
use carechain_proto::common::{Block, SignatureHeader};
use prost::Message;

/// The policy block signatures must satisfy.
pub const BLOCK_VALIDATION: &str = "/Channel/Orderer/BlockValidation";

/// Why a delivered block was refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockCheckError {
    /// Structure or hash chain.
    #[error(transparent)]
    Chain(#[from] BlockError),
    /// The block carries no orderer signature.
    #[error("block {0} carries no orderer signature")]
    Unsigned(u64),
    /// Signatures do not satisfy the channel's BlockValidation policy.
    #[error("block {number}: {source}")]
    Policy {
        /// Block number.
        number: u64,
        /// The policy failure.
        source: PolicyError,
    },
}

/// Checks `block` against the previous block's header hash and the channel's orderer policy.
pub fn check_delivered_block(
    block: &Block,
    prev_hash: Option<&[u8; 32]>,
    channel: &ChannelConfig,
) -> Result<(), BlockCheckError> {
    block::check_chain(block, prev_hash)?;
    check_signatures(block, channel)
}

/// Checks only the orderer signatures of `block` against `channel`'s BlockValidation policy (a block
/// whose predecessors are not known, such as the latest config block a newly added org joins with).
pub fn check_signatures(block: &Block, channel: &ChannelConfig) -> Result<(), BlockCheckError> {
    let header = block.header.as_ref().ok_or(BlockError::Missing("header"))?;
    let md = block::signatures(block)?.ok_or(BlockCheckError::Unsigned(header.number))?;
    let mut signers: Vec<Arc<Identity>> = Vec::new();
    for s in &md.signatures {
        let Ok(sh) = SignatureHeader::decode(s.signature_header.as_ref()) else {
            continue;
        };
        let msg = block::signed_bytes(&md.value, &s.signature_header, header);
        // Orderer identities are checked at the current time: a block is signed when it is cut.
        if let Ok(id) = channel.msps.verify_signature(&sh.creator, &msg, &s.signature)
            && !signers.iter().any(|x| x.id() == id.id())
        {
            signers.push(id);
        }
    }
    if signers.is_empty() {
        return Err(BlockCheckError::Unsigned(header.number));
    }
    channel
        .evaluate(BLOCK_VALIDATION, &signers)
        .map_err(|source| BlockCheckError::Policy {
            number: header.number,
            source,
        })
}
