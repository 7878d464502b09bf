//! `carechain.admin.Admin` on a peer: join a channel from its genesis block, list channels, channel
//! info, and the runtime log level. Requests are signed by an admin of the peer's own organization.

use std::sync::Arc;

use carechain_channel::admin::verify_admin_request;
use carechain_proto::carechain::admin::admin_request::Body;
use carechain_proto::carechain::admin::admin_server::Admin;
use carechain_proto::carechain::admin::{
    AdminRequest, ChannelInfoResponse, JoinChannelResponse, ListChannelsResponse, SetLogLevelResponse,
    SignedAdminRequest,
};
use carechain_proto::common::BlockchainInfo;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use crate::peer::{Peer, read_block};

/// A hook to read and change the process's log filter (the binary owns the subscriber).
pub type LogControl = Arc<dyn carechain_ops::LogSpec>;

/// The Admin service of one peer.
pub struct AdminService {
    /// The peer.
    pub peer: Arc<Peer>,
    /// Log filter control, if the process installed one.
    pub log: Option<LogControl>,
}

impl AdminService {
    fn authorize(&self, signed: &SignedAdminRequest) -> Result<AdminRequest, Status> {
        let (req, who) = verify_admin_request(
            signed,
            &self.peer.local_msp,
            &self.peer.config.msp_id,
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| Status::permission_denied(e.to_string()))?;
        tracing::info!(admin = %who.describe(), "admin request");
        Ok(req)
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn join_channel(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<JoinChannelResponse>, Status> {
        let req = self.authorize(request.get_ref())?;
        let Some(Body::JoinChannel(j)) = req.body else {
            return Err(Status::invalid_argument("expected a JoinChannel request"));
        };
        let block = j
            .config_block
            .ok_or_else(|| Status::invalid_argument("a genesis block is required"))?;
        let latest = j.latest_config_block;
        let peer = self.peer.clone();
        let ch = tokio::task::spawn_blocking(move || peer.join(&block, latest.as_ref()))
            .await
            .map_err(|e| Status::internal(e.to_string()))??;
        crate::node::start_channel(&self.peer, ch.clone());
        tracing::info!(channel = %ch.id, "joined channel");
        Ok(Response::new(JoinChannelResponse {
            channel_id: ch.id.clone(),
            height: ch.ledger.height(),
        }))
    }

    async fn list_channels(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<ListChannelsResponse>, Status> {
        self.authorize(request.get_ref())?;
        Ok(Response::new(ListChannelsResponse {
            channel_ids: self.peer.channel_ids(),
        }))
    }

    async fn channel_info(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<ChannelInfoResponse>, Status> {
        let req = self.authorize(request.get_ref())?;
        let Some(Body::ChannelInfo(q)) = req.body else {
            return Err(Status::invalid_argument("expected a ChannelInfo request"));
        };
        let ch = self
            .peer
            .channel(&q.channel_id)
            .ok_or_else(|| Status::not_found(format!("channel {} is not joined", q.channel_id)))?;
        let height = ch.ledger.height();
        let previous = if height >= 2 {
            let b = read_block(&ch.ledger, height - 1)?;
            b.header.map(|h| h.previous_hash).unwrap_or_default()
        } else {
            Default::default()
        };
        let config = ch.config();
        Ok(Response::new(ChannelInfoResponse {
            channel_id: ch.id.clone(),
            info: Some(BlockchainInfo {
                height,
                current_block_hash: ch
                    .ledger
                    .tip_hash()
                    .map(|h| h.to_vec())
                    .unwrap_or_default()
                    .into(),
                previous_block_hash: previous,
                bootstrapping_snapshot_info: None,
            }),
            member_msp_ids: config
                .application_orgs
                .values()
                .map(|o| o.msp_id.clone())
                .collect(),
            config_sequence: config.sequence,
            role: "peer".into(),
        }))
    }

    async fn set_log_level(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<SetLogLevelResponse>, Status> {
        let req = self.authorize(request.get_ref())?;
        let Some(Body::SetLogLevel(l)) = req.body else {
            return Err(Status::invalid_argument("expected a SetLogLevel request"));
        };
        let log = self
            .log
            .as_ref()
            .ok_or_else(|| Status::unavailable("this process has no adjustable logger"))?;
        let previous = log.set(&l.filter).map_err(Status::invalid_argument)?;
        tracing::info!(filter = %l.filter, %previous, "log level changed");
        Ok(Response::new(SetLogLevelResponse { previous }))
    }
}

/// Peer-only administration.
pub struct PeerAdminService {
    /// The peer's general admin service (for authorization).
    pub admin: AdminService,
}

#[tonic::async_trait]
impl carechain_proto::carechain::admin::peer_admin_server::PeerAdmin for PeerAdminService {
    async fn list_missing_private_data(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<carechain_proto::carechain::admin::MissingPrivateDataResponse>, Status> {
        use carechain_proto::carechain::admin::{MissingPrivateData, MissingPrivateDataResponse};
        let req = self.admin.authorize(request.get_ref())?;
        let Some(Body::MissingPrivateData(q)) = req.body else {
            return Err(Status::invalid_argument("expected a MissingPrivateData query"));
        };
        let ch = self
            .admin
            .peer
            .channel(&q.channel_id)
            .ok_or_else(|| Status::not_found(format!("channel {} is not joined", q.channel_id)))?;
        let missing = ch
            .ledger
            .missing_private_data()
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(MissingPrivateDataResponse {
            missing: missing
                .into_iter()
                .map(|m| MissingPrivateData {
                    block: m.block,
                    tx: m.tx,
                    namespace: m.ns,
                    collection: m.collection,
                })
                .collect(),
        }))
    }
}
