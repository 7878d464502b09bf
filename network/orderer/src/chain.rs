//! The chain actor: one per channel, the async shell around [`OrderingCore`]. In endorse → order →
//! validate it is where ordered envelopes become signed, stored blocks.
//!
//! It owns the batch timer and the block store's write side. While this node leads it takes envelopes
//! from consensus (`rx_ordered`), checks again any envelope checked against an older configuration
//! than the current one ([`crate::msgprocessor::revalidate`]), cuts them into blocks and proposes
//! them; on every node it takes committed blocks (`rx_events`), signs them as this orderer, appends
//! them and publishes the new height to Deliver streams (`tx_height`). When a config block is
//! appended, the new configuration is published (`tx_config`) before the height, so Broadcast and
//! Deliver use it as soon as the block is readable, and the cutter and timer take its batch settings.
//! A store failure or a committed block that does not extend the chain stops the actor: a chain that
//! cannot be written must not keep acknowledging envelopes, and Broadcast then answers
//! `SERVICE_UNAVAILABLE`.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use carechain_channel::ChannelConfig;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::OrdererError;
use crate::consensus::{Consensus, ConsensusEvent, Role};
use crate::msgprocessor::{Submitted, revalidate};
use crate::ordering::{Commit, OrderingCore, Step, Timer, batch_config, sign_block};
use crate::store::BlockStore;

/// How long a leader stopping at shutdown waits for the blocks it proposed to commit.
const DRAIN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Everything a chain actor is started with.
pub struct ChainParams {
    /// The channel.
    pub channel_id: String,
    /// The channel's block store; the actor is its only writer.
    pub store: Arc<BlockStore>,
    /// This orderer's block-signing identity (also signs re-derived config transactions).
    pub signer: Arc<SigningIdentity>,
    /// The configuration in force (batch parameters, `MaxInflightBlocks`, policies for re-checks).
    pub config: Arc<ChannelConfig>,
    /// Index of the channel's last config block.
    pub last_config: u64,
    /// Where the leader proposes blocks.
    pub consensus: Arc<dyn Consensus>,
    /// Envelopes to cut, from consensus (leader only).
    pub rx_ordered: mpsc::Receiver<Submitted>,
    /// Committed blocks and role changes, from consensus.
    pub rx_events: mpsc::UnboundedReceiver<ConsensusEvent>,
    /// The chain height after each append, to Deliver streams.
    pub tx_height: watch::Sender<u64>,
    /// The configuration after each config block, to Broadcast, Deliver and the registry.
    pub tx_config: watch::Sender<Arc<ChannelConfig>>,
    /// Node shutdown, or this channel's chain stopping (its orderer was removed from the consenters).
    pub shutdown: watch::Receiver<bool>,
}

/// A running chain (see the module docs).
pub struct Chain {
    channel_id: String,
    store: Arc<BlockStore>,
    signer: Arc<SigningIdentity>,
    config: Arc<ChannelConfig>,
    core: OrderingCore,
    consensus: Arc<dyn Consensus>,
    rx_ordered: mpsc::Receiver<Submitted>,
    rx_events: mpsc::UnboundedReceiver<ConsensusEvent>,
    tx_height: watch::Sender<u64>,
    tx_config: watch::Sender<Arc<ChannelConfig>>,
    shutdown: watch::Receiver<bool>,
    deadline: Option<Instant>,
}

impl Chain {
    /// Starts the actor; it ends at node shutdown or on a fatal chain error.
    pub fn spawn(p: ChainParams) -> JoinHandle<()> {
        let batch = batch_config(&p.config.orderer);
        let max_in_flight = p.config.orderer.raft.max_inflight_blocks;
        let core = OrderingCore::new(batch, p.store.tip(), p.last_config, max_in_flight);
        let chain = Chain {
            channel_id: p.channel_id,
            store: p.store,
            signer: p.signer,
            config: p.config,
            core,
            consensus: p.consensus,
            rx_ordered: p.rx_ordered,
            rx_events: p.rx_events,
            tx_height: p.tx_height,
            tx_config: p.tx_config,
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
                    self.order(envelope);
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
            && !self.core.config_in_flight()
            && let Ok(envelope) = self.rx_ordered.try_recv()
        {
            self.order(envelope);
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

    /// Cuts the next envelope (leader), after checking it again if the configuration changed since
    /// it was checked: Fabric re-validates messages whose config sequence is older.
    fn order(&mut self, submitted: Submitted) {
        let submitted = if submitted.config_seq < self.config.sequence {
            match revalidate(&self.config, submitted, &self.signer, SystemTime::now()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(channel = %self.channel_id, sequence = self.config.sequence, error = %e,
                        "envelope checked against an older configuration is refused under the current one; dropped");
                    return;
                }
            }
        } else {
            submitted
        };
        match self.core.ordered(submitted.envelope, submitted.is_config) {
            Ok(step) => self.propose(step),
            Err(e) => tracing::warn!(channel = %self.channel_id, error = %e, "envelope dropped"),
        }
    }

    fn propose(&mut self, step: Step) {
        for block in step.blocks {
            if let Err(e) = self.consensus.propose(block) {
                tracing::warn!(channel = %self.channel_id, error = %e, "block not proposed");
            }
        }
        let now = Instant::now();
        let timeout = self.core.batch().timeout;
        self.deadline = match step.timer {
            Timer::Stop => None,
            Timer::Restart => Some(now + timeout),
            Timer::Ensure => Some(self.deadline.unwrap_or(now + timeout)),
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
        let (tip, config) = match self.core.committed(&block)? {
            Commit::AlreadyStored(number) => return self.check_stored(number, &block).await,
            Commit::Append { tip, config } => (tip, config),
        };
        let (store, signer) = (self.store.clone(), self.signer.clone());
        let last_config = self.core.last_config();
        // Parsing a configuration, signing and the synced write are CPU and disk work: keep them off
        // the async workers.
        let (stored, parsed) = tokio::task::spawn_blocking(move || {
            let parsed = config.then(|| ChannelConfig::from_block(&block));
            let mut block = block;
            sign_block(&mut block, &signer, last_config, consenter_metadata)?;
            store.append(&block).map(|tip| (tip, parsed))
        })
        .await
        .map_err(|e| OrdererError::Internal(format!("block append task failed: {e}")))??;
        if stored != tip {
            return Err(OrdererError::store(
                &self.channel_id,
                "stored tip differs from the ordered tip",
            ));
        }
        let number = tip.height - 1;
        tracing::debug!(channel = %self.channel_id, number, "block committed");
        match parsed {
            Some(Ok(config)) if config.channel_id == self.channel_id => self.apply_config(config, number),
            // Every orderer parses the same block the same way: all keep the previous configuration.
            Some(Ok(config)) => {
                tracing::error!(channel = %self.channel_id, number, other = %config.channel_id,
                "config block names another channel; configuration unchanged")
            }
            Some(Err(e)) => tracing::error!(channel = %self.channel_id, number, error = %e,
                "config block does not parse; configuration unchanged"),
            None => {}
        }
        self.tx_height.send_replace(tip.height);
        Ok(())
    }

    /// Puts the configuration of config block `number` in force here and publishes it.
    fn apply_config(&mut self, config: ChannelConfig, number: u64) {
        let batch = batch_config(&config.orderer);
        self.core
            .reconfigure(batch, config.orderer.raft.max_inflight_blocks);
        tracing::info!(channel = %self.channel_id, number, sequence = config.sequence,
            max_message_count = batch.max_message_count, timeout = ?batch.timeout, "channel configuration updated");
        self.config = Arc::new(config);
        self.tx_config.send_replace(self.config.clone());
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
