//! Joining a channel (channel participation): what a JoinChannel block must be, and how an orderer
//! added to a running channel gets the chain so far. It is how an orderer enters a channel's ordering
//! stage of endorse → order → validate.
//!
//! A channel is joined from its genesis block, or — for an orderer added as a consenter by a config
//! update, as Fabric's channel participation allows — from a later config block that lists it (the
//! latest one, from `carechain channel fetch --config`), optionally with the genesis block. The block
//! must be intact, carry a configuration, and name this orderer among its consenters. An orderer
//! joining from config block N pulls blocks 0..=N from the other consenters of that configuration
//! ([`onboard`]), checks that they form one hash chain ending exactly in the block it was given (and
//! starting with the genesis block, if given), signs its own copies and stores them; it then takes
//! part in Raft, where the leader has been replicating to it since the update committed.

use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_channel::block::{check_chain, header_hash, last_config_index};
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;

use crate::OrdererError;
use crate::ordering::sign_block;
use crate::raft::network::ConsenterBlocks;
use crate::raft::settings::Members;
use crate::raft::state_machine::BlockSource;
use crate::store::BlockStore;

/// A validated JoinChannel request.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    /// The configuration to start with (that of `anchor`).
    pub config: ChannelConfig,
    /// The genesis block, when given.
    pub genesis: Option<Block>,
    /// The config block joined from: the genesis block, or a later config block.
    pub anchor: Block,
}

impl JoinPlan {
    /// Whether the orderer joins from a later config block and must pull the blocks before it.
    pub fn onboarding(&self) -> bool {
        number(&self.anchor) > 0
    }
}

fn number(block: &Block) -> u64 {
    block.header.as_ref().map_or(0, |h| h.number)
}

/// Checks a JoinChannel request: `block` is the genesis block or a later config block; `latest`, when
/// given, is a later config block of the same channel (then `block` must be the genesis block). The
/// configuration joined from must name this orderer (`own_tls_cert_der`) among its consenters.
pub fn validate_join(
    block: &Block,
    latest: Option<&Block>,
    own_tls_cert_der: &[u8],
) -> Result<JoinPlan, OrdererError> {
    let bad = OrdererError::BadRequest;
    let genesis = match latest {
        Some(_) if number(block) != 0 => {
            return Err(bad(format!(
                "JoinChannel with a latest config block takes the genesis block (number 0) as its first block; got block {}",
                number(block)
            )));
        }
        Some(_) => Some(parse(block, "genesis block")?.1),
        None if number(block) == 0 => Some(parse(block, "genesis block")?.1),
        None => None,
    };
    let anchor = latest.unwrap_or(block);
    let (config, anchor) = parse(anchor, "join block")?;
    if let Some(g) = &genesis {
        let gc = ChannelConfig::from_block(g).map_err(|e| bad(e.to_string()))?;
        if gc.channel_id != config.channel_id {
            return Err(bad(format!(
                "the latest config block belongs to channel {}, the genesis block to {}",
                config.channel_id, gc.channel_id
            )));
        }
    }
    carechain_channel::check_channel_id(&config.channel_id).map_err(|e| bad(e.to_string()))?;
    Members::from_config(&config.channel_id, &config.orderer.consenters, own_tls_cert_der).map_err(|e| match e {
        OrdererError::Refused(m) => OrdererError::Refused(format!(
            "{m}; an orderer added to the channel by a config update joins with the latest config block that lists it (carechain channel fetch --config)"
        )),
        other => other,
    })?;
    Ok(JoinPlan {
        config,
        genesis,
        anchor,
    })
}

/// An intact config block and its configuration.
fn parse(block: &Block, what: &str) -> Result<(ChannelConfig, Block), OrdererError> {
    let bad = OrdererError::BadRequest;
    if block.header.is_none() {
        return Err(bad(format!("the {what} has no header")));
    }
    check_chain(block, None).map_err(|e| bad(format!("the {what} is damaged: {e}")))?;
    let config = ChannelConfig::from_block(block).map_err(|e| {
        bad(format!(
            "the {what} (block {}) does not carry a valid channel configuration: {e}",
            number(block)
        ))
    })?;
    Ok((config, block.clone()))
}

/// Pulls blocks `0..=N` (N the plan's anchor) from `source`, checks they chain up to the anchor, signs
/// them as `signer` and appends them to the empty `store`.
pub async fn onboard(
    plan: &JoinPlan,
    store: Arc<BlockStore>,
    source: &ConsenterBlocks,
    signer: Arc<SigningIdentity>,
) -> Result<(), OrdererError> {
    let channel = plan.config.channel_id.clone();
    let anchor_number = number(&plan.anchor);
    let anchor_hash = plan.anchor.header.as_ref().map(header_hash);
    let refused = |detail: String| {
        OrdererError::Refused(format!(
            "joining channel {channel} from config block {anchor_number}: {detail}"
        ))
    };
    while store.height() <= anchor_number {
        let next = store.height();
        let blocks = source
            .fetch(next, anchor_number + 1)
            .await
            .map_err(|e| refused(e.to_string()))?;
        let mut checked = Vec::with_capacity(blocks.len());
        let mut tip = store.tip();
        for block in blocks {
            let n = number(&block);
            if n != tip.height || n > anchor_number {
                return Err(refused(format!(
                    "a consenter served block {n} where block {} was expected",
                    tip.height
                )));
            }
            let prev = (n > 0).then_some(&tip.hash);
            check_chain(&block, prev).map_err(|e| refused(format!("served blocks do not chain: {e}")))?;
            if n == 0 && plan.genesis.as_ref().is_some_and(|g| g.header != block.header) {
                return Err(refused(
                    "the consenters' genesis block is not the one given".into(),
                ));
            }
            let header = block.header.clone().unwrap_or_default();
            if n == anchor_number && Some(header_hash(&header)) != anchor_hash {
                return Err(refused(format!(
                    "the consenters' block {n} is not the config block given: the chains differ"
                )));
            }
            tip = crate::ordering::ChainTip {
                height: n + 1,
                hash: header_hash(&header),
            };
            checked.push(block);
        }
        let (store, signer) = (store.clone(), signer.clone());
        tokio::task::spawn_blocking(move || append_signed(&store, &signer, checked))
            .await
            .map_err(|e| OrdererError::Internal(format!("block append task failed: {e}")))??;
    }
    tracing::info!(%channel, height = store.height(), "pulled the chain up to the join block");
    Ok(())
}

/// Signs pulled blocks as this orderer, keeping what the serving orderer recorded (last config index,
/// the Raft log id), and appends them. The genesis block is stored as it is (no orderer signs it).
fn append_signed(
    store: &BlockStore,
    signer: &SigningIdentity,
    blocks: Vec<Block>,
) -> Result<(), OrdererError> {
    for mut block in blocks {
        if number(&block) == 0 {
            store.append(&block)?;
            continue;
        }
        let last_config = last_config_index(&block).map_err(|e| OrdererError::store(store.channel(), e))?;
        let metadata = crate::raft::consenter_metadata(&block);
        sign_block(&mut block, signer, last_config, metadata)?;
        store.append(&block)?;
    }
    Ok(())
}
