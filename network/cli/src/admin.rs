//! A client of the `carechain.admin.Admin` service every peer and orderer hosts: channel participation
//! (join, list, info) and runtime log levels, signed by an admin identity of the node's organization.

use std::sync::Arc;

use anyhow::Context;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::carechain::admin::admin_client::AdminClient;
use carechain_proto::carechain::admin::admin_request::Body;
use carechain_proto::carechain::admin::{
    AdminRequest, ChannelInfoQuery, ChannelInfoResponse, JoinChannel, ListChannels, SetLogLevel,
    SignedAdminRequest,
};
use carechain_proto::common::Block;
use carechain_transport::{ClientTls, connect};
use prost::Message;
use tonic::transport::Channel;

/// An admin session with one node.
pub struct NodeAdmin {
    client: AdminClient<Channel>,
    channel: Channel,
    admin: Arc<SigningIdentity>,
}

impl NodeAdmin {
    /// Connects to the node at `address` as `admin`.
    pub async fn connect(
        address: &str,
        tls: &ClientTls,
        admin: Arc<SigningIdentity>,
    ) -> anyhow::Result<Self> {
        let ch = connect(address, tls)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        let client = AdminClient::new(ch.clone())
            .max_decoding_message_size(tls.max_message_bytes)
            .max_encoding_message_size(tls.max_message_bytes);
        Ok(NodeAdmin {
            client,
            channel: ch,
            admin,
        })
    }

    fn sign(&self, body: Body) -> SignedAdminRequest {
        let req = AdminRequest {
            identity: self.admin.serialize().to_vec().into(),
            timestamp: Some(carechain_channel::now_timestamp()),
            body: Some(body),
        }
        .encode_to_vec();
        SignedAdminRequest {
            signature: self.admin.sign(&req).into(),
            request: req.into(),
        }
    }

    /// Joins the node to the channel of `block` (its genesis block); `latest_config` is the channel's
    /// latest config block, for a node of an org added after the channel was created.
    pub async fn join(
        &mut self,
        block: Block,
        latest_config: Option<Block>,
    ) -> anyhow::Result<(String, u64)> {
        let req = self.sign(Body::JoinChannel(JoinChannel {
            config_block: Some(block),
            latest_config_block: latest_config,
        }));
        let r = self.client.join_channel(req).await.map_err(status)?.into_inner();
        Ok((r.channel_id, r.height))
    }

    /// Channels the node has joined.
    pub async fn list(&mut self) -> anyhow::Result<Vec<String>> {
        let req = self.sign(Body::ListChannels(ListChannels {}));
        Ok(self
            .client
            .list_channels(req)
            .await
            .map_err(status)?
            .into_inner()
            .channel_ids)
    }

    /// Height, hashes and members of a channel.
    pub async fn info(&mut self, channel: &str) -> anyhow::Result<ChannelInfoResponse> {
        let req = self.sign(Body::ChannelInfo(ChannelInfoQuery {
            channel_id: channel.to_string(),
        }));
        Ok(self.client.channel_info(req).await.map_err(status)?.into_inner())
    }

    /// Private data a peer should hold but does not (peers only).
    pub async fn missing_private_data(
        &mut self,
        channel: &str,
    ) -> anyhow::Result<Vec<carechain_proto::carechain::admin::MissingPrivateData>> {
        use carechain_proto::carechain::admin::MissingPrivateDataQuery;
        use carechain_proto::carechain::admin::peer_admin_client::PeerAdminClient;
        let req = self.sign(Body::MissingPrivateData(MissingPrivateDataQuery {
            channel_id: channel.to_string(),
        }));
        let mut c = PeerAdminClient::new(self.channel.clone());
        Ok(c.list_missing_private_data(req)
            .await
            .map_err(status)?
            .into_inner()
            .missing)
    }

    /// Changes the node's log filter; returns the previous one.
    pub async fn set_log_level(&mut self, filter: &str) -> anyhow::Result<String> {
        let req = self.sign(Body::SetLogLevel(SetLogLevel {
            filter: filter.to_string(),
        }));
        Ok(self
            .client
            .set_log_level(req)
            .await
            .map_err(status)?
            .into_inner()
            .previous)
    }
}

fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{} ({:?})", s.message(), s.code())
}
