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
//! [`Solo`] is the single-node implementation: it is always the leader and every proposal commits at
//! once. The Raft implementation (openraft, one group per channel) replaces it without changing the
//! chain; the requirements it must meet are on each item below.

use bytes::Bytes;
use carechain_proto::common::Block;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::OrdererError;

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
        /// (Raft: its log index, so a restarted node knows how far its store got). Empty for solo.
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
    /// Envelopes for the leader's block cutter, in the order the leader received them.
    pub tx_ordered: mpsc::Sender<Bytes>,
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
    fn submit(&self, envelope: Bytes) -> BoxFuture<'_, Result<(), OrdererError>>;

    /// Replicates a block the leader's chain created (called in order, only while this node reports
    /// `Role::Leader`). Must not block: Raft hands it to its proposer task. A block that does not
    /// commit (leadership lost) is simply never reported as `Committed`; the chain learns of the loss
    /// through a `Role` event.
    fn propose(&self, block: Block) -> Result<(), OrdererError>;

    /// The current role, for ChannelInfo.
    fn role(&self) -> Role;
}

/// Single-node consensus: this orderer is the only consenter, so it is always the leader and a
/// proposed block is committed the moment it is proposed.
#[derive(Debug)]
pub struct Solo {
    link: ChainLink,
}

impl Solo {
    /// Solo consensus over `link`; reports leadership to the chain at once.
    pub fn new(link: ChainLink) -> Solo {
        // The chain may already be gone (channel stopping); then nothing listens and nothing is lost.
        let _ = link.tx_events.send(ConsensusEvent::Role(Role::Leader));
        Solo { link }
    }
}

impl Consensus for Solo {
    fn submit(&self, envelope: Bytes) -> BoxFuture<'_, Result<(), OrdererError>> {
        Box::pin(async move {
            self.link.tx_ordered.send(envelope).await.map_err(|_| {
                OrdererError::Unavailable("the channel's chain is stopped; envelope not accepted".into())
            })
        })
    }

    fn propose(&self, block: Block) -> Result<(), OrdererError> {
        self.link
            .tx_events
            .send(ConsensusEvent::Committed {
                block,
                consenter_metadata: Bytes::new(),
            })
            .map_err(|_| {
                OrdererError::Unavailable("the channel's chain is stopped; block not committed".into())
            })
    }

    fn role(&self) -> Role {
        Role::Leader
    }
}

#[cfg(test)]
mod tests {
    use carechain_channel::block::new_block;

    use super::*;

    #[tokio::test]
    async fn solo_leads_and_commits_every_proposal_in_order() {
        let (tx_ordered, mut rx_ordered) = mpsc::channel(4);
        let (tx_events, mut rx_events) = mpsc::unbounded_channel();
        let solo = Solo::new(ChainLink {
            tx_ordered,
            tx_events,
        });
        assert_eq!(rx_events.recv().await, Some(ConsensusEvent::Role(Role::Leader)));
        assert_eq!(solo.role().as_str(), "leader");
        solo.submit(Bytes::from_static(b"env")).await.unwrap();
        assert_eq!(rx_ordered.recv().await.unwrap().as_ref(), b"env");
        let (b1, b2) = (new_block(1, &[1; 32], vec![]), new_block(2, &[2; 32], vec![]));
        solo.propose(b1.clone()).unwrap();
        solo.propose(b2.clone()).unwrap();
        for want in [b1, b2] {
            match rx_events.recv().await {
                Some(ConsensusEvent::Committed { block, .. }) => assert_eq!(block, want),
                other => panic!("expected a committed block, got {other:?}"),
            }
        }
        drop(rx_ordered);
        assert!(matches!(
            solo.submit(Bytes::new()).await,
            Err(OrdererError::Unavailable(_))
        ));
    }
}
