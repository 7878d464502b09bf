//! The Raft state machine of a channel: which committed entry becomes which block. In endorse → order
//! → validate it is the point where a block becomes final on *this* orderer.
//!
//! Applying a normal entry hands its block to the channel's chain actor (`ConsensusEvent::Committed`,
//! which signs and stores it) and waits until the block store holds it, so the block store is the
//! state: after a restart, `last_applied` is the later of the log id recorded in the last stored block
//! (its `OrdererBlockMetadata.consenter_metadata`) and the applied record kept in the Raft database.
//! Nothing is applied twice and nothing is skipped.
//!
//! An entry whose block does not extend the chain built so far is skipped ([`classify`]): a leader that
//! lost leadership may still have proposals in flight, and the entries of a deposed leader can commit
//! under its successor. Every orderer applies the same log to the same chain, so every orderer skips
//! the same entries and the chains stay identical.
//!
//! Snapshots carry no blocks: only the last applied log id, the membership, and the chain's height and
//! tip hash. An orderer that installs one (it lagged behind the leader's purged log) pulls the missing
//! blocks from the other consenters through a [`BlockSource`], appends them through its chain, and
//! checks that its tip then equals the snapshot's; only then does it report the snapshot installed.

// openraft's storage traits return its `StorageError` (224 bytes); the helpers here produce what
// those traits must return, so boxing it would only move the conversion.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use carechain_channel::block::{check_chain, header_hash};
use carechain_proto::common::Block;
use futures::future::BoxFuture;
use openraft::storage::RaftStateMachine;
use openraft::{
    BasicNode, EntryPayload, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StoredMembership,
};
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};

use super::log_store::RaftDb;
use super::{
    Entry, LogId, NodeId, TypeConfig, block_log_id, block_metadata, consenter_metadata, decode, encode,
};
use crate::OrdererError;
use crate::consensus::ConsensusEvent;
use crate::ordering::ChainTip;
use crate::store::BlockStore;

const META_APPLIED: &[u8] = b"sm/applied";
const META_MEMBERSHIP: &[u8] = b"sm/membership";
const META_SNAPSHOT: &[u8] = b"sm/snapshot";

/// What the state machine does with a committed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apply {
    /// It extends the chain, which then ends here.
    Append(ChainTip),
    /// It does not extend the chain (a stale proposal); the reason, for the log.
    Skip(String),
}

/// Decides whether `block` extends the chain ending at `tip`: the next number, the previous hash of
/// the tip, an intact data hash. Pure, and the same on every orderer for the same log.
pub fn classify(tip: &ChainTip, block: &Block) -> Apply {
    let Some(header) = block.header.as_ref() else {
        return Apply::Skip("the block has no header".into());
    };
    if header.number != tip.height {
        return Apply::Skip(format!(
            "block {} does not follow the chain's height {}",
            header.number, tip.height
        ));
    }
    let prev = (tip.height > 0).then_some(&tip.hash);
    match check_chain(block, prev) {
        Ok(()) => Apply::Append(ChainTip {
            height: tip.height + 1,
            hash: header_hash(header),
        }),
        Err(e) => Apply::Skip(format!("block {}: {e}", header.number)),
    }
}

/// Where an orderer that installed a snapshot gets the blocks it lacks: the other consenters.
pub trait BlockSource: Send + Sync + 'static {
    /// Blocks `start..end` in order, possibly fewer (at least one unless it fails).
    fn fetch(&self, start: u64, end: u64) -> BoxFuture<'_, Result<Vec<Block>, OrdererError>>;
}

/// Counts bytes of applied blocks and signals when a snapshot is due (Fabric's
/// `SnapshotIntervalSize`); the consensus task then asks openraft for one.
#[derive(Debug)]
pub struct SnapshotTrigger {
    interval: u64,
    bytes: AtomicU64,
    due: Notify,
}

impl SnapshotTrigger {
    /// A trigger firing every `interval` bytes.
    pub fn new(interval: u64) -> Arc<SnapshotTrigger> {
        Arc::new(SnapshotTrigger {
            interval: interval.max(1),
            bytes: AtomicU64::new(0),
            due: Notify::new(),
        })
    }

    fn add(&self, n: u64) {
        if self.bytes.fetch_add(n, Ordering::Relaxed) + n >= self.interval {
            self.due.notify_one();
        }
    }

    fn reset(&self) {
        self.bytes.store(0, Ordering::Relaxed);
    }

    /// Resolves when enough bytes were applied since the last snapshot.
    pub async fn due(&self) {
        self.due.notified().await
    }
}

/// The snapshot's content: the chain as of its last log id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ChainSnapshot {
    height: u64,
    tip: [u8; 32],
}

/// A built snapshot as kept in the Raft database.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: ChainSnapshot,
}

impl StoredSnapshot {
    fn into_snapshot(self) -> Result<Snapshot<TypeConfig>, super::CodecError> {
        Ok(Snapshot {
            meta: self.meta,
            snapshot: Box::new(Cursor::new(encode(&self.data)?)),
        })
    }
}

/// Everything a state machine is opened with.
pub struct StateMachineParams {
    /// The channel's Raft database (applied record, membership, snapshot).
    pub db: Arc<RaftDb>,
    /// The channel's block store (read side: the recovered tip and last block).
    pub store: Arc<BlockStore>,
    /// The chain actor's event queue.
    pub tx_events: mpsc::UnboundedSender<ConsensusEvent>,
    /// The chain's height after each append.
    pub height: watch::Receiver<u64>,
    /// Where missing blocks come from after a snapshot.
    pub source: Arc<dyn BlockSource>,
    /// Told about every applied block's size.
    pub trigger: Arc<SnapshotTrigger>,
}

/// openraft's state machine for one channel (see the module docs).
pub struct StateMachine {
    channel: String,
    db: Arc<RaftDb>,
    store: Arc<BlockStore>,
    tx_events: mpsc::UnboundedSender<ConsensusEvent>,
    height: watch::Receiver<u64>,
    source: Arc<dyn BlockSource>,
    trigger: Arc<SnapshotTrigger>,
    applied: Option<LogId>,
    membership: StoredMembership<NodeId, BasicNode>,
    tip: ChainTip,
}

impl StateMachine {
    /// Recovers the applied state from the block store and the Raft database.
    pub fn open(p: StateMachineParams) -> Result<StateMachine, OrdererError> {
        let channel = p.store.channel().to_string();
        let sto = |e: StorageError<NodeId>| OrdererError::store(&channel, e);
        let recorded: Option<LogId> = p.db.get_meta(META_APPLIED).map_err(sto)?.flatten();
        let stored = p.store.last_block()?.as_ref().and_then(block_log_id);
        let membership = p.db.get_meta(META_MEMBERSHIP).map_err(sto)?.unwrap_or_default();
        Ok(StateMachine {
            applied: recorded.max(stored),
            tip: p.store.tip(),
            channel,
            db: p.db,
            store: p.store,
            tx_events: p.tx_events,
            height: p.height,
            source: p.source,
            trigger: p.trigger,
            membership,
        })
    }

    fn err(&self, detail: impl std::fmt::Display) -> StorageError<NodeId> {
        super::storage_error(&self.channel, detail)
    }

    /// Hands a block to the chain; `Ok(false)` when it was skipped.
    fn apply_block(
        &mut self,
        log_id: &LogId,
        bytes: &[u8],
        metadata: Bytes,
    ) -> Result<bool, StorageError<NodeId>> {
        let block = match Block::decode(bytes) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(channel = %self.channel, %log_id, error = %e, "skipping an entry that is not a block");
                return Ok(false);
            }
        };
        match classify(&self.tip, &block) {
            Apply::Skip(why) => {
                tracing::info!(channel = %self.channel, %log_id, why, "skipping a stale proposal");
                Ok(false)
            }
            Apply::Append(tip) => {
                self.tx_events
                    .send(ConsensusEvent::Committed {
                        block,
                        consenter_metadata: metadata,
                    })
                    .map_err(|_| self.err("the chain stopped; the committed block cannot be stored"))?;
                self.tip = tip;
                self.trigger.add(bytes.len() as u64);
                Ok(true)
            }
        }
    }

    /// Waits until the chain has stored every block up to `height`.
    async fn wait_stored(&self, height: u64) -> Result<(), StorageError<NodeId>> {
        let mut rx = self.height.clone();
        rx.wait_for(|h| *h >= height)
            .await
            .map(|_| ())
            .map_err(|_| self.err(format!("the chain stopped before storing block {}", height - 1)))
    }

    fn save_membership(&self) -> Result<(), StorageError<NodeId>> {
        let value = self.db.meta_value(&self.membership)?;
        // Synced: a restart must never find blocks applied after a membership it forgot.
        self.db.put_meta(&[(META_MEMBERSHIP, value)], true)
    }

    /// Appends the blocks `tip.height..snapshot.height` from other consenters and checks the tip.
    async fn catch_up(&mut self, snapshot: &ChainSnapshot) -> Result<(), StorageError<NodeId>> {
        while self.tip.height < snapshot.height {
            let blocks = self
                .source
                .fetch(self.tip.height, snapshot.height)
                .await
                .map_err(|e| self.err(format!("catching up to block {}: {e}", snapshot.height - 1)))?;
            if blocks.is_empty() {
                return Err(self.err(format!("no consenter served block {}", self.tip.height)));
            }
            for block in blocks {
                let meta = consenter_metadata(&block);
                let bytes = block.encode_to_vec();
                let log_id = block_log_id(&block).unwrap_or_default();
                if !self.apply_block(&log_id, &bytes, meta)? {
                    return Err(self.err(format!(
                        "a consenter served block(s) that do not extend this orderer's chain at {}",
                        self.tip.height
                    )));
                }
            }
            self.wait_stored(self.tip.height).await?;
        }
        let ours = if self.tip.height == snapshot.height {
            Some(self.tip.hash)
        } else {
            let stored = self.store.block(snapshot.height - 1).map_err(|e| self.err(e))?;
            stored.and_then(|b| b.header.as_ref().map(header_hash))
        };
        if ours != Some(snapshot.tip) {
            return Err(self.err(format!(
                "this orderer's block {} differs from the leader's snapshot: the chains have forked",
                snapshot.height - 1
            )));
        }
        tracing::info!(channel = %self.channel, height = self.tip.height, "caught up from a snapshot");
        Ok(())
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let (mut out, mut last, mut appended) = (Vec::new(), None, false);
        for entry in entries {
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                    self.save_membership()?;
                }
                EntryPayload::Normal(p) => {
                    appended |= self.apply_block(&entry.log_id, &p.0, block_metadata(&entry.log_id))?;
                }
            }
            last = Some(entry.log_id);
            out.push(());
        }
        if appended {
            self.wait_stored(self.tip.height).await?;
        }
        if last.is_some() {
            self.applied = last;
            // Not synced: the next synced log write carries it, and a lost record only means
            // re-applying entries whose blocks the store already holds (skipped as stale).
            let value = self.db.meta_value(&self.applied)?;
            self.db.put_meta(&[(META_APPLIED, value)], false)?;
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        let last = self.applied;
        let snapshot_id = format!(
            "{}-{}-{}",
            last.map_or(0, |l| l.leader_id.term),
            last.map_or(0, |l| l.index),
            self.tip.height
        );
        SnapshotBuilder {
            db: self.db.clone(),
            trigger: self.trigger.clone(),
            snapshot: StoredSnapshot {
                meta: SnapshotMeta {
                    last_log_id: last,
                    last_membership: self.membership.clone(),
                    snapshot_id,
                },
                data: ChainSnapshot {
                    height: self.tip.height,
                    tip: self.tip.hash,
                },
            },
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data: ChainSnapshot =
            decode(snapshot.get_ref()).map_err(|e| self.err(format!("snapshot: {e}")))?;
        tracing::info!(channel = %self.channel, snapshot = %meta.snapshot_id, height = data.height, "installing a snapshot");
        // The snapshot's membership is committed: keep it before the (long) catch-up, so a crash
        // meanwhile cannot leave blocks applied under a membership this orderer forgot.
        self.membership = meta.last_membership.clone();
        self.save_membership()?;
        self.catch_up(&data).await?;
        self.applied = meta.last_log_id;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        self.db.put_meta(
            &[
                (META_APPLIED, self.db.meta_value(&self.applied)?),
                (META_SNAPSHOT, self.db.meta_value(&stored)?),
            ],
            true,
        )
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let stored: Option<StoredSnapshot> = self.db.get_meta(META_SNAPSHOT)?;
        stored
            .map(StoredSnapshot::into_snapshot)
            .transpose()
            .map_err(|e| self.err(e))
    }
}

/// Builds (and records) a snapshot of the state captured when openraft asked for the builder.
pub struct SnapshotBuilder {
    db: Arc<RaftDb>,
    trigger: Arc<SnapshotTrigger>,
    snapshot: StoredSnapshot,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let value = self.db.meta_value(&self.snapshot)?;
        self.db.put_meta(&[(META_SNAPSHOT, value)], true)?;
        self.trigger.reset();
        tracing::debug!(channel = self.db.channel(), snapshot = %self.snapshot.meta.snapshot_id, "snapshot built");
        self.snapshot
            .clone()
            .into_snapshot()
            .map_err(|e| super::storage_error(self.db.channel(), e))
    }
}

#[cfg(test)]
#[path = "state_machine_tests.rs"]
mod tests;
