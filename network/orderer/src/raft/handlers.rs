//! What a consenter answers on the cluster port for one channel: Raft messages, envelopes a follower
//! forwards to the leader, and blocks for an orderer catching up. These are the receiving ends of the
//! orderer-to-orderer traffic of endorse → order → validate; [`super::grpc::ClusterService`] has
//! already identified the calling consenter by its TLS client certificate.

use bytes::Bytes;
use carechain_proto::common::{Block, HeaderType};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use prost::Message;

use super::network::RaftKind;
use super::{NodeId, RaftConsensus, TypeConfig, decode, encode};
use crate::OrdererError;
use crate::msgprocessor::Submitted;

impl RaftConsensus {
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
            other => {
                let members = self.members();
                Err(OrdererError::Forbidden(format!(
                    "channel {}: consenter {} sent a Raft message in the name of {}",
                    self.channel,
                    members.name(caller),
                    other.map_or_else(|| "nobody".to_string(), |id| members.name(id))
                )))
            }
        }
    }

    /// An envelope a follower forwarded, checked there against configuration `config_seq`: ordered if
    /// this node leads, refused otherwise (one hop only, so a stale view of who leads cannot bounce
    /// envelopes around). Only current consenters forward.
    pub async fn accept_forwarded(
        &self,
        caller: NodeId,
        envelope: Bytes,
        config_seq: u64,
    ) -> Result<(), OrdererError> {
        let members = self.members();
        if !members.is_consenter(caller) {
            return Err(OrdererError::Forbidden(format!(
                "{} is not a consenter of channel {} and may not forward envelopes",
                members.name(caller),
                self.channel
            )));
        }
        if self.is_evicted() {
            return Err(self.not_a_consenter());
        }
        if self.leadership.borrow().leading {
            let is_config =
                carechain_channel::block::envelope_type(&envelope) == Some(HeaderType::Config as i32);
            return self
                .enqueue(Submitted {
                    envelope,
                    config_seq,
                    is_config,
                })
                .await;
        }
        Err(OrdererError::Unavailable(format!(
            "{} forwarded an envelope of channel {} to {}, which is not its leader",
            members.name(caller),
            self.channel,
            members.name(self.me)
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
}
