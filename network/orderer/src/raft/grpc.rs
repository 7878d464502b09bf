//! The cluster port's gRPC shells: [`GrpcCluster`] dials the other consenters of a channel with this
//! orderer's TLS identity (mutual TLS), and [`ClusterService`] answers them. They carry ordering's
//! Raft traffic, forwarded envelopes and catch-up blocks between orderers in endorse → order →
//! validate.
//!
//! A caller is identified by the client certificate of its TLS session: it must be the
//! `ClientTLSCert` of one of the channel's consenters (Fabric's rule), and a Raft message must be sent
//! in that consenter's own name. The TLS layer has already checked the certificate chains to a TLS CA
//! of a served channel. When a config block changes the consenters, [`GrpcCluster::reconfigure`] dials
//! the new ones; a consenter just removed may still send Raft messages until it has left the Raft
//! membership (it may be the leader carrying out its own removal), nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use bytes::Bytes;
use carechain_proto::carechain::cluster::cluster_client::ClusterClient as GrpcClient;
use carechain_proto::carechain::cluster::cluster_server::Cluster;
use carechain_proto::carechain::cluster::{
    ForwardRequest, ForwardResponse, PullBlocksRequest, PullBlocksResponse, RaftMessage,
};
use carechain_proto::common::Block;
use carechain_transport::{ClientTls, TlsIdentity, connect_lazy};
use futures::future::BoxFuture;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

use super::network::{ClusterClient, ClusterError, RaftKind};
use super::settings::{Consenter, Members};
use super::{NodeId, RaftConsensus};
use crate::OrdererError;

/// How long a PullBlocks call may take.
const PULL_TIMEOUT: Duration = Duration::from_secs(30);

/// The client side: one lazily connected gRPC channel per other consenter of a channel.
pub struct GrpcCluster {
    channel: String,
    identity: TlsIdentity,
    max_message_size: usize,
    dial: RwLock<Dial>,
}

/// Who is dialed, and how.
struct Dial {
    members: Arc<Members>,
    ca_pem: Vec<u8>,
    /// By node id: the endpoint dialed and its client.
    peers: HashMap<NodeId, (String, GrpcClient<Channel>)>,
}

/// What dialing the consenters needs.
pub struct GrpcClusterParams<'a> {
    /// The channel.
    pub channel: &'a str,
    /// Its consenters.
    pub members: Arc<Members>,
    /// This orderer's TLS identity (its client certificate must be its consenter `ClientTLSCert`).
    pub identity: &'a TlsIdentity,
    /// TLS CA certificates (PEM) the consenters' server certificates chain to.
    pub ca_pem: Vec<u8>,
    /// gRPC message size limit.
    pub max_message_size: usize,
}

impl GrpcCluster {
    /// Prepares connections to every other consenter (connected on first use, reconnected after
    /// failures).
    pub fn new(p: GrpcClusterParams<'_>) -> Result<GrpcCluster, OrdererError> {
        let cluster = GrpcCluster {
            channel: p.channel.to_string(),
            identity: p.identity.clone(),
            max_message_size: p.max_message_size,
            dial: RwLock::new(Dial {
                members: p.members.clone(),
                ca_pem: p.ca_pem.clone(),
                peers: HashMap::new(),
            }),
        };
        cluster.reconfigure(p.members, p.ca_pem)?;
        Ok(cluster)
    }

    /// Dials the consenters of `members` (retired ones included) with `ca_pem` as trust: new
    /// consenters and moved endpoints get new connections, unchanged ones keep theirs, departed ones
    /// are dropped; a new CA set redials everyone.
    pub fn reconfigure(&self, members: Arc<Members>, ca_pem: Vec<u8>) -> Result<(), OrdererError> {
        let mut dial = self.dial.write();
        let redial_all = dial.ca_pem != ca_pem;
        let mut peers = HashMap::new();
        for c in members.peers() {
            match dial.peers.get(&c.id) {
                Some((endpoint, client)) if !redial_all && *endpoint == c.endpoint => {
                    peers.insert(c.id, (endpoint.clone(), client.clone()));
                }
                _ => {
                    peers.insert(c.id, (c.endpoint.clone(), self.connect(c, &ca_pem)?));
                }
            }
        }
        *dial = Dial {
            members,
            ca_pem,
            peers,
        };
        Ok(())
    }

    fn connect(&self, c: &Consenter, ca_pem: &[u8]) -> Result<GrpcClient<Channel>, OrdererError> {
        let tls = ClientTls {
            ca_pem: ca_pem.to_vec(),
            identity: Some(self.identity.clone()),
            server_name: Some(c.host.clone()),
            max_message_bytes: self.max_message_size,
        };
        let channel = connect_lazy(&c.endpoint, &tls)?;
        Ok(GrpcClient::new(channel)
            .max_decoding_message_size(self.max_message_size)
            .max_encoding_message_size(self.max_message_size))
    }

    fn peer(&self, target: NodeId) -> Result<GrpcClient<Channel>, ClusterError> {
        let dial = self.dial.read();
        dial.peers
            .get(&target)
            .map(|(_, client)| client.clone())
            .ok_or_else(|| ClusterError::Failed {
                node: dial.members.name(target),
                detail: format!("not a consenter of channel {}", self.channel),
            })
    }

    fn error(&self, target: NodeId, status: &Status) -> ClusterError {
        let node = self.dial.read().members.name(target);
        let detail = status.message().to_string();
        match status.code() {
            // NotFound: it has not joined the channel (yet); back off rather than retry at once.
            Code::Unavailable | Code::Cancelled | Code::NotFound => {
                ClusterError::Unreachable { node, detail }
            }
            _ => ClusterError::Failed { node, detail },
        }
    }
}

fn request<T>(message: T, timeout: Duration) -> Request<T> {
    let mut r = Request::new(message);
    r.set_timeout(timeout);
    r
}

async fn within<T>(timeout: Duration, f: impl Future<Output = Result<T, Status>>) -> Result<T, Status> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or_else(|_| Err(Status::deadline_exceeded("no answer in time")))
}

impl ClusterClient for GrpcCluster {
    fn raft(
        &self,
        target: NodeId,
        kind: RaftKind,
        payload: Bytes,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Bytes, ClusterError>> {
        Box::pin(async move {
            let mut client = self.peer(target)?;
            let msg = request(
                RaftMessage {
                    channel: self.channel.clone(),
                    payload,
                },
                timeout,
            );
            let reply = within(timeout, async {
                match kind {
                    RaftKind::AppendEntries => client.append_entries(msg).await,
                    RaftKind::Vote => client.vote(msg).await,
                    RaftKind::InstallSnapshot => client.install_snapshot(msg).await,
                }
            });
            let reply = reply.await.map_err(|s| self.error(target, &s))?;
            Ok(reply.into_inner().payload)
        })
    }

    fn forward(
        &self,
        target: NodeId,
        envelope: Bytes,
        config_seq: u64,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            let mut client = self.peer(target)?;
            let msg = request(
                ForwardRequest {
                    channel: self.channel.clone(),
                    envelope,
                    config_seq,
                },
                timeout,
            );
            within(timeout, client.forward(msg))
                .await
                .map(|_| ())
                .map_err(|s| self.error(target, &s))
        })
    }

    fn pull_blocks(
        &self,
        target: NodeId,
        start: u64,
        end: u64,
    ) -> BoxFuture<'_, Result<Vec<Block>, ClusterError>> {
        Box::pin(async move {
            let mut client = self.peer(target)?;
            let msg = request(
                PullBlocksRequest {
                    channel: self.channel.clone(),
                    start,
                    end,
                },
                PULL_TIMEOUT,
            );
            let reply = within(PULL_TIMEOUT, client.pull_blocks(msg))
                .await
                .map_err(|s| self.error(target, &s))?;
            Ok(reply.into_inner().blocks)
        })
    }
}

/// Finds a served channel's Raft consensus (the registry, in a running node).
pub trait RaftChannels: Send + Sync + 'static {
    /// The consensus of `channel`, if this orderer serves it.
    fn raft(&self, channel: &str) -> Option<Arc<RaftConsensus>>;
}

/// The server side of the cluster port.
pub struct ClusterService {
    channels: Arc<dyn RaftChannels>,
}

impl ClusterService {
    /// Answers for the channels `channels` finds.
    pub fn new(channels: Arc<dyn RaftChannels>) -> ClusterService {
        ClusterService { channels }
    }

    /// The channel's consensus and the calling consenter's node id.
    fn authorize<T>(
        &self,
        request: &Request<T>,
        channel: &str,
    ) -> Result<(Arc<RaftConsensus>, NodeId), Status> {
        let consensus = self
            .channels
            .raft(channel)
            .ok_or_else(|| Status::not_found(format!("channel {channel} is not served by this orderer")))?;
        let certs = request.peer_certs();
        let cert = certs
            .as_ref()
            .and_then(|c| c.first())
            .ok_or_else(|| Status::unauthenticated("the cluster port requires a TLS client certificate"))?;
        let caller = consensus.members().by_client_cert(cert.as_ref()).ok_or_else(|| {
            Status::permission_denied(format!(
                "the caller's TLS certificate is not the ClientTLSCert of a consenter of channel {channel}"
            ))
        })?;
        Ok((consensus, caller))
    }

    async fn raft(
        &self,
        request: Request<RaftMessage>,
        kind: RaftKind,
    ) -> Result<Response<RaftMessage>, Status> {
        let channel = request.get_ref().channel.clone();
        let (consensus, caller) = self.authorize(&request, &channel)?;
        let payload = request.into_inner().payload;
        let reply = consensus.handle_raft(caller, kind, &payload).await?;
        Ok(Response::new(RaftMessage {
            channel,
            payload: reply.into(),
        }))
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn append_entries(&self, request: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        self.raft(request, RaftKind::AppendEntries).await
    }

    async fn vote(&self, request: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        self.raft(request, RaftKind::Vote).await
    }

    async fn install_snapshot(&self, request: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        self.raft(request, RaftKind::InstallSnapshot).await
    }

    async fn forward(&self, request: Request<ForwardRequest>) -> Result<Response<ForwardResponse>, Status> {
        let channel = request.get_ref().channel.clone();
        let (consensus, caller) = self.authorize(&request, &channel)?;
        let forwarded = request.into_inner();
        consensus
            .accept_forwarded(caller, forwarded.envelope, forwarded.config_seq)
            .await?;
        Ok(Response::new(ForwardResponse {}))
    }

    async fn pull_blocks(
        &self,
        request: Request<PullBlocksRequest>,
    ) -> Result<Response<PullBlocksResponse>, Status> {
        let channel = request.get_ref().channel.clone();
        let (consensus, _) = self.authorize(&request, &channel)?;
        let r = request.into_inner();
        let (blocks, height) = consensus.serve_blocks(r.start, r.end).await?;
        Ok(Response::new(PullBlocksResponse { blocks, height }))
    }
}
