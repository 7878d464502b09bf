//! Channel operations over the network, shared by the `carechain channel` subcommands and the tests:
//! fetching blocks as they are on the wire (from an orderer's or a peer's Deliver), finding the latest
//! configuration, and the config-update file flow of Fabric (`update.pb` = an `Envelope` of type
//! CONFIG_UPDATE wrapping a `ConfigUpdateEnvelope`; admins add signatures to it; one of them submits it
//! to an orderer).

use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use carechain_channel::block;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{
    Block, ChannelHeader, ConfigUpdate, ConfigUpdateEnvelope, Envelope, Header, HeaderType, Payload,
    SignatureHeader, Status,
};
use carechain_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use carechain_proto::orderer::{BroadcastResponse, deliver_response};
use carechain_proto::protos::deliver_client::DeliverClient;
use carechain_proto::protos::deliver_response as peer_deliver;
use carechain_transport::{ClientTls, connect};
use peer_core::txbuild::seek_envelope;
use prost::Message;

/// Which kind of node serves Deliver at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeKind {
    /// An orderer (`orderer.AtomicBroadcast/Deliver`).
    Orderer,
    /// A peer (`protos.Deliver/Deliver`; committed blocks with validation codes).
    Peer,
}

/// Blocks `from..=to` (`to` None: up to the current height) of `channel`, as a reader identity.
pub async fn fetch_blocks(
    address: &str,
    tls: &ClientTls,
    signer: &SigningIdentity,
    channel: &str,
    from: u64,
    to: Option<u64>,
    kind: NodeKind,
) -> anyhow::Result<Vec<Block>> {
    let ch = connect(address, tls)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    let env = seek_envelope(signer, channel, from, Some(to.unwrap_or(u64::MAX)), false);
    let max = tls.max_message_bytes;
    let mut out = Vec::new();
    let status = match kind {
        NodeKind::Orderer => {
            let mut c = AtomicBroadcastClient::new(ch).max_decoding_message_size(max);
            let mut s = c.deliver(tokio_stream::once(env)).await?.into_inner();
            loop {
                match s.message().await? {
                    Some(r) => match r.r#type {
                        Some(deliver_response::Type::Block(b)) => out.push(b),
                        Some(deliver_response::Type::Status(st)) => break st,
                        None => break Status::Unknown as i32,
                    },
                    None => break Status::Unknown as i32,
                }
            }
        }
        NodeKind::Peer => {
            let mut c = DeliverClient::new(ch).max_decoding_message_size(max);
            let mut s = c.deliver(tokio_stream::once(env)).await?.into_inner();
            loop {
                match s.message().await? {
                    Some(r) => match r.r#type {
                        Some(peer_deliver::Type::Block(b)) => out.push(b),
                        Some(peer_deliver::Type::Status(st)) => break st,
                        _ => break Status::Unknown as i32,
                    },
                    None => break Status::Unknown as i32,
                }
            }
        }
    };
    // Asking for blocks up to "now" ends with NOT_FOUND once the height is passed; that is the end.
    if status != Status::Success as i32
        && !(to.is_none() && status == Status::NotFound as i32 && !out.is_empty())
    {
        let name = Status::try_from(status).map_or("UNKNOWN".into(), |s| s.as_str_name().to_string());
        bail!("deliver from {address} ended with {name}");
    }
    Ok(out)
}

/// The newest block's last-config pointer, then that config block.
pub async fn latest_config_block(
    address: &str,
    tls: &ClientTls,
    signer: &SigningIdentity,
    channel: &str,
    kind: NodeKind,
) -> anyhow::Result<Block> {
    let all = fetch_blocks(address, tls, signer, channel, 0, None, kind).await?;
    let tip = all.last().context("the channel has no blocks")?;
    let idx = block::last_config_index(tip)?;
    all.into_iter()
        .find(|b| b.header.as_ref().is_some_and(|h| h.number == idx))
        .context("last config block not found")
}

/// An unsigned CONFIG_UPDATE envelope for `update` (Fabric's `update_in_envelope.pb`).
pub fn update_envelope(update: &ConfigUpdate) -> Envelope {
    let ch = ChannelHeader {
        r#type: HeaderType::ConfigUpdate as i32,
        channel_id: update.channel_id.clone(),
        timestamp: Some(carechain_channel::now_timestamp()),
        ..Default::default()
    };
    let cue = ConfigUpdateEnvelope {
        config_update: update.encode_to_vec().into(),
        signatures: Vec::new(),
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: ch.encode_to_vec().into(),
            signature_header: Bytes::new(),
        }),
        data: cue.encode_to_vec().into(),
    };
    Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Bytes::new(),
    }
}

fn open(env: &Envelope) -> anyhow::Result<(Payload, ConfigUpdateEnvelope)> {
    let payload = Payload::decode(env.payload.as_ref()).context("not an update envelope")?;
    let cue = ConfigUpdateEnvelope::decode(payload.data.as_ref()).context("not a config update envelope")?;
    Ok((payload, cue))
}

/// The update inside an update envelope, and the signers so far.
pub fn read_update(env: &Envelope) -> anyhow::Result<(ConfigUpdate, usize)> {
    let (_, cue) = open(env)?;
    Ok((
        ConfigUpdate::decode(cue.config_update.as_ref())?,
        cue.signatures.len(),
    ))
}

/// Adds an admin's signature to an update envelope.
pub fn sign_update(env: &Envelope, admin: &SigningIdentity) -> anyhow::Result<Envelope> {
    let (mut payload, mut cue) = open(env)?;
    carechain_channel::update::sign(&mut cue, admin);
    payload.data = cue.encode_to_vec().into();
    Ok(Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Bytes::new(),
    })
}

/// Signs the envelope as its submitter (the outer signature the orderer checks against the channel's
/// Writers) and broadcasts it.
pub async fn submit_update(
    address: &str,
    tls: &ClientTls,
    submitter: &Arc<SigningIdentity>,
    env: &Envelope,
) -> anyhow::Result<BroadcastResponse> {
    let (mut payload, _) = open(env)?;
    let mut nonce = [0u8; 24];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce);
    let header = payload.header.get_or_insert_with(Default::default);
    header.signature_header = SignatureHeader {
        creator: Bytes::copy_from_slice(submitter.serialize()),
        nonce: Bytes::copy_from_slice(&nonce),
    }
    .encode_to_vec()
    .into();
    let bytes = payload.encode_to_vec();
    let signed = Envelope {
        signature: submitter.sign(&bytes).into(),
        payload: bytes.into(),
    };
    let ch = connect(address, tls)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    let mut c = AtomicBroadcastClient::new(ch);
    let mut s = c.broadcast(tokio_stream::once(signed)).await?.into_inner();
    s.message()
        .await?
        .context("orderer closed the stream without answering")
}
