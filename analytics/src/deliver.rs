//! The sync's view of a peer: its Deliver service, asked with signed `SeekInfo` envelopes over TLS (mutual
//! TLS when a client certificate is configured), as an identity the channel's Readers policy admits.
//! Committed blocks stream with the validation codes the peer recorded.

use std::sync::Arc;

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::Block;
use carechain_proto::orderer::{SeekInfo, SeekNewest, SeekPosition, seek_info, seek_position};
use carechain_proto::protos::DeliverResponse;
use carechain_proto::protos::deliver_client::DeliverClient;
use carechain_proto::protos::deliver_response::Type as DeliverType;
use carechain_transport::ClientTls;
use tonic::Streaming;
use tonic::transport::Channel;

/// Why talking to the peer failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// No connection.
    #[error("cannot connect to peer {address}: {reason}")]
    Connect {
        /// Peer address.
        address: String,
        /// Cause.
        reason: String,
    },
    /// The peer answered with an error.
    #[error("peer deliver: {0}")]
    Status(#[from] tonic::Status),
    /// The peer refused the request or ended the stream with a status.
    #[error("peer ended the block stream with status {0} (403: the identity may not read the channel)")]
    Refused(i32),
}

/// A reader of one channel on one peer.
#[derive(Clone)]
pub struct PeerReader {
    /// Peer address (`host:port`).
    pub address: String,
    /// TLS settings.
    pub tls: ClientTls,
    /// Who reads.
    pub signer: Arc<SigningIdentity>,
    /// Channel.
    pub channel: String,
    /// One HTTP/2 connection for every request (tonic reconnects it when it drops).
    connection: Arc<tokio::sync::OnceCell<Channel>>,
}

impl PeerReader {
    /// A reader of `channel` on the peer at `address`, as `signer`.
    pub fn new(address: String, tls: ClientTls, signer: Arc<SigningIdentity>, channel: String) -> Self {
        PeerReader {
            address,
            tls,
            signer,
            channel,
            connection: Arc::default(),
        }
    }

    async fn client(&self) -> Result<DeliverClient<Channel>, DeliverError> {
        let ch = self
            .connection
            .get_or_try_init(|| carechain_transport::connect(&self.address, &self.tls))
            .await
            .map_err(|e| DeliverError::Connect {
                address: self.address.clone(),
                reason: e.to_string(),
            })?
            .clone();
        Ok(DeliverClient::new(ch).max_decoding_message_size(self.tls.max_message_bytes))
    }

    /// Blocks from `start` to `stop` (inclusive), or on forever, waiting for new commits, without one.
    pub async fn blocks(
        &self,
        start: u64,
        stop: Option<u64>,
    ) -> Result<Streaming<DeliverResponse>, DeliverError> {
        let req = peer_core::txbuild::seek_envelope(&self.signer, &self.channel, start, stop, true);
        Ok(self
            .client()
            .await?
            .deliver(futures::stream::iter(vec![req]))
            .await?
            .into_inner())
    }

    /// The peer's height on the channel (its newest block's number + 1).
    pub async fn height(&self) -> Result<u64, DeliverError> {
        let newest = SeekPosition {
            r#type: Some(seek_position::Type::Newest(SeekNewest {})),
        };
        let info = SeekInfo {
            start: Some(newest),
            stop: Some(newest),
            behavior: seek_info::SeekBehavior::FailIfNotReady as i32,
            error_response: 0,
            content_type: 0,
        };
        let req = peer_core::txbuild::signed_seek(&self.signer, &self.channel, &info);
        let mut stream = self
            .client()
            .await?
            .deliver(futures::stream::iter(vec![req]))
            .await?
            .into_inner();
        match stream.message().await? {
            Some(DeliverResponse {
                r#type: Some(DeliverType::Block(b)),
            }) => Ok(number(&b) + 1),
            Some(DeliverResponse {
                r#type: Some(DeliverType::Status(s)),
            }) => Err(DeliverError::Refused(s)),
            _ => Err(DeliverError::Refused(0)),
        }
    }
}

/// A block's number.
pub fn number(block: &Block) -> u64 {
    block.header.as_ref().map_or(0, |h| h.number)
}
