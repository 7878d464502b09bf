//! What one committed block means to the analytics store: its place in the chain, the channel
//! configuration it may carry, and, in transaction order, the de-identified entries to add and the research
//! consents revoked.
//!
//! Only VALID transactions count (the peer's TRANSACTIONS_FILTER, read through `peer_core::summary`), and
//! only events of the followed chaincode: `DeidentifiedEntry` (sanitized by [`crate::safeharbor`]) and
//! `ConsentRevoked` carrying a `researchToken`. Pure: a block in, [`BlockEffects`] out.

use carechain_channel::block::{check_chain, header_hash};
use carechain_channel::config::ChannelConfig;
use carechain_proto::common::{Block, ChannelHeader, Envelope, HeaderType, Payload};
use peer_core::summary::BlockSummary;
use prost::Message;

use crate::safeharbor::{Rejected, RestrictedZip3, Sanitized, is_token, sanitize};

/// Event of a record written for a patient with an active research consent (`records` contract).
pub const DEIDENTIFIED_ENTRY: &str = "DeidentifiedEntry";
/// Event of a revoked consent; carries `researchToken` when it was a research consent.
pub const CONSENT_REVOKED: &str = "ConsentRevoked";

/// One change to the store, in block order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Add a row for the patient behind the token.
    Entry(Sanitized),
    /// Remove every row of the patient behind the token, and forget the patient.
    Revoke {
        /// The research token named by the revocation.
        token: String,
    },
}

/// An event that could not be used (logged and counted; the block still applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Index of the transaction in the block.
    pub tx: usize,
    /// Why (names fields, never values).
    pub reason: Rejected,
}

/// What a block changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEffects {
    /// Block number.
    pub number: u64,
    /// Header hash (the next block's previous hash).
    pub hash: [u8; 32],
    /// The previous block's header hash, as this block names it.
    pub previous_hash: Vec<u8>,
    /// The block itself, when it is a config block (analyst checks use the latest one).
    pub config: Option<Vec<u8>>,
    /// Changes, in transaction order.
    pub ops: Vec<Op>,
    /// Events that were not used.
    pub skipped: Vec<Skipped>,
    /// Names of fields dropped from entries, for the log.
    pub dropped_fields: Vec<String>,
}

/// A block that cannot be applied at all.
#[derive(Debug, thiserror::Error)]
pub enum BlockDecodeError {
    /// Missing header, or data that does not match the header's data hash.
    #[error(transparent)]
    Chain(#[from] carechain_channel::block::BlockError),
    /// A config block whose configuration does not parse.
    #[error("block {number}: configuration does not parse: {reason}")]
    Config {
        /// Block number.
        number: u64,
        /// The parser's message.
        reason: String,
    },
}

/// Decodes `block` for the store following `chaincode`.
pub fn effects(
    block: &Block,
    chaincode: &str,
    restricted: &RestrictedZip3,
) -> Result<BlockEffects, BlockDecodeError> {
    check_chain(block, None)?;
    let header = block.header.clone().unwrap_or_default();
    let number = header.number;
    let config = if is_config_block(block) {
        ChannelConfig::from_block(block).map_err(|e| BlockDecodeError::Config {
            number,
            reason: e.to_string(),
        })?;
        Some(block.encode_to_vec())
    } else {
        None
    };
    let mut out = BlockEffects {
        number,
        hash: header_hash(&header),
        previous_hash: header.previous_hash.to_vec(),
        config,
        ops: Vec::new(),
        skipped: Vec::new(),
        dropped_fields: Vec::new(),
    };
    let summary = BlockSummary::from_block(block);
    for (tx, t) in summary.txs.iter().enumerate() {
        let Some(event) = t.event.as_ref().filter(|e| e.chaincode_id == chaincode) else {
            continue;
        };
        match event.event_name.as_str() {
            DEIDENTIFIED_ENTRY => match sanitize(&event.payload, restricted) {
                Ok(entry) => {
                    out.dropped_fields.extend(entry.dropped.iter().cloned());
                    out.ops.push(Op::Entry(entry));
                }
                Err(reason) => out.skipped.push(Skipped { tx, reason }),
            },
            CONSENT_REVOKED => {
                if let Some(token) = revoked_token(&event.payload) {
                    out.ops.push(Op::Revoke { token });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The research token of a `ConsentRevoked` payload, if it names one.
fn revoked_token(payload: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    v.get("researchToken")
        .and_then(|t| t.as_str())
        .filter(|t| is_token(t))
        .map(str::to_string)
}

fn is_config_block(block: &Block) -> bool {
    block
        .data
        .as_ref()
        .and_then(|d| d.data.first())
        .and_then(|raw| Envelope::decode(raw.as_ref()).ok())
        .and_then(|e| Payload::decode(e.payload.as_ref()).ok())
        .and_then(|p| p.header)
        .and_then(|h| ChannelHeader::decode(h.channel_header.as_ref()).ok())
        .is_some_and(|ch| ch.r#type == HeaderType::Config as i32)
}

#[cfg(test)]
mod tests;
