//! Private data between peers: the endorse-time push of a transaction's private write sets to peers of
//! the collections' member organizations (at least `requiredPeerCount` of them, at most
//! `maxPeerCount`, to no one else), and the fetch a member uses to reconcile data it missed. Requests
//! travel over mutual TLS and are signed by the sending peer; a peer stores only collections its own
//! organization is a member of, and serves them only to peers of member organizations.

use std::collections::BTreeMap;
use std::sync::Arc;

use carechain_proto::carechain::pvtdata::private_data_client::PrivateDataClient;
use carechain_proto::carechain::pvtdata::private_data_server::PrivateData;
use carechain_proto::carechain::pvtdata::pvt_request::Body;
use carechain_proto::carechain::pvtdata::{
    Fetch, FetchResponse, Push, PushResponse, PvtRequest, SignedPvtRequest,
};
use carechain_proto::rwset::TxPvtReadWriteSet;
use carechain_transport::{ClientTls, connect_lazy};
use peer_core::collection::{self, CollectionConfig};
use peer_core::lifecycle;
use prost::Message;
use tonic::{Request, Response, Status};

use crate::error::PeerError;
use crate::peer::Peer;

/// Keeps only the collections whose member policy includes `msp`.
pub fn filter_for(
    pvt: &TxPvtReadWriteSet,
    collections: &BTreeMap<String, Vec<CollectionConfig>>,
    msp: &str,
) -> TxPvtReadWriteSet {
    let mut out = pvt.clone();
    for ns in &mut out.ns_pvt_rwset {
        let defs = collections
            .get(&ns.namespace)
            .map(Vec::as_slice)
            .unwrap_or_default();
        ns.collection_pvt_rwset
            .retain(|c| collection::find(defs, &c.collection_name).is_some_and(|cc| cc.is_member(msp)));
    }
    out.ns_pvt_rwset.retain(|n| !n.collection_pvt_rwset.is_empty());
    out
}

/// Collections of every namespace in `pvt`, read from the channel's committed definitions.
pub fn collections_of(
    peer: &Peer,
    channel: &str,
    pvt: &TxPvtReadWriteSet,
) -> Result<BTreeMap<String, Vec<CollectionConfig>>, PeerError> {
    let ch = peer
        .channel(channel)
        .ok_or_else(|| PeerError::ChannelNotJoined(channel.to_string()))?;
    let snap = ch.ledger.snapshot();
    let mut out = BTreeMap::new();
    for ns in &pvt.ns_pvt_rwset {
        let def = lifecycle::definition(&snap, &ns.namespace)?;
        out.insert(
            ns.namespace.clone(),
            def.map(|d| d.collections).unwrap_or_default(),
        );
    }
    Ok(out)
}

/// The PrivateData service of one peer.
pub struct PvtDataService {
    /// The peer.
    pub peer: Arc<Peer>,
}

impl PvtDataService {
    fn verify(&self, signed: &SignedPvtRequest) -> Result<(PvtRequest, String), Status> {
        let req = PvtRequest::decode(signed.request.as_ref())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let ch = self
            .peer
            .channel(&req.channel_id)
            .ok_or_else(|| Status::not_found(format!("channel {} is not joined", req.channel_id)))?;
        let id = ch
            .config()
            .msps
            .verify_signature(&signed.identity, &signed.request, &signed.signature)
            .map_err(|e| Status::permission_denied(e.to_string()))?;
        if !id.has_role(carechain_crypto::msp::Role::Peer) {
            return Err(Status::permission_denied(format!(
                "{} is not a peer",
                id.describe()
            )));
        }
        Ok((req, id.msp_id().to_string()))
    }
}

#[tonic::async_trait]
impl PrivateData for PvtDataService {
    async fn push(&self, request: Request<SignedPvtRequest>) -> Result<Response<PushResponse>, Status> {
        if request.peer_certs().is_none() {
            return Err(Status::permission_denied(
                "private data is accepted over mutual TLS only",
            ));
        }
        let (req, _) = self.verify(request.get_ref())?;
        let Some(Body::Push(p)) = req.body else {
            return Err(Status::invalid_argument("expected a push"));
        };
        let pvt = TxPvtReadWriteSet::decode(p.pvt_rwset.as_ref())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let colls = collections_of(&self.peer, &req.channel_id, &pvt)?;
        let mine = filter_for(&pvt, &colls, &self.peer.config.msp_id);
        if mine.ns_pvt_rwset.is_empty() {
            return Err(Status::permission_denied(format!(
                "{} is not a member of the collections pushed; it does not accept their data",
                self.peer.config.msp_id
            )));
        }
        let ch = self
            .peer
            .channel(&req.channel_id)
            .ok_or_else(|| Status::not_found("channel"))?;
        ch.ledger
            .put_transient(&p.tx_id, p.height, &mine.encode_to_vec())
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(PushResponse {}))
    }

    async fn fetch(&self, request: Request<SignedPvtRequest>) -> Result<Response<FetchResponse>, Status> {
        if request.peer_certs().is_none() {
            return Err(Status::permission_denied(
                "private data is served over mutual TLS only",
            ));
        }
        let (req, msp) = self.verify(request.get_ref())?;
        let Some(Body::Fetch(f)) = req.body else {
            return Err(Status::invalid_argument("expected a fetch"));
        };
        let ch = self
            .peer
            .channel(&req.channel_id)
            .ok_or_else(|| Status::not_found("channel"))?;
        let def = lifecycle::definition(&ch.ledger.snapshot(), &f.namespace)
            .map_err(|e| Status::internal(e.to_string()))?;
        let defs = def.map(|d| d.collections).unwrap_or_default();
        let member = collection::find(&defs, &f.collection).is_some_and(|c| c.is_member(&msp));
        if !member {
            return Err(Status::permission_denied(format!(
                "{msp} is not a member of collection {}",
                f.collection
            )));
        }
        let rwset = ch
            .ledger
            .private_write_set(f.block, f.tx, &f.namespace, &f.collection)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(FetchResponse {
            found: rwset.is_some(),
            rwset: rwset.unwrap_or_default().into(),
        }))
    }
}

fn sign(peer: &Peer, req: PvtRequest) -> SignedPvtRequest {
    let bytes = req.encode_to_vec();
    SignedPvtRequest {
        identity: peer.signer.serialize().to_vec().into(),
        signature: peer.signer.sign(&bytes).into(),
        request: bytes.into(),
    }
}

/// Member peers (address, MSP, TLS CA) of the orgs in `members`, other than this peer.
pub fn member_peers(peer: &Peer, channel: &str, members: &[String]) -> Vec<(String, String, Vec<u8>)> {
    let Some(ch) = peer.channel(channel) else {
        return Vec::new();
    };
    let config = ch.config();
    let me = peer.config.listen_address.to_string();
    let mut out = Vec::new();
    for msp in members {
        let Some(org) = config.application_org_by_msp(msp) else {
            continue;
        };
        let mut ca = Vec::new();
        if let Some(m) = config.msps.msp(msp) {
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
        for (h, p) in &org.anchor_peers {
            let addr = format!("{h}:{p}");
            if addr != me {
                out.push((addr, msp.clone(), ca.clone()));
            }
        }
    }
    out
}

fn client(
    peer: &Peer,
    addr: &str,
    ca: &[u8],
) -> Result<PrivateDataClient<tonic::transport::Channel>, PeerError> {
    let ch = {
        let mut open = peer.pvt_connections.lock();
        match open.get(addr) {
            Some(ch) => ch.clone(),
            None => {
                let tls = ClientTls {
                    ca_pem: ca.to_vec(),
                    identity: Some(peer.tls.clone()),
                    server_name: Some(carechain_gateway::pool::host_of(addr)),
                    max_message_bytes: peer.config.max_message_size,
                };
                let ch = connect_lazy(addr, &tls)?;
                open.insert(addr.to_string(), ch.clone());
                ch
            }
        }
    };
    Ok(PrivateDataClient::new(ch)
        .max_decoding_message_size(peer.config.max_message_size)
        .max_encoding_message_size(peer.config.max_message_size))
}

/// Pushes a transaction's private write sets to member peers; fails unless every collection reached
/// its `requiredPeerCount`.
pub async fn disseminate(
    peer: &Arc<Peer>,
    channel: &str,
    tx_id: &str,
    height: u64,
    pvt: &TxPvtReadWriteSet,
    colls: &BTreeMap<String, Vec<CollectionConfig>>,
) -> Result<(), PeerError> {
    // Per collection: (required, max, member orgs).
    let mut needs: Vec<(String, String, u32, u32, Vec<String>)> = Vec::new();
    for ns in &pvt.ns_pvt_rwset {
        for c in &ns.collection_pvt_rwset {
            let defs = colls.get(&ns.namespace).map(Vec::as_slice).unwrap_or_default();
            let cc = collection::find(defs, &c.collection_name).ok_or_else(|| {
                PeerError::BadProposal(format!("collection {} is not defined", c.collection_name))
            })?;
            let members: Vec<String> = cc
                .members()
                .map_err(PeerError::BadProposal)?
                .into_iter()
                .collect();
            needs.push((
                ns.namespace.clone(),
                cc.name.clone(),
                cc.required_peer_count,
                cc.max_peer_count,
                members,
            ));
        }
    }
    let mut errors = Vec::new();
    for (ns, name, required, max, members) in needs {
        let mut reached = 0u32;
        for (addr, msp, ca) in member_peers(peer, channel, &members)
            .into_iter()
            .take(max as usize)
        {
            let colls_for_target = filter_for(pvt, colls, &msp);
            let req = PvtRequest {
                channel_id: channel.to_string(),
                body: Some(Body::Push(Push {
                    tx_id: tx_id.to_string(),
                    height,
                    pvt_rwset: colls_for_target.encode_to_vec().into(),
                })),
            };
            let call = async {
                client(peer, &addr, &ca)?
                    .push(sign(peer, req))
                    .await
                    .map_err(|s| PeerError::Internal(s.message().to_string()))
            };
            match tokio::time::timeout(std::time::Duration::from_secs(5), call).await {
                Ok(Ok(_)) => reached += 1,
                Ok(Err(e)) => errors.push(format!("{addr}: {e}")),
                Err(_) => errors.push(format!("{addr}: timed out")),
            }
        }
        if reached < required {
            return Err(PeerError::Dissemination(format!(
                "private data of {ns}/{name} reached {reached} peer(s), {required} required ({})",
                if errors.is_empty() {
                    "no other member peer is known".to_string()
                } else {
                    errors.join("; ")
                }
            )));
        }
    }
    Ok(())
}

/// Asks a member peer for a missing private write set.
pub async fn fetch(
    peer: &Peer,
    addr: &str,
    ca: &[u8],
    channel: &str,
    f: Fetch,
) -> Result<Option<Vec<u8>>, PeerError> {
    let req = PvtRequest {
        channel_id: channel.to_string(),
        body: Some(Body::Fetch(f)),
    };
    let resp = client(peer, addr, ca)?
        .fetch(sign(peer, req))
        .await
        .map_err(|s| PeerError::Internal(s.message().to_string()))?
        .into_inner();
    Ok(resp.found.then(|| resp.rwset.to_vec()))
}
