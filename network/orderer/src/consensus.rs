//! The seam between a channel's chain and the protocol that makes its orderers agree. In endorse →
//! order → validate it is the "order" itself: Broadcast hands envelopes to [`Consensus::submit`], and
//! blocks become final only when consensus says so.
//!
//! # The flow (Fabric's etcdraft)
//!
//! ```text
//!  Broadcast ──submit(env)──▶ Consensus ──tx_ordered (leader only)──▶ Chain: cutter → BlockCreator
//!                              ▲   │                                    │
//!                              │   └──tx_events: Committed / Role ──▶   │ (every orderer:
//!                              └──────────── propose(block) ◀───────────┘  check, sign, store)
//! ```
//!
//! 1. Broadcast validates an envelope and calls [`Consensus::submit`]. On the leader the envelope goes
//!    to the local chain through [`ChainLink::tx_ordered`]; on a follower it is forwarded to the
//!    leader, whose consensus puts it on *its* `tx_ordered`.
//! 2. The leader's chain cuts batches and creates blocks chained on the last *created* block, and
//!    calls [`Consensus::propose`] for each, in order.
//! 3. When a block is committed (a quorum has it), consensus sends [`ConsensusEvent::Committed`] on
//!    every orderer, in log order. Each orderer's chain checks the block extends its chain, signs it with
//!    its own identity and appends it. Header and data are identical everywhere; only the signature
//!    metadata differs, as in Fabric.
//! 4. Leadership changes are [`ConsensusEvent::Role`] events: the chain starts or stops creating blocks.
//!
//! The implementation is [`crate::raft::RaftConsensus`] (openraft, one group per channel; a channel
//! with one consenter is a one-node group). The chain sees only this trait, so the Raft code stays
//! behind it; the requirements any implementation must meet are on each item below.

use bytes::Bytes;
use carechain_proto::common::Block;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::OrdererError;
use crate::msgprocessor::Submitted;

/// This node's part in the channel's consensus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// It creates blocks; envelopes submitted anywhere end up here.
    Leader,
    /// It forwards envelopes to `leader` (the leader's node name, if one is known) and only appends
    /// committed blocks.
    Follower {
        /// The current leader, `None` during an election.
        leader: Option<String>,
    },
}

impl Role {
    /// `leader` or `follower`, as the Admin service reports it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower { .. } => "follower",
        }
    }
}

/// What consensus tells a channel's chain.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsensusEvent {
    /// `block` is final. Sent on every orderer, in chain order, exactly the block the leader proposed.
    /// After a restart an implementation may repeat blocks the store already holds (the chain skips
    /// them after checking they match); it must never skip one.
    Committed {
        /// The block as proposed (unsigned; each orderer signs its own copy).
        block: Block,
        /// Consensus bookkeeping to record in the block's `OrdererBlockMetadata.consenter_metadata`
        /// (Raft: the log id of the entry that carried it, so a restarted node knows how far its store
        /// got).
        consenter_metadata: Bytes,
    },
    /// This node's role changed. `Role::Leader` may only be sent once every entry before the leader's
    /// term has been delivered as `Committed`, so the new leader chains on the true tip.
    Role(Role),
}

/// The chain's ends of the channels a consensus implementation writes to. Created by the registry
/// when a channel starts and given to the implementation's constructor.
#[derive(Debug, Clone)]
pub struct ChainLink {
    /// Envelopes for the leader's block cutter, in the order the leader received them, each with the
    /// configuration sequence it was checked against.
    pub tx_ordered: mpsc::Sender<Submitted>,
    /// Committed blocks and role changes. Unbounded because the chain also proposes into consensus:
    /// a bounded queue could deadlock the two; the chain's in-flight limit bounds it in practice.
    pub tx_events: mpsc::UnboundedSender<ConsensusEvent>,
}

/// A consensus protocol for one channel, as seen by Broadcast, the chain and the Admin service.
///
/// Implementations are shared (`Arc<dyn Consensus>`) between the Broadcast handlers, the chain actor
/// and the registry.
pub trait Consensus: Send + Sync + std::fmt::Debug {
    /// Accepts a validated envelope for ordering and resolves once it is *accepted*, not when its block
    /// commits (clients learn that from Deliver / the peer's commit status).
    ///
    /// The leader sends it to `ChainLink::tx_ordered` (waiting while the queue is full). A follower
    /// forwards it to the leader over the cluster port; Raft must return
    /// [`OrdererError::Unavailable`] when there is no leader or the leader cannot be reached, which
    /// Broadcast answers with `SERVICE_UNAVAILABLE` so the client retries.
    fn submit(&self, envelope: Submitted) -> BoxFuture<'_, Result<(), OrdererError>>;

    /// Replicates a block the leader's chain created (called in order, only while this node reports
    /// `Role::Leader`). Must not block: Raft hands it to its proposer task. A block that does not
    /// commit (leadership lost) is simply never reported as `Committed`; the chain learns of the loss
    /// through a `Role` event.
    fn propose(&self, block: Block) -> Result<(), OrdererError>;

    /// The current role, for ChannelInfo.
    fn role(&self) -> Role;
}
