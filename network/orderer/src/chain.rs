//! The chain actor: one per channel, the async shell around [`OrderingCore`]. In endorse → order →
//! validate it is where ordered envelopes become signed, stored blocks.
//!
//! It owns the batch timer and the block store's write side. While this node leads it takes envelopes
//! from consensus (`rx_ordered`), cuts them into blocks and proposes them; on every node it takes
//! committed blocks (`rx_events`), signs them as this orderer, appends them and publishes the new
//! height to Deliver streams (`tx_height`). A store failure or a committed block that does not extend
//! the chain stops the actor: a chain that cannot be written must not keep acknowledging envelopes, and
//! Broadcast then answers `SERVICE_UNAVAILABLE`.

use std::sync::Arc;

use bytes::Bytes;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::OrdererError;
use crate::consensus::{Consensus, ConsensusEvent, Role};
use crate::cutter::BatchConfig;
use crate::ordering::{Commit, OrderingCore, Step, Timer, sign_block};
use crate::store::BlockStore;

/// How long a leader stopping at shutdown waits for the blocks it proposed to commit.
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Everything a chain actor is started with.
pub struct ChainParams {
    /// The channel.
    pub channel_id: String,
    /// The channel's block store; the actor is its only writer.
    pub store: Arc<BlockStore>,
    /// This orderer's block-signing identity.
    pub signer: Arc<SigningIdentity>,
    /// Batch parameters from the channel configuration.
    pub batch: BatchConfig,
    /// Blocks the leader may have proposed and not yet seen committed (Raft's `MaxInflightBlocks`).
    pub max_in_flight: u32,
    /// Index of the channel's last config block.
    pub last_config: u64,
    /// Where the leader proposes blocks.
    pub consensus: Arc<dyn Consensus>,
    /// Envelopes to cut, from consensus (leader only).
    pub rx_ordered: mpsc::Receiver<Bytes>,
    /// Committed blocks and role changes, from consensus.
    pub rx_events: mpsc::UnboundedReceiver<ConsensusEvent>,
    /// The chain height after each append, to Deliver streams.
    pub tx_height: watch::Sender<u64>,
    /// Node shutdown.
    pub shutdown: watch::Receiver<bool>,
}

/// A running chain (see the module docs).
pub struct Chain {
    channel_id: String,
    store: Arc<BlockStore>,
    signer: Arc<SigningIdentity>,
    timeout: std::time::Duration,
    core: OrderingCore,
    consensus: Arc<dyn Consensus>,
    rx_ordered: mpsc::Receiver<Bytes>,
    rx_events: mpsc::UnboundedReceiver<ConsensusEvent>,
    tx_height: watch::Sender<u64>,
    shutdown: watch::Receiver<bool>,
    deadline: Option<Instant>,
}

impl Chain {
    /// Starts the actor; it ends at node shutdown or on a fatal chain error.
    pub fn spawn(p: ChainParams) -> JoinHandle<()> {
        let core = OrderingCore::new(p.batch, p.store.tip(), p.last_config, p.max_in_flight);
        let chain = Chain {
            channel_id: p.channel_id,
            store: p.store,
            signer: p.signer,
            timeout: p.batch.timeout,
            core,
            consensus: p.consensus,
            rx_ordered: p.rx_ordered,
            rx_events: p.rx_events,
            tx_height: p.tx_height,
            shutdown: p.shutdown,
            deadline: None,
        };
        tokio::spawn(chain.run())
    }

    async fn run(mut self) {
        tracing::info!(channel = %self.channel_id, height = self.store.height(), "chain started");
        let mut failed = false;
        loop {
            let accepting = self.core.accepting();
            let deadline = self.deadline;
            tokio::select! {
                biased;
                _ = crate::stop_requested(&mut self.shutdown) => break,
                event = self.rx_events.recv() => {
                    let Some(event) = event else { break };
                    if let Err(e) = self.on_event(event).await {
                        tracing::error!(channel = %self.channel_id, error = %e, "chain failed");
                        failed = true;
                        break;
                    }
                }
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.deadline = None;
                    let step = self.core.timeout();
                    self.propose(step);
                }
                envelope = self.rx_ordered.recv(), if accepting => {
                    let Some(envelope) = envelope else { break };
                    match self.core.ordered(envelope) {
                        Ok(step) => self.propose(step),
                        Err(e) => tracing::warn!(channel = %self.channel_id, error = %e, "envelope dropped"),
                    }
                }
            }
        }
        if !failed && let Err(e) = self.drain().await {
            tracing::error!(channel = %self.channel_id, error = %e, "flushing at shutdown failed");
        }
        tracing::info!(channel = %self.channel_id, height = self.store.height(), "chain stopped");
    }

    /// At shutdown, a leader orders what Broadcast already acknowledged and waits (a few seconds at
    /// most) for its blocks to commit; every node appends what consensus already committed. Blocks a
    /// quorum does not confirm in time are lost with this leader, and clients resubmit after their
    /// commit timeout.
    async fn drain(&mut self) -> Result<(), OrdererError> {
        while self.core.is_leader()
            && let Ok(envelope) = self.rx_ordered.try_recv()
        {
            if let Ok(step) = self.core.ordered(envelope) {
                self.propose(step);
            }
        }
        let step = self.core.timeout();
        self.propose(step);
        let deadline = Instant::now() + DRAIN_GRACE;
        loop {
            let event = if self.core.in_flight() > 0 {
                timeout_at(deadline, self.rx_events.recv()).await.ok().flatten()
            } else {
                self.rx_events.try_recv().ok()
            };
            let Some(event) = event else { break };
            self.on_event(event).await?;
        }
        Ok(())
    }

    fn propose(&mut self, step: Step) {
        for block in step.blocks {
            if let Err(e) = self.consensus.propose(block) {
                tracing::warn!(channel = %self.channel_id, error = %e, "block not proposed");
            }
        }
        let now = Instant::now();
        self.deadline = match step.timer {
            Timer::Stop => None,
            Timer::Restart => Some(now + self.timeout),
            Timer::Ensure => Some(self.deadline.unwrap_or(now + self.timeout)),
        };
    }

    async fn on_event(&mut self, event: ConsensusEvent) -> Result<(), OrdererError> {
        match event {
            ConsensusEvent::Role(Role::Leader) => {
                tracing::info!(channel = %self.channel_id, "leading: creating blocks");
                self.core.become_leader();
            }
            ConsensusEvent::Role(Role::Follower { leader }) => {
                let mut dropped = self.core.become_follower();
                // Queued envelopes go too: ordering them if this node leads again much later would
                // duplicate the transactions clients resubmitted meanwhile.
                while self.rx_ordered.try_recv().is_ok() {
                    dropped += 1;
                }
                self.deadline = None;
                tracing::info!(channel = %self.channel_id, ?leader, dropped, "following");
            }
            ConsensusEvent::Committed {
                block,
                consenter_metadata,
            } => self.commit(block, consenter_metadata).await?,
        }
        Ok(())
    }

    async fn commit(&mut self, block: Block, consenter_metadata: Bytes) -> Result<(), OrdererError> {
        let tip = match self.core.committed(&block)? {
            Commit::AlreadyStored(number) => return self.check_stored(number, &block).await,
            Commit::Append(tip) => tip,
        };
        let (store, signer) = (self.store.clone(), self.signer.clone());
        let last_config = self.core.last_config();
        // Signing and the synced write are CPU and disk work: keep them off the async workers.
        let stored = tokio::task::spawn_blocking(move || {
            let mut block = block;
            sign_block(&mut block, &signer, last_config, consenter_metadata)?;
            store.append(&block)
        })
        .await
        .map_err(|e| OrdererError::Internal(format!("block append task failed: {e}")))??;
        if stored != tip {
            return Err(OrdererError::store(
                &self.channel_id,
                "stored tip differs from the ordered tip",
            ));
        }
        tracing::debug!(channel = %self.channel_id, number = tip.height - 1, "block committed");
        self.tx_height.send_replace(tip.height);
        Ok(())
    }

    async fn check_stored(&self, number: u64, block: &Block) -> Result<(), OrdererError> {
        let store = self.store.clone();
        let stored = tokio::task::spawn_blocking(move || store.block(number))
            .await
            .map_err(|e| OrdererError::Internal(format!("block read task failed: {e}")))??;
        let same = stored.is_some_and(|s| s.header == block.header && s.data == block.data);
        if same {
            Ok(())
        } else {
            Err(OrdererError::store(
                &self.channel_id,
                format!("consensus repeated block {number} with different contents than the stored block"),
            ))
        }
    }
}
