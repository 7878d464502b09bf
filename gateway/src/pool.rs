//! Connections the gateway keeps open: Endorser clients to other orgs' peers, and one long-lived
//! Broadcast stream per orderer, pipelined (many envelopes in flight, responses matched in order) so
//! submitting does not pay a stream setup per transaction.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use carechain_proto::common::Envelope;
use carechain_proto::orderer::BroadcastResponse;
use carechain_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use carechain_proto::protos::endorser_client::EndorserClient;
use carechain_transport::{ClientTls, TlsIdentity, connect_lazy};
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

/// Connection pools, shared by all gateway calls.
pub struct Pools {
    identity: TlsIdentity,
    max_message_bytes: usize,
    endorsers: Mutex<HashMap<String, Channel>>,
    broadcasters: Mutex<HashMap<String, Broadcaster>>,
}

impl Pools {
    /// Pools dialing as `identity` (the hosting peer's TLS identity, for mutual TLS).
    pub fn new(identity: TlsIdentity, max_message_bytes: usize) -> Self {
        Pools {
            identity,
            max_message_bytes,
            endorsers: Mutex::new(HashMap::new()),
            broadcasters: Mutex::new(HashMap::new()),
        }
    }

    fn tls(&self, address: &str, ca_pem: &[u8]) -> ClientTls {
        ClientTls {
            ca_pem: ca_pem.to_vec(),
            identity: Some(self.identity.clone()),
            server_name: Some(host_of(address)),
            max_message_bytes: self.max_message_bytes,
        }
    }

    /// An Endorser client for a peer at `address` whose TLS certificate chains to `ca_pem`.
    pub fn endorser(&self, address: &str, ca_pem: &[u8]) -> Result<EndorserClient<Channel>, String> {
        let ch = {
            let mut map = self.endorsers.lock();
            match map.get(address) {
                Some(c) => c.clone(),
                None => {
                    let c = connect_lazy(address, &self.tls(address, ca_pem)).map_err(|e| e.to_string())?;
                    map.insert(address.to_string(), c.clone());
                    c
                }
            }
        };
        Ok(EndorserClient::new(ch)
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(self.max_message_bytes))
    }

    /// The broadcaster for the orderer at `address`.
    pub fn broadcaster(&self, address: &str, ca_pem: &[u8]) -> Result<Broadcaster, String> {
        let mut map = self.broadcasters.lock();
        if let Some(b) = map.get(address)
            && !b.tx.is_closed()
        {
            return Ok(b.clone());
        }
        let ch = connect_lazy(address, &self.tls(address, ca_pem)).map_err(|e| e.to_string())?;
        let client = AtomicBroadcastClient::new(ch)
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(self.max_message_bytes);
        let b = Broadcaster::spawn(client);
        map.insert(address.to_string(), b.clone());
        Ok(b)
    }
}

/// The host part of `host:port` (or of a URL), used as the TLS server name.
pub fn host_of(address: &str) -> String {
    let a = address.split("://").last().unwrap_or(address);
    match a.rsplit_once(':') {
        Some((h, _)) => h.trim_matches(['[', ']']).to_string(),
        None => a.to_string(),
    }
}

type Reply = oneshot::Sender<Result<BroadcastResponse, String>>;

/// A pipelined Broadcast stream to one orderer.
#[derive(Clone)]
pub struct Broadcaster {
    tx: mpsc::Sender<(Envelope, Reply)>,
}

impl Broadcaster {
    fn spawn(client: AtomicBroadcastClient<Channel>) -> Broadcaster {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(run(client, rx));
        Broadcaster { tx }
    }

    /// Sends one envelope and waits for the orderer's answer.
    pub async fn send(&self, env: Envelope, timeout: Duration) -> Result<BroadcastResponse, String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((env, reply))
            .await
            .map_err(|_| "broadcast stream closed".to_string())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err("broadcast stream closed".into()),
            Err(_) => Err(format!("no answer from the orderer within {timeout:?}")),
        }
    }
}

async fn run(mut client: AtomicBroadcastClient<Channel>, mut rx: mpsc::Receiver<(Envelope, Reply)>) {
    loop {
        let (out_tx, out_rx) = mpsc::channel::<Envelope>(4096);
        let mut inbound = match client.broadcast(ReceiverStream::new(out_rx)).await {
            Ok(r) => r.into_inner(),
            Err(e) => {
                // Fail fast while the orderer is down so the gateway tries another one.
                let until = tokio::time::Instant::now() + Duration::from_millis(500);
                loop {
                    tokio::select! {
                        req = rx.recv() => match req {
                            Some((_, reply)) => { let _ = reply.send(Err(format!("orderer unreachable: {}", e.message()))); }
                            None => return,
                        },
                        _ = tokio::time::sleep_until(until) => break,
                    }
                }
                continue;
            }
        };
        let mut pending: VecDeque<Reply> = VecDeque::new();
        let reason = loop {
            tokio::select! {
                req = rx.recv() => match req {
                    Some((env, reply)) => {
                        if out_tx.send(env).await.is_err() {
                            let _ = reply.send(Err("broadcast stream closed".into()));
                            break "stream closed".to_string();
                        }
                        pending.push_back(reply);
                    }
                    None => return,
                },
                msg = inbound.message() => match msg {
                    Ok(Some(r)) => {
                        if let Some(p) = pending.pop_front() {
                            let _ = p.send(Ok(r));
                        }
                    }
                    Ok(None) => break "orderer closed the stream".to_string(),
                    Err(e) => break e.message().to_string(),
                },
            }
        };
        for p in pending.drain(..) {
            let _ = p.send(Err(format!("broadcast stream failed: {reason}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Shared handle type.
pub type SharedPools = Arc<Pools>;
