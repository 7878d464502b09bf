//! Starting a peer: load identity, re-open joined channels, start each channel's puller → committer
//! pipeline, and serve Gateway, Endorser, Deliver and Admin on one TLS port (client certificates
//! optional, verified when present).

use std::net::SocketAddr;
use std::sync::Arc;

use carechain_gateway::{GatewayConfig, GatewayService};
use carechain_proto::carechain::admin::admin_server::AdminServer;
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
    puller::spawn(peer.clone(), ch, tx, refetch);
}

/// Starts a peer from its configuration.
pub async fn start(config: PeerConfig, log: Option<LogControl>) -> Result<RunningPeer, PeerError> {
    carechain_transport::install_crypto_provider();
    let peer = Arc::new(Peer::new(config)?);
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
        .add_service(admin);
    let server = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    }));
    tracing::info!(name = %peer.config.name, %address, msp = %peer.config.msp_id, "peer started");
    Ok(RunningPeer {
        address,
        peer,
        stop: Some(stop),
        server,
    })
}
