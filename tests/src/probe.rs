//! Looking into a running [`TestNet`] from outside, as a client would: blocks through a peer's Deliver
//! service (with the validation codes the peer recorded), world state through the gateway, raw gRPC
//! clients for sending requests the Rust client would never build, and [`Snapshot`]s to prove that a
//! refused request changed nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use carechain_channel::block::{header_hash, slot};
use carechain_proto::common::{Block, BlockMetadataIndex, ChannelHeader, Envelope, Payload};
use carechain_proto::gateway::gateway_client::GatewayClient as RawGateway;
use carechain_proto::msp::SerializedIdentity;
use carechain_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use carechain_proto::protos::TxValidationCode;
use carechain_proto::protos::deliver_client::DeliverClient;
use carechain_proto::protos::deliver_response::Type as DeliverType;
use prost::Message;
use tonic::transport::Channel;

use crate::TestNet;

/// Arguments of a chaincode call from strings.
pub fn args(a: &[&str]) -> Vec<Vec<u8>> {
    a.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// The validation code of every transaction of a block, from its TRANSACTIONS_FILTER metadata.
pub fn tx_codes(block: &Block) -> Vec<TxValidationCode> {
    slot(block, BlockMetadataIndex::TransactionsFilter)
        .iter()
        .map(|c| TxValidationCode::try_from(i32::from(*c)).unwrap_or(TxValidationCode::InvalidOtherReason))
        .collect()
}

/// The transaction id of every envelope of a block (empty for an envelope that does not decode).
pub fn tx_ids(block: &Block) -> Vec<String> {
    let data = block.data.as_ref().map(|d| d.data.as_slice()).unwrap_or_default();
    data.iter()
        .map(|raw| {
            Envelope::decode(raw.as_ref())
                .ok()
                .and_then(|e| Payload::decode(e.payload.as_ref()).ok())
                .and_then(|p| p.header)
                .and_then(|h| ChannelHeader::decode(h.channel_header.as_ref()).ok())
                .map(|ch| ch.tx_id)
                .unwrap_or_default()
        })
        .collect()
}

/// The MSP ids of the endorsers of every transaction of a block (empty for one that does not decode).
pub fn endorser_msps(block: &Block) -> Vec<Vec<String>> {
    let data = block.data.as_ref().map(|d| d.data.as_slice()).unwrap_or_default();
    data.iter()
        .map(|raw| {
            let ends = Envelope::decode(raw.as_ref())
                .ok()
                .and_then(|e| crate::tamper::endorsements(&e).ok())
                .unwrap_or_default();
            ends.iter()
                .filter_map(|e| SerializedIdentity::decode(e.endorser.as_ref()).ok())
                .map(|id| id.mspid)
                .collect()
        })
        .collect()
}

/// A block's number.
pub fn number(block: &Block) -> u64 {
    block.header.as_ref().map_or(u64::MAX, |h| h.number)
}

/// A block's header hash (its identity in the chain).
pub fn hash(block: &Block) -> [u8; 32] {
    header_hash(&block.header.clone().unwrap_or_default())
}

/// What a client can observe of the whole network: every peer's height and world state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Height of each peer.
    pub heights: Vec<u64>,
    /// `GetAllAssets` as evaluated on each peer.
    pub assets: Vec<String>,
}

impl TestNet {
    /// Blocks `start..=stop` of the channel from peer `i`'s Deliver service, read as that org's `User1`.
    pub async fn deliver(&self, i: usize, start: u64, stop: u64) -> anyhow::Result<Vec<Block>> {
        let ch =
            carechain_transport::connect(&self.peers[i].address.to_string(), &self.client_tls("peer", i)?)
                .await?;
        let mut client = DeliverClient::new(ch).max_decoding_message_size(100 * 1024 * 1024);
        let req = peer_core::txbuild::seek_envelope(
            &self.user(i, "User1")?,
            &self.spec.channel,
            start,
            Some(stop),
            false,
        );
        let mut stream = client
            .deliver(futures::stream::iter(vec![req]))
            .await?
            .into_inner();
        let mut blocks = Vec::new();
        while let Some(msg) = stream.message().await? {
            match msg.r#type {
                Some(DeliverType::Block(b)) => blocks.push(b),
                Some(DeliverType::Status(s)) if s == carechain_proto::common::Status::Success as i32 => break,
                other => bail!("peer {i} deliver {start}..={stop} ended with {other:?}"),
            }
        }
        let want = stop - start + 1;
        if blocks.len() as u64 != want {
            bail!("peer {i} delivered {} blocks, wanted {want}", blocks.len());
        }
        Ok(blocks)
    }

    /// Every block peer `i` has committed, in order.
    pub async fn blocks(&self, i: usize) -> anyhow::Result<Vec<Block>> {
        let h = self.height(i).await?;
        self.deliver(i, 0, h - 1).await
    }

    /// `GetAllAssets` evaluated on peer `i` itself (through its own gateway, which evaluates locally).
    pub async fn all_assets(&self, i: usize) -> anyhow::Result<String> {
        self.query(i, &["GetAllAssets"]).await
    }

    /// A query of the `basic` contract evaluated on peer `i` by that org's `User1`.
    pub async fn query(&self, i: usize, call: &[&str]) -> anyhow::Result<String> {
        let gw = self.gateway(i, "User1").await?;
        let out = gw
            .evaluate(&self.spec.channel, "basic", &args(call), &BTreeMap::new())
            .await
            .with_context(|| format!("evaluating {call:?} on peer {i}"))?;
        Ok(String::from_utf8(out)?)
    }

    /// Every peer's height and world state.
    pub async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let mut s = Snapshot {
            heights: Vec::new(),
            assets: Vec::new(),
        };
        for i in 0..self.peers.len() {
            s.heights.push(self.height(i).await?);
            s.assets.push(self.all_assets(i).await?);
        }
        Ok(s)
    }

    /// Waits until peer `i` (only) reaches at least `height`.
    pub async fn wait_peer_height(&self, i: usize, height: u64, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let h = self.height(i).await.unwrap_or(0);
            if h >= height {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("peer {i} is at height {h}, did not reach {height} within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A raw client of peer `i`'s Gateway service, for requests the Rust client would never build.
    pub async fn raw_gateway(&self, i: usize) -> anyhow::Result<RawGateway<Channel>> {
        let ch =
            carechain_transport::connect(&self.peers[i].address.to_string(), &self.client_tls("peer", i)?)
                .await?;
        Ok(RawGateway::new(ch)
            .max_decoding_message_size(100 * 1024 * 1024)
            .max_encoding_message_size(100 * 1024 * 1024))
    }

    /// A gRPC channel to orderer `i` (client-facing TLS, no client certificate).
    pub async fn orderer_channel(&self, i: usize) -> anyhow::Result<Channel> {
        Ok(carechain_transport::connect(
            &self.orderers[i].address.to_string(),
            &self.client_tls("orderer", i)?,
        )
        .await?)
    }

    /// A client of orderer `i`'s AtomicBroadcast service.
    pub async fn broadcast_client(&self, i: usize) -> anyhow::Result<AtomicBroadcastClient<Channel>> {
        Ok(AtomicBroadcastClient::new(self.orderer_channel(i).await?))
    }
}
