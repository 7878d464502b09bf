//! Consenter changes: a config block that adds or removes a consenter of a channel becomes a Raft
//! membership change. In endorse → order → validate it is how the set of orderers that order a channel
//! changes without stopping ordering.
//!
//! Every orderer applies the config block (its chain publishes the configuration; the registry hands
//! the new consenter set to [`RaftConsensus::set_members`]). The leader then reconciles openraft's
//! membership with the consenter set ([`plan`]): a new consenter is added as a learner (replication
//! to it starts; it catches up from the log or a snapshot once it has joined the channel) and then
//! made a voter; a removed consenter is taken out of the voters, through openraft's joint consensus.
//! The reconciliation runs whenever the consenters or the leadership change and periodically, so a
//! change interrupted by a leader crash is finished by the next leader.
//!
//! An orderer the configuration removed stops taking envelopes at once ([`RaftConsensus::evict`]); if
//! it leads, it carries out its own removal and steps down when it is committed. [`RaftConsensus::leave`]
//! tells the registry when it can stop its Raft node and chain.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use openraft::{BasicNode, ChangeMembers, RaftMetrics, ServerState};

use super::settings::Members;
use super::{NodeId, RaftConsensus};

/// One membership change the leader makes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipStep {
    /// Start replicating to a new consenter.
    AddLearner(NodeId, BasicNode),
    /// Make the voters exactly these (joint consensus, then the uniform configuration).
    SetVoters(BTreeSet<NodeId>),
    /// Stop replicating to learners that are not consenters (an addition that was reverted).
    RemoveLearners(BTreeSet<NodeId>),
}

/// The steps that turn a Raft membership (`joint`: a change is half done; `voters`; `learners`) into
/// the consenter set `desired`. Empty when they already agree. Pure.
pub fn plan(
    joint: bool,
    voters: &BTreeSet<NodeId>,
    learners: &BTreeSet<NodeId>,
    desired: &BTreeMap<NodeId, BasicNode>,
) -> Vec<MembershipStep> {
    let wanted: BTreeSet<NodeId> = desired.keys().copied().collect();
    let mut steps = Vec::new();
    if joint || *voters != wanted {
        for (id, node) in desired {
            if !voters.contains(id) && !learners.contains(id) {
                steps.push(MembershipStep::AddLearner(*id, node.clone()));
            }
        }
        steps.push(MembershipStep::SetVoters(wanted));
        return steps;
    }
    let stray: BTreeSet<NodeId> = learners.difference(&wanted).copied().collect();
    if !stray.is_empty() {
        steps.push(MembershipStep::RemoveLearners(stray));
    }
    steps
}

impl RaftConsensus {
    /// The consenter set of a new configuration (this orderer among them, or not when it was
    /// removed: see [`RaftConsensus::evict`]). Consenters it drops stay known as retired until they
    /// leave the Raft membership.
    pub fn set_members(&self, next: Members) {
        let merged = self.members().succeeded_by(next);
        tracing::info!(channel = %self.channel, consenters = ?merged.ids(), "consenter set updated");
        *self.members.write() = Arc::new(merged);
        self.members_changed.send_modify(|v| *v += 1);
    }

    /// The configuration no longer lists this orderer as a consenter: from now on it refuses
    /// envelopes; a leader still carries out the membership change.
    pub fn evict(&self) {
        if !self.evicted.swap(true, Ordering::AcqRel) {
            tracing::info!(channel = %self.channel, node = self.me, "removed from the channel's consenters");
        }
    }

    /// Waits (at most `patience`) until this removed orderer may stop: the Raft configuration without
    /// it is committed and it does not lead. Returns whether that happened in time.
    pub async fn leave(&self, patience: Duration) -> bool {
        let mut metrics = self.raft.metrics();
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if self.is_out(&metrics.borrow_and_update()) {
                return true;
            }
            match tokio::time::timeout_at(deadline, metrics.changed()).await {
                Ok(Ok(())) => {}
                _ => return false,
            }
        }
    }

    fn is_out(&self, m: &RaftMetrics<NodeId, BasicNode>) -> bool {
        let stored = &m.membership_config;
        let latest = stored.membership().get_joint_config().last();
        let excluded = latest.is_none_or(|voters| !voters.contains(&self.me));
        let committed = m.last_applied.as_ref() >= stored.log_id().as_ref();
        excluded && committed && m.state != ServerState::Leader
    }

    /// Reconciles the Raft membership with the consenter set while this node leads.
    pub(super) async fn run_membership(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        let mut changed = self.members_changed.subscribe();
        let mut metrics = self.raft.metrics();
        let mut retry = tokio::time::interval(self.settings.election_timeout());
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = crate::stop_requested(&mut stop) => break,
                r = changed.changed() => if r.is_err() { break },
                r = metrics.changed() => if r.is_err() { break },
                _ = retry.tick() => {}
            }
            let m = metrics.borrow_and_update().clone();
            self.forget_departed(&m);
            if m.state != ServerState::Leader || m.current_leader != Some(self.me) {
                continue;
            }
            let membership = m.membership_config.membership();
            let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
            let learners: BTreeSet<NodeId> = membership.learner_ids().collect();
            let joint = membership.get_joint_config().len() > 1;
            let steps = plan(joint, &voters, &learners, &self.members().nodes());
            for step in steps {
                if let Err(e) = self.carry_out(&step).await {
                    tracing::warn!(channel = %self.channel, ?step, error = %e, "membership change not done; retrying");
                    break;
                }
            }
        }
    }

    async fn carry_out(&self, step: &MembershipStep) -> Result<(), String> {
        let wait = self.settings.election_timeout() * 4;
        let result = match step {
            MembershipStep::AddLearner(id, node) => {
                tokio::time::timeout(wait, self.raft.add_learner(*id, node.clone(), false)).await
            }
            MembershipStep::SetVoters(ids) => {
                tokio::time::timeout(wait * 2, self.raft.change_membership(ids.clone(), false)).await
            }
            MembershipStep::RemoveLearners(ids) => {
                let change = ChangeMembers::RemoveNodes(ids.clone());
                tokio::time::timeout(wait, self.raft.change_membership(change, false)).await
            }
        };
        match result {
            Ok(Ok(_)) => {
                let members = self.members();
                let name = |id: &NodeId| members.name(*id);
                match step {
                    MembershipStep::AddLearner(id, _) => {
                        tracing::info!(channel = %self.channel, learner = name(id), "replicating to a new consenter")
                    }
                    MembershipStep::SetVoters(ids) => {
                        let voters: Vec<String> = ids.iter().map(name).collect();
                        tracing::info!(channel = %self.channel, ?voters, "Raft voters changed")
                    }
                    MembershipStep::RemoveLearners(ids) => {
                        tracing::info!(channel = %self.channel, ?ids, "stray learners removed")
                    }
                }
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("not committed within {}s", (wait * 2).as_secs())),
        }
    }

    /// Forgets retired consenters once the Raft membership no longer has them.
    fn forget_departed(&self, m: &RaftMetrics<NodeId, BasicNode>) {
        let membership = m.membership_config.membership();
        if let Some(next) = self
            .members()
            .retire_departed(|id| membership.get_node(&id).is_some())
        {
            *self.members.write() = Arc::new(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: NodeId) -> (NodeId, BasicNode) {
        (id, BasicNode::new(format!("o{id}:7052")))
    }

    #[test]
    fn a_new_consenter_is_added_as_learner_then_voter() {
        let voters = BTreeSet::from([1, 2, 3]);
        let desired = BTreeMap::from([node(1), node(2), node(3), node(9)]);
        assert_eq!(
            plan(false, &voters, &BTreeSet::new(), &desired),
            vec![
                MembershipStep::AddLearner(9, BasicNode::new("o9:7052")),
                MembershipStep::SetVoters(BTreeSet::from([1, 2, 3, 9])),
            ]
        );
        // Already a learner (a previous leader added it): only the promotion is left.
        assert_eq!(
            plan(false, &voters, &BTreeSet::from([9]), &desired),
            vec![MembershipStep::SetVoters(BTreeSet::from([1, 2, 3, 9]))]
        );
    }

    #[test]
    fn a_removed_consenter_leaves_the_voters_and_half_done_changes_are_finished() {
        let voters = BTreeSet::from([1, 2, 3, 9]);
        let desired = BTreeMap::from([node(2), node(3), node(9)]);
        assert_eq!(
            plan(false, &voters, &BTreeSet::new(), &desired),
            vec![MembershipStep::SetVoters(BTreeSet::from([2, 3, 9]))]
        );
        // A joint configuration left by a crashed leader: the voter union equals nothing desired.
        assert_eq!(
            plan(true, &BTreeSet::from([2, 3, 9]), &BTreeSet::new(), &desired),
            vec![MembershipStep::SetVoters(BTreeSet::from([2, 3, 9]))]
        );
        assert!(plan(false, &BTreeSet::from([2, 3, 9]), &BTreeSet::new(), &desired).is_empty());
        assert_eq!(
            plan(false, &BTreeSet::from([2, 3, 9]), &BTreeSet::from([7]), &desired),
            vec![MembershipStep::RemoveLearners(BTreeSet::from([7]))]
        );
    }
}
