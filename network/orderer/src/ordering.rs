//! The deterministic heart of a channel's ordering: which batch becomes which block, how blocks are
//! numbered and hash-chained, and when the batch timer runs. It sits between consensus and the block
//! store in endorse → order → validate.
//!
//! A config transaction is cut into a block of its own (whatever is pending is cut first), and while
//! that block is in flight the leader takes no further envelopes, as Fabric's etcdraft does: the next
//! envelope is cut under the configuration the config block installs (the chain re-checks envelopes
//! checked against an older one), never behind a configuration it was not checked against.
//!
//! The model is Fabric's etcdraft: the **leader** feeds envelopes (in the order it received them) to
//! the [`BlockCutter`], turns each finished batch into the next block with a [`BlockCreator`] and
//! proposes it to consensus; the creator chains proposals on top of each other, so several blocks can
//! be in flight before the first commits. **Every** orderer (leader included) then takes committed
//! blocks in consensus order, checks that each extends its committed tip, signs it with its own
//! identity and stores it. No clocks, tasks or I/O live here: the [`crate::chain`] actor owns the timer
//! and the store and asks this module what to do.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use carechain_channel::block::{
    check_chain, header_hash, is_config_block, new_block, set_signature, signed_bytes,
};
use carechain_channel::config::OrdererParams;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{Block, SignatureHeader};
use prost::Message;

use crate::OrdererError;
use crate::cutter::{BatchConfig, BlockCutter};

/// The committed end of a chain: how many blocks it has and the header hash of the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ChainTip {
    /// Number of blocks (the number of the next block).
    pub height: u64,
    /// Header hash of block `height - 1` (all zeros while the chain is empty).
    pub hash: [u8; 32],
}

/// Batch parameters of a channel, from its `BatchSize` and `BatchTimeout` values.
pub fn batch_config(params: &OrdererParams) -> BatchConfig {
    BatchConfig {
        max_message_count: params.batch_size.max_message_count,
        absolute_max_bytes: params.batch_size.absolute_max_bytes,
        preferred_max_bytes: params.batch_size.preferred_max_bytes,
        // A zero timeout would spin the timer; Fabric rejects it in config, we floor it.
        timeout: params.batch_timeout.max(Duration::from_millis(1)),
    }
}

/// Numbers and links the blocks a leader creates (Fabric's `blockCreator`): each new block extends the
/// previous *created* block, which may not have committed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockCreator {
    next: ChainTip,
}

impl BlockCreator {
    /// A creator whose first block extends `tip`.
    pub fn new(tip: ChainTip) -> BlockCreator {
        BlockCreator { next: tip }
    }

    /// The block after the last one created: number `height`, previous hash the last header hash.
    pub fn create(&mut self, batch: Vec<Bytes>) -> Block {
        let prev: &[u8] = if self.next.height == 0 {
            &[]
        } else {
            &self.next.hash
        };
        let block = new_block(self.next.height, prev, batch);
        let hash = block.header.as_ref().map(header_hash).unwrap_or_default();
        self.next = ChainTip {
            height: self.next.height + 1,
            hash,
        };
        block
    }

    /// What the next created block will extend.
    pub fn next(&self) -> ChainTip {
        self.next
    }
}

/// What the actor does with the batch timer after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Nothing is pending: disarm.
    Stop,
    /// A batch was cut and envelopes remain: the oldest pending envelope is new, restart the timer.
    Restart,
    /// Envelopes are pending: arm the timer if it is not running.
    Ensure,
}

/// The outcome of one envelope or one timer expiry on the leader.
#[derive(Debug, PartialEq)]
pub struct Step {
    /// Blocks to propose to consensus, in order.
    pub blocks: Vec<Block>,
    /// What to do with the batch timer.
    pub timer: Timer,
}

/// What to do with a block consensus reports as committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// It extends the chain: sign it and append it.
    Append {
        /// The tip after it.
        tip: ChainTip,
        /// It is a config block: the channel configuration changes with it (and it is its own last
        /// config block).
        config: bool,
    },
    /// Its number is below the height (consensus replaying after a restart): the stored block with
    /// this number must be the same block, and nothing is written.
    AlreadyStored(u64),
}

/// One channel's ordering state: the cutter, the committed tip and, while leader, the block creator.
#[derive(Debug)]
pub struct OrderingCore {
    cutter: BlockCutter,
    committed: ChainTip,
    last_config: u64,
    creator: Option<BlockCreator>,
    /// The tip after each block created and not yet committed, oldest first.
    created: VecDeque<ChainTip>,
    max_in_flight: u64,
    /// The number of a config block this leader created and has not seen committed.
    config_in_flight: Option<u64>,
}

impl OrderingCore {
    /// A follower whose chain ends at `committed`, whose last config block is `last_config`.
    pub fn new(batch: BatchConfig, committed: ChainTip, last_config: u64, max_in_flight: u32) -> Self {
        OrderingCore {
            cutter: BlockCutter::new(batch),
            committed,
            last_config,
            creator: None,
            created: VecDeque::new(),
            max_in_flight: u64::from(max_in_flight.max(1)),
            config_in_flight: None,
        }
    }

    /// New batch parameters and in-flight limit (a config block changed them); pending envelopes stay
    /// pending.
    pub fn reconfigure(&mut self, batch: BatchConfig, max_in_flight: u32) {
        self.cutter.set_config(batch);
        self.max_in_flight = u64::from(max_in_flight.max(1));
    }

    /// The batch parameters in force.
    pub fn batch(&self) -> BatchConfig {
        *self.cutter.config()
    }

    /// Whether this node currently creates blocks.
    pub fn is_leader(&self) -> bool {
        self.creator.is_some()
    }

    /// Starts creating blocks on top of the committed tip (consensus guarantees every earlier entry
    /// has been delivered as committed before it reports leadership).
    pub fn become_leader(&mut self) {
        self.creator = Some(BlockCreator::new(self.committed));
        self.created.clear();
        self.config_in_flight = None;
    }

    /// Stops creating blocks and drops the pending batch, as Fabric does: those envelopes were
    /// acknowledged to clients but never ordered, and clients resubmit after their commit timeout.
    /// Returns how many envelopes were dropped.
    pub fn become_follower(&mut self) -> usize {
        self.creator = None;
        self.created.clear();
        self.config_in_flight = None;
        self.cutter.cut().len()
    }

    /// Blocks created but not yet committed.
    pub fn in_flight(&self) -> u64 {
        self.creator
            .map_or(0, |c| c.next().height.saturating_sub(self.committed.height))
    }

    /// Whether the leader takes the next envelope now: not while `max_in_flight` blocks await
    /// commitment, so a slow quorum slows Broadcast down instead of growing memory, and not while a
    /// config block it created awaits commitment.
    pub fn accepting(&self) -> bool {
        self.is_leader() && self.in_flight() < self.max_in_flight && self.config_in_flight.is_none()
    }

    /// Whether a config block this leader created awaits commitment.
    pub fn config_in_flight(&self) -> bool {
        self.config_in_flight.is_some()
    }

    /// The committed tip.
    pub fn committed_tip(&self) -> ChainTip {
        self.committed
    }

    /// Index of the last config block, recorded in every block's signature metadata.
    pub fn last_config(&self) -> u64 {
        self.last_config
    }

    /// The next ordered envelope (leader only); `config` marks a config transaction.
    pub fn ordered(&mut self, envelope: Bytes, config: bool) -> Result<Step, OrdererError> {
        let Some(creator) = self.creator.as_mut() else {
            return Err(OrdererError::Unavailable(
                "this orderer is not the leader; the envelope was not ordered".into(),
            ));
        };
        if config {
            let pending = self.cutter.cut();
            let mut blocks = Vec::with_capacity(2);
            if !pending.is_empty() {
                blocks.push(creator.create(pending));
            }
            let block = creator.create(vec![envelope]);
            self.config_in_flight = block.header.as_ref().map(|h| h.number);
            blocks.push(block);
            self.record_created(&blocks);
            return Ok(Step {
                blocks,
                timer: Timer::Stop,
            });
        }
        let cut = self.cutter.ordered(envelope);
        let timer = match (cut.pending, cut.batches.is_empty()) {
            (false, _) => Timer::Stop,
            (true, false) => Timer::Restart,
            (true, true) => Timer::Ensure,
        };
        let blocks: Vec<Block> = cut.batches.into_iter().map(|b| creator.create(b)).collect();
        self.record_created(&blocks);
        Ok(Step { blocks, timer })
    }

    /// The batch timer fired: cut whatever is pending.
    pub fn timeout(&mut self) -> Step {
        let batch = self.cutter.cut();
        let blocks = match self.creator.as_mut() {
            Some(creator) if !batch.is_empty() => vec![creator.create(batch)],
            _ => Vec::new(),
        };
        self.record_created(&blocks);
        Step {
            blocks,
            timer: Timer::Stop,
        }
    }

    /// Consensus committed `block`. Checks it extends the committed tip (number, previous hash, data
    /// hash) and advances the tip; a block that does not is refused, because appending it would fork.
    pub fn committed(&mut self, block: &Block) -> Result<Commit, OrdererError> {
        let header = block
            .header
            .as_ref()
            .ok_or_else(|| OrdererError::Internal("consensus committed a block without a header".into()))?;
        if header.number < self.committed.height {
            return Ok(Commit::AlreadyStored(header.number));
        }
        if header.number > self.committed.height {
            return Err(OrdererError::Internal(format!(
                "consensus committed block {} but the chain's next block is {}",
                header.number, self.committed.height
            )));
        }
        let prev = (self.committed.height > 0).then_some(&self.committed.hash);
        check_chain(block, prev).map_err(|e| {
            OrdererError::Internal(format!(
                "consensus committed a block that does not extend the chain: {e}"
            ))
        })?;
        self.committed = ChainTip {
            height: header.number + 1,
            hash: header_hash(header),
        };
        let config = is_config_block(block);
        if config {
            self.last_config = header.number;
        }
        if self.config_in_flight.is_some_and(|n| n <= header.number) {
            self.config_in_flight = None;
        }
        self.settle_created();
        Ok(Commit::Append {
            tip: self.committed,
            config,
        })
    }

    fn record_created(&mut self, blocks: &[Block]) {
        for header in blocks.iter().filter_map(|b| b.header.as_ref()) {
            self.created.push_back(ChainTip {
                height: header.number + 1,
                hash: header_hash(header),
            });
        }
    }

    /// A leader whose creator fell behind (blocks committed that it did not create), or whose created
    /// block lost to a different block with the same number (a predecessor's proposal committed
    /// first), restarts from the committed tip rather than proposing blocks that can never link.
    fn settle_created(&mut self) {
        let Some(creator) = self.creator else { return };
        let mut diverged = creator.next().height < self.committed.height;
        while let Some(front) = self.created.front().copied() {
            if front.height > self.committed.height {
                break;
            }
            diverged |= front.height == self.committed.height && front.hash != self.committed.hash;
            self.created.pop_front();
        }
        if diverged {
            self.creator = Some(BlockCreator::new(self.committed));
            self.created.clear();
            self.config_in_flight = None;
        }
    }
}

/// The `OrdererBlockMetadata` value recorded with a block's signature: the last config index and the
/// consenter's own metadata (Raft records the log id of the block's entry there).
pub fn metadata_value(last_config: u64, consenter_metadata: Bytes) -> Vec<u8> {
    carechain_channel::block::orderer_metadata_value(last_config, consenter_metadata)
}

/// Signs `block` as this orderer in Fabric's layout: `SignatureHeader{creator, nonce}`, a signature over
/// `value ‖ signature_header ‖ header DER`, stored in the SIGNATURES metadata slot.
pub fn sign_block(
    block: &mut Block,
    signer: &SigningIdentity,
    last_config: u64,
    consenter_metadata: Bytes,
) -> Result<(), OrdererError> {
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| OrdererError::Internal("cannot sign a block without a header".into()))?;
    let value = metadata_value(last_config, consenter_metadata);
    let nonce: [u8; 24] = rand::random();
    let signature_header = SignatureHeader {
        creator: Bytes::copy_from_slice(signer.serialize()),
        nonce: Bytes::copy_from_slice(&nonce),
    }
    .encode_to_vec();
    let signature = signer.sign(&signed_bytes(&value, &signature_header, header));
    set_signature(block, value, signature_header, signature);
    Ok(())
}

#[cfg(test)]
#[path = "ordering_tests.rs"]
mod tests;
