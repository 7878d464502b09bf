//! Starting a peer: load identity, re-open joined channels, start each channel's puller → committer
//! pipeline, and serve Gateway, Endorser, Deliver and Admin on one TLS port (client certificates
//! optional, verified when present).

use std::net::SocketAddr;
use std::sync::Arc;

use carechain_gateway::{GatewayConfig, GatewayService};
use carechain_proto::carechain::admin::admin_server::AdminServer;
use carechain_proto::carechain::pvtdata::private_data_server::PrivateDataServer;
use carechain_proto::protos::deliver_server::DeliverServer;
use carechain_proto::protos::endorser_server::EndorserServer;
use carechain_transport::{ClientAuth, serve_tls};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::admin::{AdminService, LogControl};
use crate::channel::Channel;
use crate::config::PeerConfig;
use crate::context::LocalPeer;
use crate::deliver::DeliverService;
use crate::endorser::EndorserService;
use crate::error::PeerError;
use crate::peer::Peer;
use crate::{committer, puller};

/// A started peer.
pub struct RunningPeer {
    /// The bound client address.
    pub address: SocketAddr,
    /// The bound operations endpoint, if configured.
    pub ops_address: Option<SocketAddr>,
    /// Shared state (tests inspect ledgers through it).
    pub peer: Arc<Peer>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl RunningPeer {
    /// Stops serving and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.server.await;
    }

    /// Runs until the server ends (or fails).
    pub async fn wait(self) -> Result<(), PeerError> {
        self.server
            .await
            .map_err(|e| PeerError::Internal(e.to_string()))?
            .map_err(|e| PeerError::Internal(e.to_string()))
    }
}

/// Starts the channel's block puller and committer.
pub fn start_channel(peer: &Arc<Peer>, ch: Arc<Channel>) {
    let (tx, rx) = mpsc::channel(16);
    let refetch = Arc::new(Notify::new());
    committer::spawn(peer.clone(), ch.clone(), rx, refetch.clone());
    crate::reconciler::spawn(peer.clone(), ch.clone());
    puller::spawn(peer.clone(), ch, tx, refetch);
}

/// Starts a peer from its configuration.
pub async fn start(config: PeerConfig, log: Option<LogControl>) -> Result<RunningPeer, PeerError> {
    carechain_transport::install_crypto_provider();
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = crate::metrics::PeerMetrics::register(&mut registry);
    let peer = Arc::new(Peer::new(config, metrics)?);
    for ch in peer.reopen_channels()? {
        tracing::info!(channel = %ch.id, height = ch.ledger.height(), "re-opened channel");
        start_channel(&peer, ch);
    }
    let max = peer.config.max_message_size;
    let (address, incoming) = serve_tls(
        peer.config.listen_address,
        &peer.tls,
        peer.trust.clone(),
        ClientAuth::Optional,
    )
    .await?;
    let gateway = GatewayService::new(
        Arc::new(LocalPeer(peer.clone())),
        peer.tls.clone(),
        GatewayConfig {
            endorsement_timeout: peer.config.endorsement_timeout(),
            broadcast_timeout: peer.config.broadcast_timeout(),
            max_message_bytes: max,
        },
    );
    let endorser = EndorserServer::new(EndorserService { peer: peer.clone() })
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let deliver = DeliverServer::new(DeliverService { peer: peer.clone() })
        .max_decoding_message_size(max)
        .max_encoding_message_size(max);
    let ops_address = match peer.config.operations_listen_address {
        Some(addr) => Some(serve_ops(&peer, registry, log.clone(), addr).await?),
        None => None,
    };
    let peer_admin = carechain_proto::carechain::admin::peer_admin_server::PeerAdminServer::new(
        crate::admin::PeerAdminService {
            admin: AdminService {
                peer: peer.clone(),
                log: log.clone(),
            },
        },
    );
    let admin = AdminServer::new(AdminService {
        peer: peer.clone(),
        log,
    })
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let (stop, stopped) = oneshot::channel::<()>();
    let router = tonic::transport::Server::builder()
        .add_service(gateway.into_server())
        .add_service(endorser)
        .add_service(deliver)
        .add_service(admin)
        .add_service(peer_admin)
        .add_service(
            PrivateDataServer::new(crate::pvtdata::PvtDataService { peer: peer.clone() })
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        );
    let server = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    }));
    tracing::info!(name = %peer.config.name, %address, msp = %peer.config.msp_id, "peer started");
    Ok(RunningPeer {
        address,
        ops_address,
        peer,
        stop: Some(stop),
        server,
    })
}

/// Serves `/healthz`, `/metrics` and `/logspec` for this peer.
async fn serve_ops(
    peer: &Arc<Peer>,
    mut registry: prometheus_client::registry::Registry,
    log: Option<LogControl>,
    addr: SocketAddr,
) -> Result<SocketAddr, PeerError> {
    carechain_ops::register_cert_expiry(
        &mut registry,
        &[
            ("signing", peer.signer.certificate_pem()),
            ("tls", &peer.tls.cert_pem),
        ],
    );
    let (p1, p2) = (peer.clone(), peer.clone());
    let health: carechain_ops::HealthCheck = Arc::new(move || {
        p1.channel_ids()
            .into_iter()
            .filter_map(|id| p1.channel(&id))
            .map(|ch| {
                let ok = ch.ledger.block_bytes(ch.ledger.height().saturating_sub(1));
                (
                    format!("ledger/{}", ch.id),
                    ok.map(|_| ()).map_err(|e| e.to_string()),
                )
            })
            .collect()
    });
    let refresh = Arc::new(move || {
        for id in p2.channel_ids() {
            if let Some(ch) = p2.channel(&id) {
                let labels = vec![("channel".to_string(), id.clone())];
                p2.metrics
                    .height
                    .get_or_create(&labels)
                    .set(ch.ledger.height() as i64);
            }
        }
    });
    let ops = carechain_ops::Ops::new(registry, health, refresh, log);
    let bound = ops
        .serve(addr)
        .await
        .map_err(|e| PeerError::Config(format!("operations endpoint {addr}: {e}")))?;
    tracing::info!(%bound, "operations endpoint started");
    Ok(bound)
}
