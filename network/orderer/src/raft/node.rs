//! [`RaftConsensus`]: the Raft implementation of [`Consensus`] for one channel — the shell around
//! openraft that Broadcast, the chain actor and the cluster service talk to. In endorse → order →
//! validate it decides *where* an envelope is ordered (the leader) and *when* a block is final.
//!
//! - **Submit.** On the leader, the envelope goes to the chain's `tx_ordered`; on a follower it is
//!   forwarded to the leader over the cluster port. With no leader (an election, or no quorum) the
//!   call waits up to a second for one, then fails with `Unavailable` (Broadcast answers
//!   SERVICE_UNAVAILABLE and the gateway tries another orderer).
//! - **Leadership.** A watcher task follows openraft's metrics. It reports `Role::Leader` to the chain
//!   only after `ensure_linearizable` (a quorum confirms this leader, and every entry of earlier
//!   terms is applied) and after everything in its own log is applied, so the chain's block creator
//!   starts on the true tip. A leader that has not heard from a quorum for an election timeout is
//!   reported as a follower (Fabric's CheckQuorum): its chain stops cutting and Broadcast answers
//!   SERVICE_UNAVAILABLE instead of accepting envelopes that cannot commit.
//! - **Propose.** Blocks go, in order, to a proposer task that appends them with
//!   `client_write_ff` (several in flight, up to the chain's `MaxInflightBlocks`). Each proposal is
//!   tagged with the leadership epoch it was created in; one from an earlier epoch is dropped.
//! - **Membership.** The consenter set comes from the channel configuration; a config block that
//!   changes it reaches this node through [`RaftConsensus::set_members`], and the leader turns the
//!   change into openraft membership changes ([`super::reconfig`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use carechain_proto::common::Block;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use openraft::error::{InitializeError, RaftError};
use openraft::{BasicNode, RaftMetrics, ServerState};
use parking_lot::{Mutex, RwLock};
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::log_store::{LogStore, RaftDb};
use super::network::{ClusterClient, ConsenterBlocks, NetworkFactory};
use super::settings::{Members, RaftSettings, SharedMembers};
use super::state_machine::{SnapshotTrigger, StateMachine, StateMachineParams};
use super::{ChannelRaft, NodeId, Proposal};
use crate::OrdererError;
use crate::consensus::{ChainLink, Consensus, ConsensusEvent, Role};
use crate::msgprocessor::Submitted;
use crate::store::BlockStore;

/// How long Submit waits for a leader to appear before answering SERVICE_UNAVAILABLE.
const LEADER_WAIT: Duration = Duration::from_secs(1);
/// How long the leader waits for room in its chain's queue. Shorter than the gateway's broadcast
/// timeout, so an envelope is never accepted after the gateway gave up and tried another orderer.
const ENQUEUE_WAIT: Duration = Duration::from_secs(3);
/// A forwarded envelope's deadline: the leader's queue wait plus network slack.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything a channel's Raft consensus is started with.
pub struct RaftParams {
    /// The channel.
    pub channel_id: String,
    /// Its consenters, this orderer among them.
    pub members: Members,
    /// Timers and sizes from the channel configuration.
    pub settings: RaftSettings,
    /// The channel's Raft database.
    pub db: Arc<RaftDb>,
    /// The channel's block store (state machine recovery; PullBlocks).
    pub store: Arc<BlockStore>,
    /// The chain actor's queues.
    pub link: ChainLink,
    /// The chain's height after each append.
    pub height: watch::Receiver<u64>,
    /// Calls to the other consenters.
    pub client: Arc<dyn ClusterClient>,
    /// Most bytes of blocks one PullBlocks answer carries.
    pub pull_limit: usize,
}

/// What the chain was last told about leadership (and what Broadcast acts on).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Leadership {
    /// The leader openraft reports, this node included; `None` during an election.
    pub(super) leader: Option<NodeId>,
    /// This node leads with a quorum and its chain creates blocks (`Role::Leader` was sent).
    pub(super) leading: bool,
    /// Counts `Role::Leader` reports; tags proposals so stale ones are dropped.
    epoch: u64,
}

/// Raft consensus for one channel (see the module docs).
pub struct RaftConsensus {
    pub(super) channel: String,
    pub(super) me: NodeId,
    pub(super) members: SharedMembers,
    /// Bumped whenever `members` changes, so the leader reconciles the Raft membership.
    pub(super) members_changed: watch::Sender<u64>,
    /// The configuration removed this orderer from the consenters: it takes no more envelopes.
    pub(super) evicted: AtomicBool,
    pub(super) settings: RaftSettings,
    pub(super) raft: ChannelRaft,
    link: ChainLink,
    pub(super) store: Arc<BlockStore>,
    client: Arc<dyn ClusterClient>,
    pub(super) leadership: watch::Sender<Leadership>,
    tx_proposals: mpsc::UnboundedSender<(u64, Block)>,
    pub(super) stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(super) pull_limit: usize,
}

impl std::fmt::Debug for RaftConsensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftConsensus")
            .field("channel", &self.channel)
            .field("node", &self.me)
            .field("leadership", &*self.leadership.borrow())
            .finish_non_exhaustive()
    }
}

impl RaftConsensus {
    /// Opens the state machine, starts openraft and the consensus tasks, and bootstraps a pristine
    /// group with the channel's consenters (every consenter does so with the same membership).
    pub async fn start(p: RaftParams) -> Result<Arc<RaftConsensus>, OrdererError> {
        let channel = p.channel_id.clone();
        let me = p.members.me();
        let members: SharedMembers = Arc::new(RwLock::new(Arc::new(p.members)));
        let config = Arc::new(p.settings.openraft_config(&channel)?);
        let trigger = SnapshotTrigger::new(p.settings.snapshot_interval);
        let source = ConsenterBlocks::new(&channel, p.client.clone(), members.clone());
        let state_machine = StateMachine::open(StateMachineParams {
            db: p.db.clone(),
            store: p.store.clone(),
            tx_events: p.link.tx_events.clone(),
            height: p.height,
            source: Arc::new(source),
            trigger: trigger.clone(),
        })?;
        let network = NetworkFactory::new(p.client.clone());
        let raft = openraft::Raft::new(me, config, network, LogStore::new(p.db), state_machine)
            .await
            .map_err(|e| OrdererError::Internal(format!("channel {channel}: starting Raft: {e}")))?;
        let (tx_proposals, rx_proposals) = mpsc::unbounded_channel();
        let consensus = Arc::new(RaftConsensus {
            channel,
            me,
            members,
            members_changed: watch::Sender::new(0),
            evicted: AtomicBool::new(false),
            settings: p.settings,
            raft,
            link: p.link,
            store: p.store,
            client: p.client,
            leadership: watch::Sender::new(Leadership::default()),
            tx_proposals,
            stop: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
            pull_limit: p.pull_limit,
        });
        let proposer = tokio::spawn(consensus.clone().run_proposer(rx_proposals));
        let watcher = tokio::spawn(consensus.clone().run_watcher(trigger));
        let membership = tokio::spawn(consensus.clone().run_membership());
        consensus.tasks.lock().extend([proposer, watcher, membership]);
        consensus.bootstrap().await?;
        Ok(consensus)
    }

    /// A pristine group is formed by its first consenter: it initializes the membership and elects
    /// itself; the others join when it reaches them. Had every consenter initialized on joining, a late
    /// joiner's first election (term 1) would depose a leader already elected in term 1. Another
    /// consenter initializes only if nobody has reached it within a few election timeouts (the first
    /// consenter is down); that is safe, the membership being the same everywhere. Only a chain that
    /// holds nothing but its genesis block forms a group: an orderer that joined from a later config
    /// block (or whose chain grew) waits for the leader to add it.
    async fn bootstrap(self: &Arc<Self>) -> Result<(), OrdererError> {
        let pristine = !self.raft.is_initialized().await.map_err(|e| self.fatal(e))?;
        if pristine && self.store.height() == 1 {
            if self.me == self.members().first() {
                return self.initialize().await;
            }
            let me = self.clone();
            let grace = self.settings.election_timeout() * 4;
            let task = tokio::spawn(async move {
                let mut stop = me.stop.subscribe();
                tokio::select! {
                    _ = crate::stop_requested(&mut stop) => {}
                    _ = tokio::time::sleep(grace) => {
                        if matches!(me.raft.is_initialized().await, Ok(false))
                            && let Err(e) = me.initialize().await
                        {
                            tracing::warn!(channel = %me.channel, error = %e, "Raft group not initialized");
                        }
                    }
                }
            });
            self.tasks.lock().push(task);
        } else if !pristine && self.members().len() == 1 {
            // Alone in the group: no one else can win, so don't wait an election timeout.
            self.raft.trigger().elect().await.map_err(|e| self.fatal(e))?;
        }
        Ok(())
    }

    async fn initialize(&self) -> Result<(), OrdererError> {
        let members = self.members();
        tracing::info!(channel = %self.channel, node = self.me, consenters = members.len(), "starting a new Raft group");
        match self.raft.initialize(members.nodes()).await {
            Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(OrdererError::Internal(format!("channel {}: {e}", self.channel))),
        }
    }

    fn fatal(&self, e: openraft::error::Fatal<NodeId>) -> OrdererError {
        OrdererError::Internal(format!("channel {}: {e}", self.channel))
    }

    /// The channel's consenters (as of the latest config block this orderer applied).
    pub fn members(&self) -> Arc<Members> {
        self.members.read().clone()
    }

    /// This orderer's node id in the channel.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Timing and sizes of the group.
    pub fn settings(&self) -> &RaftSettings {
        &self.settings
    }

    /// The openraft handle, for tests that inspect its metrics.
    #[cfg(test)]
    pub(crate) fn raft(&self) -> &ChannelRaft {
        &self.raft
    }

    /// Stops the consensus tasks and openraft (after the chain actor has stopped).
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(channel = %self.channel, error = %e, "Raft did not stop cleanly");
        }
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Waits until this node leads with its chain creating blocks (used after starting a
    /// single-consenter channel, so it is usable as soon as it is joined).
    pub async fn wait_leading(&self, timeout: Duration) -> bool {
        let mut rx = self.leadership.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|l| l.leading))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub(super) async fn enqueue(&self, envelope: Submitted) -> Result<(), OrdererError> {
        match tokio::time::timeout(ENQUEUE_WAIT, self.link.tx_ordered.send(envelope)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(OrdererError::Unavailable(format!(
                "the chain of channel {} is stopped; envelope not accepted",
                self.channel
            ))),
            Err(_) => Err(OrdererError::Unavailable(format!(
                "the ordering queue of channel {} stayed full for {}s; retry",
                self.channel,
                ENQUEUE_WAIT.as_secs()
            ))),
        }
    }

    async fn forward(&self, leader: NodeId, envelope: Submitted) -> Result<(), OrdererError> {
        self.client
            .forward(leader, envelope.envelope, envelope.config_seq, FORWARD_TIMEOUT)
            .await
            .map_err(|e| {
                OrdererError::Unavailable(format!(
                    "channel {}: forwarding to the Raft leader {} failed: {e}",
                    self.channel,
                    self.members().name(leader)
                ))
            })
    }

    fn no_leader(&self) -> OrdererError {
        OrdererError::Unavailable(format!(
            "channel {} has no Raft leader: an election is in progress or fewer than a quorum of its {} consenters are reachable; retry shortly",
            self.channel,
            self.members().len()
        ))
    }

    /// The refusal of an orderer the configuration removed from the consenters.
    pub(super) fn not_a_consenter(&self) -> OrdererError {
        OrdererError::Unavailable(format!(
            "this orderer is no longer a consenter of channel {}: send to one of its consenters ({})",
            self.channel,
            self.members()
                .others()
                .map(|c| c.endpoint.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// Whether the configuration removed this orderer from the consenters.
    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }
}

impl Consensus for RaftConsensus {
    fn submit(&self, envelope: Submitted) -> BoxFuture<'_, Result<(), OrdererError>> {
        Box::pin(async move {
            let deadline = Instant::now() + LEADER_WAIT;
            let mut rx = self.leadership.subscribe();
            loop {
                if self.is_evicted() {
                    return Err(self.not_a_consenter());
                }
                let l = rx.borrow_and_update().clone();
                if l.leading {
                    return self.enqueue(envelope).await;
                }
                if let Some(leader) = l.leader.filter(|id| *id != self.me) {
                    return self.forward(leader, envelope).await;
                }
                match tokio::time::timeout_at(deadline, rx.changed()).await {
                    Ok(Ok(())) => {}
                    _ => return Err(self.no_leader()),
                }
            }
        })
    }

    fn propose(&self, block: Block) -> Result<(), OrdererError> {
        let l = self.leadership.borrow().clone();
        if !l.leading {
            return Err(OrdererError::Unavailable(format!(
                "this orderer no longer leads channel {}; block not proposed",
                self.channel
            )));
        }
        self.tx_proposals.send((l.epoch, block)).map_err(|_| {
            OrdererError::Unavailable(format!("the proposer of channel {} stopped", self.channel))
        })
    }

    fn role(&self) -> Role {
        let l = self.leadership.borrow();
        if l.leading {
            Role::Leader
        } else {
            Role::Follower {
                leader: l
                    .leader
                    .filter(|id| *id != self.me)
                    .map(|id| self.members().name(id)),
            }
        }
    }
}

// The two tasks behind the trait.
impl RaftConsensus {
    /// Appends proposals in order; several can be in flight.
    async fn run_proposer(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<(u64, Block)>) {
        let mut stop = self.stop.subscribe();
        let mut in_flight = FuturesUnordered::new();
        loop {
            tokio::select! {
                _ = crate::stop_requested(&mut stop) => break,
                Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                    // A proposal that does not commit (leadership lost) is simply never applied.
                    if let Ok(Err(e)) = done {
                        tracing::debug!(channel = %self.channel, error = %e, "proposal not committed");
                    }
                }
                item = rx.recv() => {
                    let Some((epoch, block)) = item else { break };
                    let l = self.leadership.borrow().clone();
                    if !l.leading || l.epoch != epoch {
                        tracing::debug!(channel = %self.channel, "dropping a proposal of an earlier leadership");
                        continue;
                    }
                    match self.raft.client_write_ff(Proposal(block.encode_to_vec().into())).await {
                        Ok(rx) => in_flight.push(rx),
                        Err(e) => tracing::warn!(channel = %self.channel, error = %e, "Raft refused a proposal"),
                    }
                }
            }
        }
    }

    /// Follows openraft's metrics to report leadership, and asks for snapshots when they are due.
    async fn run_watcher(self: Arc<Self>, trigger: Arc<SnapshotTrigger>) {
        let mut stop = self.stop.subscribe();
        let mut metrics = self.raft.metrics();
        let mut tick = tokio::time::interval(self.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut seen = Instant::now();
        loop {
            tokio::select! {
                _ = crate::stop_requested(&mut stop) => break,
                changed = metrics.changed() => {
                    if changed.is_err() { break }
                    seen = Instant::now();
                }
                _ = tick.tick() => {}
                _ = trigger.due() => {
                    if let Err(e) = self.raft.trigger().snapshot().await {
                        tracing::warn!(channel = %self.channel, error = %e, "snapshot not triggered");
                    }
                }
            }
            let m = metrics.borrow().clone();
            self.follow(&m, seen).await;
        }
    }

    /// Whether `m` shows this node leading and hearing from a quorum within an election timeout.
    fn leads_with_quorum(&self, m: &RaftMetrics<NodeId, BasicNode>, seen: Instant) -> bool {
        let me = self.me;
        if m.state != ServerState::Leader || m.current_leader != Some(me) {
            return false;
        }
        m.millis_since_quorum_ack
            .is_some_and(|ms| Duration::from_millis(ms) + seen.elapsed() <= self.settings.election_timeout())
    }

    async fn follow(&self, m: &RaftMetrics<NodeId, BasicNode>, seen: Instant) {
        let leads = self.leads_with_quorum(m, seen);
        let leading = self.leadership.borrow().leading;
        if leads && !leading {
            self.become_leader(m.current_term).await;
        } else if !leads && leading {
            self.become_follower(m.current_leader);
        } else if self.leadership.borrow().leader != m.current_leader {
            self.leadership.send_modify(|l| l.leader = m.current_leader);
        }
    }

    async fn become_leader(&self, term: u64) {
        let wait = self.settings.election_timeout();
        // A quorum confirms this leader, and every entry of earlier terms is applied.
        if !matches!(
            tokio::time::timeout(wait, self.raft.ensure_linearizable()).await,
            Ok(Ok(_))
        ) {
            return;
        }
        // Entries this node appended earlier in the same term (before it lost its quorum) too.
        let last = self.raft.metrics().borrow().last_log_index;
        let waiter = self.raft.wait(Some(wait));
        if waiter
            .applied_index_at_least(last, "leader catch-up")
            .await
            .is_err()
        {
            return;
        }
        let m = self.raft.metrics().borrow().clone();
        if m.current_term != term || !self.leads_with_quorum(&m, Instant::now()) {
            return;
        }
        self.leadership.send_modify(|l| {
            l.leading = true;
            l.leader = Some(self.me);
            l.epoch += 1;
        });
        tracing::info!(channel = %self.channel, node = self.me, term, "leading the channel's Raft group");
        let _ = self.link.tx_events.send(ConsensusEvent::Role(Role::Leader));
    }

    fn become_follower(&self, leader: Option<NodeId>) {
        self.leadership.send_modify(|l| {
            l.leading = false;
            l.leader = leader;
        });
        let name = leader
            .filter(|id| *id != self.me)
            .map(|id| self.members().name(id));
        tracing::info!(channel = %self.channel, leader = ?name, "no longer leading (new leader, or no quorum)");
        let _ = self
            .link
            .tx_events
            .send(ConsensusEvent::Role(Role::Follower { leader: name }));
    }
}
