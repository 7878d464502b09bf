//! The cluster transport as the Raft group sees it: a small [`ClusterClient`] trait (send a Raft
//! message, forward an envelope, pull blocks) with two implementations — gRPC with mutual TLS between
//! orderers ([`super::grpc`]) and the in-memory network of the deterministic tests, which drops,
//! delays and reorders messages. It sits between ordering's consensus and the wire in endorse → order
//! → validate.
//!
//! Raft messages cross the trait as postcard bytes (see [`super::encode`]) in both implementations, so
//! the tests exercise the codec the wire uses. [`NetworkFactory`] adapts the trait to openraft's
//! `RaftNetwork`, and [`ConsenterBlocks`] to the state machine's [`BlockSource`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use carechain_proto::common::Block;
use futures::future::BoxFuture;
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::settings::SharedMembers;
use super::state_machine::BlockSource;
use super::{NodeId, TypeConfig, decode, encode};
use crate::OrdererError;

/// How long a catching-up orderer keeps trying the other consenters for missing blocks.
const PULL_PATIENCE: Duration = Duration::from_secs(60);

/// The Raft messages of the `Cluster` service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftKind {
    /// AppendEntries (and heartbeats).
    AppendEntries,
    /// RequestVote.
    Vote,
    /// One chunk of InstallSnapshot.
    InstallSnapshot,
}

/// Why a cluster call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The orderer could not be reached (down, refusing, partitioned): back off before retrying.
    #[error("orderer {node} unreachable: {detail}")]
    Unreachable {
        /// Who.
        node: String,
        /// Why.
        detail: String,
    },
    /// The call reached the orderer and failed, or its answer did not arrive in time.
    #[error("call to orderer {node} failed: {detail}")]
    Failed {
        /// Who.
        node: String,
        /// Why.
        detail: String,
    },
}

/// Calls from this orderer to the other consenters of one channel.
pub trait ClusterClient: Send + Sync + 'static {
    /// Sends a postcard-encoded Raft request to `target` and returns its encoded reply
    /// (`Result<Response, RaftError>`), within `timeout`.
    fn raft(
        &self,
        target: NodeId,
        kind: RaftKind,
        payload: Bytes,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Bytes, ClusterError>>;

    /// Hands an envelope, checked against configuration `config_seq`, to the leader `target`'s block
    /// cutter.
    fn forward(
        &self,
        target: NodeId,
        envelope: Bytes,
        config_seq: u64,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), ClusterError>>;

    /// Blocks `start..end` of `target`'s chain (fewer if it has fewer, or past a size limit).
    fn pull_blocks(
        &self,
        target: NodeId,
        start: u64,
        end: u64,
    ) -> BoxFuture<'_, Result<Vec<Block>, ClusterError>>;
}

/// openraft's network factory over a [`ClusterClient`].
#[derive(Clone)]
pub struct NetworkFactory {
    client: Arc<dyn ClusterClient>,
}

impl NetworkFactory {
    /// Raft connections over `client`.
    pub fn new(client: Arc<dyn ClusterClient>) -> NetworkFactory {
        NetworkFactory { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> Peer {
        Peer {
            client: self.client.clone(),
            target,
        }
    }
}

/// The connection to one consenter, as openraft uses it.
pub struct Peer {
    client: Arc<dyn ClusterClient>,
    target: NodeId,
}

impl Peer {
    async fn call<Req, Resp, E>(
        &self,
        kind: RaftKind,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let payload = encode(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let reply = self
            .client
            .raft(self.target, kind, payload.into(), option.hard_ttl())
            .await
            .map_err(|e| match e {
                ClusterError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&e)),
                ClusterError::Failed { .. } => RPCError::Network(NetworkError::new(&e)),
            })?;
        let result: Result<Resp, RaftError<NodeId, E>> =
            decode(&reply).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(RaftKind::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(RaftKind::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(RaftKind::Vote, &rpc, &option).await
    }
}

/// Pulls missing blocks from the other consenters in turn (the state machine's [`BlockSource`], and
/// an orderer joining from a later config block).
pub struct ConsenterBlocks {
    client: Arc<dyn ClusterClient>,
    members: SharedMembers,
    channel: String,
}

impl ConsenterBlocks {
    /// A source over the current consenters of `members` other than this orderer.
    pub fn new(channel: &str, client: Arc<dyn ClusterClient>, members: SharedMembers) -> ConsenterBlocks {
        ConsenterBlocks {
            client,
            members,
            channel: channel.to_string(),
        }
    }

    async fn fetch_once(&self, start: u64, end: u64) -> Option<Vec<Block>> {
        let members = self.members.read().clone();
        for c in members.others() {
            match self.client.pull_blocks(c.id, start, end).await {
                Ok(blocks) if first_number(&blocks) == Some(start) => return Some(blocks),
                Ok(_) => {
                    tracing::debug!(channel = %self.channel, from = %c.endpoint, start, "consenter lacks the blocks")
                }
                Err(e) => tracing::debug!(channel = %self.channel, error = %e, "pulling blocks failed"),
            }
        }
        None
    }
}

fn first_number(blocks: &[Block]) -> Option<u64> {
    blocks.first().and_then(|b| b.header.as_ref()).map(|h| h.number)
}

impl BlockSource for ConsenterBlocks {
    fn fetch(&self, start: u64, end: u64) -> BoxFuture<'_, Result<Vec<Block>, OrdererError>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + PULL_PATIENCE;
            loop {
                if let Some(blocks) = self.fetch_once(start, end).await {
                    return Ok(blocks);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(OrdererError::Unavailable(format!(
                        "no other consenter of channel {} served block {start} within {}s",
                        self.channel,
                        PULL_PATIENCE.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    }
}
