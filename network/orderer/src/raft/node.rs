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

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use carechain_proto::common::Block;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use openraft::error::{InitializeError, RaftError};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::{BasicNode, RaftMetrics, ServerState};
use parking_lot::Mutex;
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::log_store::{LogStore, RaftDb};
use super::network::{ClusterClient, ConsenterBlocks, NetworkFactory, RaftKind};
use super::settings::{Members, RaftSettings};
use super::state_machine::{SnapshotTrigger, StateMachine, StateMachineParams};
use super::{ChannelRaft, NodeId, Proposal, TypeConfig, decode, encode};
use crate::OrdererError;
use crate::consensus::{ChainLink, Consensus, ConsensusEvent, Role};
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
struct Leadership {
    /// The leader openraft reports, this node included; `None` during an election.
    leader: Option<NodeId>,
    /// This node leads with a quorum and its chain creates blocks (`Role::Leader` was sent).
    leading: bool,
    /// Counts `Role::Leader` reports; tags proposals so stale ones are dropped.
    epoch: u64,
}

/// Raft consensus for one channel (see the module docs).
pub struct RaftConsensus {
    channel: String,
    members: Arc<Members>,
    settings: RaftSettings,
    raft: ChannelRaft,
    link: ChainLink,
    store: Arc<BlockStore>,
    client: Arc<dyn ClusterClient>,
    leadership: watch::Sender<Leadership>,
    tx_proposals: mpsc::UnboundedSender<(u64, Block)>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    pull_limit: usize,
}

impl std::fmt::Debug for RaftConsensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftConsensus")
            .field("channel", &self.channel)
            .field("node", &self.members.me())
            .field("leadership", &*self.leadership.borrow())
            .finish_non_exhaustive()
    }
}

impl RaftConsensus {
    /// Opens the state machine, starts openraft and the consensus tasks, and bootstraps a pristine
    /// group with the channel's consenters (every consenter does so with the same membership).
    pub async fn start(p: RaftParams) -> Result<Arc<RaftConsensus>, OrdererError> {
        let channel = p.channel_id.clone();
        let members = Arc::new(p.members);
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
        let raft = openraft::Raft::new(members.me(), config, network, LogStore::new(p.db), state_machine)
            .await
            .map_err(|e| OrdererError::Internal(format!("channel {channel}: starting Raft: {e}")))?;
        let (tx_proposals, rx_proposals) = mpsc::unbounded_channel();
        let consensus = Arc::new(RaftConsensus {
            channel,
            members,
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
        consensus.tasks.lock().extend([proposer, watcher]);
        consensus.bootstrap().await?;
        Ok(consensus)
    }

    /// A pristine group is formed by its first consenter: it initializes the membership and elects
    /// itself; the others join when it reaches them. Had every consenter initialized on joining, a late
    /// joiner's first election (term 1) would depose a leader already elected in term 1. Another
    /// consenter initializes only if nobody has reached it within a few election timeouts (the first
    /// consenter is down); that is safe, the membership being the same everywhere.
    async fn bootstrap(self: &Arc<Self>) -> Result<(), OrdererError> {
        if !self.raft.is_initialized().await.map_err(|e| self.fatal(e))? {
            if self.members.me() == 1 {
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
        } else if self.members.len() == 1 {
            // Alone in the group: no one else can win, so don't wait an election timeout.
            self.raft.trigger().elect().await.map_err(|e| self.fatal(e))?;
        }
        Ok(())
    }

    async fn initialize(&self) -> Result<(), OrdererError> {
        tracing::info!(channel = %self.channel, node = self.members.me(), consenters = self.members.len(), "starting a new Raft group");
        match self.raft.initialize(self.members.nodes()).await {
            Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(OrdererError::Internal(format!("channel {}: {e}", self.channel))),
        }
    }

    fn fatal(&self, e: openraft::error::Fatal<NodeId>) -> OrdererError {
        OrdererError::Internal(format!("channel {}: {e}", self.channel))
    }

    /// The channel's consenters.
    pub fn members(&self) -> &Members {
        &self.members
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

    /// Handles a Raft message from consenter `caller` (the cluster service authenticated it by its TLS
    /// certificate); the message must be sent in the caller's own name.
    pub async fn handle_raft(
        &self,
        caller: NodeId,
        kind: RaftKind,
        payload: &[u8],
    ) -> Result<Vec<u8>, OrdererError> {
        let bad = |e: super::CodecError| OrdererError::BadRequest(format!("channel {}: {e}", self.channel));
        let reply = match kind {
            RaftKind::AppendEntries => {
                let req: AppendEntriesRequest<TypeConfig> = decode(payload).map_err(bad)?;
                self.check_sender(caller, req.vote.leader_id().voted_for())?;
                encode(&self.raft.append_entries(req).await)
            }
            RaftKind::Vote => {
                let req: VoteRequest<NodeId> = decode(payload).map_err(bad)?;
                self.check_sender(caller, req.vote.leader_id().voted_for())?;
                encode(&self.raft.vote(req).await)
            }
            RaftKind::InstallSnapshot => {
                let req: InstallSnapshotRequest<TypeConfig> = decode(payload).map_err(bad)?;
                self.check_sender(caller, req.vote.leader_id().voted_for())?;
                encode(&self.raft.install_snapshot(req).await)
            }
        };
        reply.map_err(|e| OrdererError::Internal(format!("channel {}: {e}", self.channel)))
    }

    fn check_sender(&self, caller: NodeId, claimed: Option<NodeId>) -> Result<(), OrdererError> {
        match claimed {
            Some(id) if id == caller => Ok(()),
            other => Err(OrdererError::Forbidden(format!(
                "channel {}: consenter {} sent a Raft message in the name of {}",
                self.channel,
                self.members.name(caller),
                other.map_or_else(|| "nobody".to_string(), |id| self.members.name(id))
            ))),
        }
    }

    /// An envelope a follower forwarded: ordered if this node leads, refused otherwise (one hop only,
    /// so a stale view of who leads cannot bounce envelopes around).
    pub async fn accept_forwarded(&self, caller: NodeId, envelope: Bytes) -> Result<(), OrdererError> {
        if self.leadership.borrow().leading {
            return self.enqueue(envelope).await;
        }
        Err(OrdererError::Unavailable(format!(
            "{} forwarded an envelope of channel {} to {}, which is not its leader",
            self.members.name(caller),
            self.channel,
            self.members.name(self.members.me())
        )))
    }

    /// Blocks `start..end` from the store, up to the byte limit, and the chain's height.
    pub async fn serve_blocks(&self, start: u64, end: u64) -> Result<(Vec<Block>, u64), OrdererError> {
        let (store, limit) = (self.store.clone(), self.pull_limit);
        tokio::task::spawn_blocking(move || {
            let height = store.height();
            let (mut out, mut bytes) = (Vec::new(), 0usize);
            for n in start..end.min(height) {
                let Some(block) = store.block(n)? else { break };
                bytes += block.encoded_len();
                if !out.is_empty() && bytes > limit {
                    break;
                }
                out.push(block);
            }
            Ok((out, height))
        })
        .await
        .map_err(|e| OrdererError::Internal(format!("block read task failed: {e}")))?
    }

    async fn enqueue(&self, envelope: Bytes) -> Result<(), OrdererError> {
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

    async fn forward(&self, leader: NodeId, envelope: Bytes) -> Result<(), OrdererError> {
        self.client
            .forward(leader, envelope, FORWARD_TIMEOUT)
            .await
            .map_err(|e| {
                OrdererError::Unavailable(format!(
                    "channel {}: forwarding to the Raft leader {} failed: {e}",
                    self.channel,
                    self.members.name(leader)
                ))
            })
    }

    fn no_leader(&self) -> OrdererError {
        OrdererError::Unavailable(format!(
            "channel {} has no Raft leader: an election is in progress or fewer than a quorum of its {} consenters are reachable; retry shortly",
            self.channel,
            self.members.len()
        ))
    }
}

impl Consensus for RaftConsensus {
    fn submit(&self, envelope: Bytes) -> BoxFuture<'_, Result<(), OrdererError>> {
        Box::pin(async move {
            let deadline = Instant::now() + LEADER_WAIT;
            let mut rx = self.leadership.subscribe();
            loop {
                let l = rx.borrow_and_update().clone();
                if l.leading {
                    return self.enqueue(envelope).await;
                }
                if let Some(leader) = l.leader.filter(|id| *id != self.members.me()) {
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
                    .filter(|id| *id != self.members.me())
                    .map(|id| self.members.name(id)),
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
        let me = self.members.me();
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
            l.leader = Some(self.members.me());
            l.epoch += 1;
        });
        tracing::info!(channel = %self.channel, node = self.members.me(), term, "leading the channel's Raft group");
        let _ = self.link.tx_events.send(ConsensusEvent::Role(Role::Leader));
    }

    fn become_follower(&self, leader: Option<NodeId>) {
        self.leadership.send_modify(|l| {
            l.leading = false;
            l.leader = leader;
        });
        let name = leader
            .filter(|id| *id != self.members.me())
            .map(|id| self.members.name(id));
        tracing::info!(channel = %self.channel, leader = ?name, "no longer leading (new leader, or no quorum)");
        let _ = self
            .link
            .tx_events
            .send(ConsensusEvent::Role(Role::Follower { leader: name }));
    }
}
