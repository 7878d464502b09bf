//! The ordering node process: loads the node's identity and TLS material, reopens its channels, serves
//! Broadcast, Deliver and Admin on the client port and the Raft cluster service on the cluster port,
//! and shuts all of it down gracefully. It is the whole "order" stage of endorse → order → validate as one value,
//! [`RunningOrderer`], that the `carechain orderer start` command (or a test) owns.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use carechain_crypto::msp::{MspManager, SigningIdentity, load_msp};
use carechain_proto::carechain::admin::admin_server::AdminServer;
use carechain_proto::carechain::cluster::cluster_server::ClusterServer;
use carechain_proto::common::Envelope;
use carechain_proto::orderer::DeliverResponse;
use carechain_proto::orderer::atomic_broadcast_server::{AtomicBroadcast, AtomicBroadcastServer};
use carechain_transport::{ClientAuth, TlsIdentity, TrustStore, install_crypto_provider, serve_tls};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::{Request, Response, Status, Streaming};

use crate::admin::{AdminService, LogControl, channel_info};
use crate::broadcast::{Broadcast, BroadcastStream};
use crate::deliver::Deliver;
use crate::raft::grpc::ClusterService;
use crate::registry::{Registry, RegistryParams};
use crate::{OrdererConfig, OrdererError};

/// How long shutdown waits for open streams and connections before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Optional integrations the binary provides.
#[derive(Clone, Default)]
pub struct NodeHooks {
    /// Backs the Admin `SetLogLevel` call; without it the call is UNIMPLEMENTED.
    pub log_control: Option<Arc<dyn LogControl>>,
}

/// Starts ordering nodes.
#[derive(Debug)]
pub struct OrdererNode;

/// Status of one served channel, for health checks and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStatus {
    /// Channel name.
    pub channel_id: String,
    /// Number of blocks.
    pub height: u64,
    /// `leader` or `follower`.
    pub role: String,
}

/// Reports the node's channels; cheap to clone.
#[derive(Clone)]
pub struct StatusHandle(Arc<Registry>);

impl StatusHandle {
    /// Height and role of every served channel.
    pub fn channels(&self) -> Vec<ChannelStatus> {
        self.0
            .channel_ids()
            .iter()
            .filter_map(|id| self.0.get(id))
            .filter_map(|ch| channel_info(&ch).ok())
            .map(|info| ChannelStatus {
                height: info.info.map_or(0, |i| i.height),
                channel_id: info.channel_id,
                role: info.role,
            })
            .collect()
    }
}

/// A started node. Dropping it without [`RunningOrderer::shutdown`] leaves its tasks running until the
/// runtime stops.
pub struct RunningOrderer {
    name: String,
    client_address: SocketAddr,
    cluster_address: Option<SocketAddr>,
    registry: Arc<Registry>,
    shutdown: watch::Sender<bool>,
    servers: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
    sessions: mpsc::Sender<()>,
    sessions_done: mpsc::Receiver<()>,
}

/// The node's own identity material, loaded once at start.
struct LocalIdentity {
    signer: Arc<SigningIdentity>,
    local_msp: MspManager,
    tls: TlsIdentity,
    tls_cert_der: Vec<u8>,
    tls_ca_ders: Vec<Vec<u8>>,
}

impl OrdererNode {
    /// Starts a node with no hooks.
    pub async fn start(config: OrdererConfig) -> Result<RunningOrderer, OrdererError> {
        OrdererNode::start_with(config, NodeHooks::default()).await
    }

    /// Loads identity and TLS, reopens every joined channel, binds the ports and starts serving.
    pub async fn start_with(config: OrdererConfig, hooks: NodeHooks) -> Result<RunningOrderer, OrdererError> {
        config.validate()?;
        install_crypto_provider();
        let id = load_identity(&config)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (sessions, sessions_done) = mpsc::channel(1);
        let trust = TrustStore::default();
        let registry = Registry::open(RegistryParams {
            chains_dir: config.chains_dir(),
            raft_dir: config.raft_dir(),
            signer: id.signer.clone(),
            tls_cert_der: id.tls_cert_der.clone(),
            tls: id.tls.clone(),
            cluster_enabled: config.cluster_listen_address.is_some(),
            max_message_size: config.max_message_size,
            trust: trust.clone(),
            base_trust: id.tls_ca_ders.clone(),
            shutdown: shutdown_rx.clone(),
        })
        .await?;
        let routes = client_routes(&config, &id, &registry, &shutdown_rx, &sessions, hooks);
        let (client_address, incoming) = serve_tls(
            config.listen_address,
            &id.tls,
            trust.clone(),
            ClientAuth::Optional,
        )
        .await?;
        let client = Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, stopped(shutdown_rx.clone()));
        let mut servers = vec![tokio::spawn(client)];
        let mut cluster_address = None;
        if let Some(addr) = config.cluster_listen_address {
            // Raft between the consenters: mutual TLS with the channels' TLS CAs; the service checks
            // that the caller is a consenter of the channel it calls about.
            let (bound, incoming) = serve_tls(addr, &id.tls, trust, ClientAuth::Required).await?;
            let service = ClusterServer::new(ClusterService::new(registry.clone()))
                .max_decoding_message_size(config.max_message_size)
                .max_encoding_message_size(config.max_message_size);
            let cluster = Server::builder()
                .add_routes(Routes::new(service))
                .serve_with_incoming_shutdown(incoming, stopped(shutdown_rx));
            servers.push(tokio::spawn(cluster));
            cluster_address = Some(bound);
        }
        tracing::info!(node = %config.name, %client_address, ?cluster_address, channels = ?registry.channel_ids(), "orderer started");
        Ok(RunningOrderer {
            name: config.name,
            client_address,
            cluster_address,
            registry,
            shutdown,
            servers,
            sessions,
            sessions_done,
        })
    }
}

impl RunningOrderer {
    /// The bound Broadcast/Deliver/Admin address (the real port when 0 was configured).
    pub fn client_address(&self) -> SocketAddr {
        self.client_address
    }

    /// The bound cluster address, if the cluster port is enabled.
    pub fn cluster_address(&self) -> Option<SocketAddr> {
        self.cluster_address
    }

    /// Height and role of every served channel.
    pub fn channels(&self) -> Vec<ChannelStatus> {
        self.status().channels()
    }

    /// A handle that reports channel status for as long as the node runs (for the operations endpoint,
    /// which outlives the borrow [`RunningOrderer::run_until`] takes).
    pub fn status(&self) -> StatusHandle {
        StatusHandle(self.registry.clone())
    }

    /// Serves until `signal` completes (e.g. ctrl-c) or a server fails, then shuts down.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> Result<(), OrdererError> {
        let failed = tokio::select! {
            _ = signal => None,
            (ended, _, _) = futures::future::select_all(self.servers.iter_mut()) => Some(ended),
        };
        let shutdown = self.shutdown().await;
        match failed {
            Some(Ok(Err(e))) => Err(OrdererError::Network(format!("server failed: {e}"))),
            Some(Err(e)) => Err(OrdererError::Internal(format!("server task ended: {e}"))),
            _ => shutdown,
        }
    }

    /// Stops accepting, ends open Broadcast and Deliver streams, waits for connections (up to a grace
    /// period), stops the chain actors and closes the block stores.
    pub async fn shutdown(self) -> Result<(), OrdererError> {
        let RunningOrderer {
            name,
            registry,
            shutdown,
            servers,
            sessions,
            mut sessions_done,
            ..
        } = self;
        shutdown.send_replace(true);
        let mut result = Ok(());
        for mut server in servers {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => result = Err(OrdererError::Network(format!("server failed: {e}"))),
                Ok(Err(e)) if e.is_cancelled() => {}
                Ok(Err(e)) => result = Err(OrdererError::Internal(format!("server task ended: {e}"))),
                Err(_) => {
                    tracing::warn!(node = %name, "connections still open after the grace period; closing them");
                    server.abort();
                }
            }
        }
        drop(sessions);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, sessions_done.recv()).await;
        registry.stop().await;
        tracing::info!(node = %name, "orderer stopped");
        result
    }
}

/// Broadcast, Deliver and Admin, each with the configured message size limits.
fn client_routes(
    config: &OrdererConfig,
    id: &LocalIdentity,
    registry: &Arc<Registry>,
    shutdown: &watch::Receiver<bool>,
    sessions: &mpsc::Sender<()>,
    hooks: NodeHooks,
) -> Routes {
    let max = config.max_message_size;
    let ordering = AtomicBroadcastServer::new(AtomicBroadcastService {
        broadcast: Broadcast::new(registry.clone(), shutdown.clone()),
        deliver: Deliver::new(registry.clone(), shutdown.clone(), sessions.clone()),
    })
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let admin = AdminServer::new(AdminService::new(
        registry.clone(),
        id.local_msp.clone(),
        config.msp_id.clone(),
        hooks.log_control,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    Routes::new(ordering).add_service(admin)
}

async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn load_identity(config: &OrdererConfig) -> Result<LocalIdentity, OrdererError> {
    let load = |what: &'static str, path: &Path, detail: String| OrdererError::Load {
        what,
        path: path.display().to_string(),
        detail,
    };
    let msp_dir = &config.msp_dir;
    let signer = SigningIdentity::load(msp_dir, &config.msp_id)
        .map_err(|e| load("signing identity", msp_dir, e.to_string()))?;
    let msp = load_msp(msp_dir, &config.msp_id).map_err(|e| load("local MSP", msp_dir, e.to_string()))?;
    let local_msp = MspManager::new([msp]).map_err(|e| load("local MSP", msp_dir, e.to_string()))?;
    // Fail now, not at the first block, if the node's own certificate is not valid in its MSP.
    local_msp.deserialize_identity(signer.serialize()).map_err(|e| {
        load(
            "signing identity",
            msp_dir,
            format!("not valid in its own MSP: {e}"),
        )
    })?;
    let tls = TlsIdentity::from_files(&config.tls.cert, &config.tls.key)?;
    let tls_cert_der = carechain_crypto::pem::first_certificate(&tls.cert_pem)
        .map_err(|e| load("TLS certificate", &config.tls.cert, e.to_string()))?;
    let ca_pem = std::fs::read(&config.tls.ca).map_err(|e| load("TLS CA", &config.tls.ca, e.to_string()))?;
    let tls_ca_ders = carechain_crypto::pem::certificates(&ca_pem)
        .map_err(|e| load("TLS CA", &config.tls.ca, e.to_string()))?;
    Ok(LocalIdentity {
        signer: Arc::new(signer),
        local_msp,
        tls,
        tls_cert_der,
        tls_ca_ders,
    })
}

/// `orderer.AtomicBroadcast` over the node's Broadcast and Deliver handlers.
#[derive(Clone)]
struct AtomicBroadcastService {
    broadcast: Broadcast,
    deliver: Deliver,
}

#[tonic::async_trait]
impl AtomicBroadcast for AtomicBroadcastService {
    type BroadcastStream = BroadcastStream;

    async fn broadcast(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<BroadcastStream>, Status> {
        Ok(Response::new(self.broadcast.handle(request.into_inner())))
    }

    type DeliverStream = ReceiverStream<Result<DeliverResponse, Status>>;

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        Ok(Response::new(self.deliver.handle(request.into_inner())))
    }
}
