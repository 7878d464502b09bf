//! The block puller: one actor per channel that streams blocks from the ordering service (orderer
//! `Deliver`, as this peer's identity over mutual TLS) into the committer, from the ledger height on.
//! It rotates through the channel's orderers when one fails, stalls, or sends a block the committer
//! rejects, so one faulty or stopped orderer cannot stop the peer.

use std::sync::Arc;
use std::time::Duration;

use carechain_proto::common::Block;
use carechain_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use carechain_proto::orderer::deliver_response::Type as DeliverType;
use carechain_transport::{ClientTls, connect_lazy};
use peer_core::txbuild::seek_envelope;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::channel::Channel;
use crate::peer::Peer;

/// Starts the puller of `ch`, feeding `tx`.
pub fn spawn(
    peer: Arc<Peer>,
    ch: Arc<Channel>,
    tx: mpsc::Sender<Block>,
    refetch: Arc<Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut attempt = 0usize;
        let mut backoff = Duration::from_millis(100);
        loop {
            if tx.is_closed() {
                return;
            }
            let endpoints = orderer_endpoints(&ch);
            if endpoints.is_empty() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let (addr, ca) = &endpoints[attempt % endpoints.len()];
            attempt += 1;
            let received = pull_from(&peer, &ch, addr, ca, &tx, &refetch).await;
            if received > 0 {
                backoff = Duration::from_millis(100);
            } else {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    })
}

fn orderer_endpoints(ch: &Channel) -> Vec<(String, Vec<u8>)> {
    let config = ch.config();
    let mut out = Vec::new();
    for org in config.orderer_orgs.values() {
        let mut ca = Vec::new();
        if let Some(m) = config.msps.msp(&org.msp_id) {
            for c in m
                .config()
                .tls_root_certs
                .iter()
                .chain(m.config().tls_intermediate_certs.iter())
            {
                ca.extend_from_slice(c);
                ca.push(b'\n');
            }
        }
        for e in &org.endpoints {
            out.push((e.clone(), ca.clone()));
        }
    }
    out
}

/// Streams from one orderer until it fails or a refetch is requested; returns how many blocks came.
async fn pull_from(
    peer: &Peer,
    ch: &Channel,
    addr: &str,
    ca: &[u8],
    tx: &mpsc::Sender<Block>,
    refetch: &Notify,
) -> usize {
    let tls = ClientTls {
        ca_pem: ca.to_vec(),
        identity: Some(peer.tls.clone()),
        server_name: Some(carechain_gateway::pool::host_of(addr)),
        max_message_bytes: peer.config.max_message_size,
    };
    let channel = match connect_lazy(addr, &tls) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(channel = %ch.id, orderer = addr, error = %e, "cannot dial orderer");
            return 0;
        }
    };
    let mut client = AtomicBroadcastClient::new(channel)
        .max_decoding_message_size(peer.config.max_message_size)
        .max_encoding_message_size(peer.config.max_message_size);
    let start = ch.ledger.height();
    let env = seek_envelope(&peer.signer, &ch.id, start, None, true);
    let mut stream = match client.deliver(tokio_stream::once(env)).await {
        Ok(s) => s.into_inner(),
        Err(e) => {
            tracing::debug!(channel = %ch.id, orderer = addr, error = %e, "deliver refused");
            return 0;
        }
    };
    let mut n = 0;
    loop {
        tokio::select! {
            msg = stream.message() => match msg {
                Ok(Some(resp)) => match resp.r#type {
                    Some(DeliverType::Block(b)) => {
                        n += 1;
                        if tx.send(b).await.is_err() {
                            return n;
                        }
                    }
                    Some(DeliverType::Status(s)) => {
                        tracing::debug!(channel = %ch.id, orderer = addr, status = s, "deliver ended");
                        return n;
                    }
                    None => return n,
                },
                Ok(None) => return n,
                Err(e) => {
                    tracing::debug!(channel = %ch.id, orderer = addr, error = %e, "deliver stream failed");
                    return n;
                }
            },
            _ = refetch.notified() => return n,
        }
    }
}
