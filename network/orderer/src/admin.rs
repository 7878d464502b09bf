//! `carechain.admin.Admin` on the orderer: channel participation (join a channel from its genesis
//! block or, for an orderer added to a running channel, from a later config block; list channels,
//! channel status) and log control. Joining is what puts an orderer into a
//! channel's endorse → order → validate pipeline; without it Broadcast and Deliver answer NOT_FOUND.
//!
//! Every request is signed by an admin of the orderer's own organization — validated with the node's
//! local MSP (its msp directory), the admin NodeOU or admincerts deciding — and carries a timestamp
//! within 15 minutes of the orderer's clock, so a captured request cannot be replayed later. Anything
//! else is PERMISSION_DENIED with the reason.

use std::sync::Arc;

use carechain_channel::admin::{AdminAuthError, verify_admin_request};
use carechain_crypto::msp::MspManager;
use carechain_proto::carechain::admin::admin_server::Admin;
use carechain_proto::carechain::admin::{
    ChannelInfoResponse, JoinChannelResponse, ListChannelsResponse, SetLogLevelResponse, SignedAdminRequest,
    admin_request::Body,
};
use carechain_proto::common::BlockchainInfo;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use crate::OrdererError;
use crate::handle::ChannelHandle;
use crate::registry::Registry;

/// Runtime control of the process's log filter, provided by the binary that owns the subscriber.
pub trait LogControl: Send + Sync {
    /// Installs `filter` (tracing `EnvFilter` syntax) and returns the previous filter.
    fn set_filter(&self, filter: &str) -> Result<String, String>;
}

/// The Admin service of one orderer.
#[derive(Clone)]
pub struct AdminService {
    registry: Arc<Registry>,
    local_msp: MspManager,
    msp_id: String,
    log: Option<Arc<dyn LogControl>>,
}

impl AdminService {
    /// Admin over `registry`, authorizing with the node's local MSP `local_msp` (whose id is `msp_id`).
    pub fn new(
        registry: Arc<Registry>,
        local_msp: MspManager,
        msp_id: String,
        log: Option<Arc<dyn LogControl>>,
    ) -> AdminService {
        AdminService {
            registry,
            local_msp,
            msp_id,
            log,
        }
    }

    /// Checks signature, admin role and freshness (the shared node-admin rule of
    /// [`carechain_channel::admin::verify_admin_request`]); returns the request body.
    async fn authorize(&self, signed: SignedAdminRequest) -> Result<Body, OrdererError> {
        let msp = self.local_msp.clone();
        let msp_id = self.msp_id.clone();
        // Identity validation and ECDSA verification are CPU work: off the async workers.
        let request = tokio::task::spawn_blocking(move || {
            verify_admin_request(&signed, &msp, &msp_id, OffsetDateTime::now_utc()).map_err(|e| match e {
                AdminAuthError::Malformed(m) => {
                    OrdererError::BadRequest(format!("request is not a carechain.admin.AdminRequest: {m}"))
                }
                AdminAuthError::Signer(m) => OrdererError::PermissionDenied(format!(
                    "admin requests must be signed by an admin of {msp_id}, this orderer's organization: {m}"
                )),
                other => OrdererError::PermissionDenied(other.to_string()),
            })
        })
        .await
        .map_err(|e| OrdererError::Internal(format!("admin check task failed: {e}")))??;
        request
            .0
            .body
            .ok_or_else(|| OrdererError::BadRequest("admin request has no body".into()))
    }

    fn channel(&self, id: &str) -> Result<Arc<ChannelHandle>, OrdererError> {
        self.registry
            .get(id)
            .ok_or_else(|| OrdererError::ChannelNotFound(id.to_string()))
    }
}

fn wrong_body(rpc: &str, expected: &str) -> Status {
    OrdererError::BadRequest(format!("{rpc} takes an AdminRequest with a {expected} body")).into()
}

/// Height, hashes, members and role of one channel.
pub fn channel_info(channel: &ChannelHandle) -> Result<ChannelInfoResponse, OrdererError> {
    let store = channel.store();
    let tip = store.tip();
    let previous = store
        .last_block()?
        .and_then(|b| b.header)
        .map(|h| h.previous_hash)
        .unwrap_or_default();
    let config = channel.config();
    Ok(ChannelInfoResponse {
        channel_id: channel.id().to_string(),
        info: Some(BlockchainInfo {
            height: tip.height,
            current_block_hash: bytes::Bytes::copy_from_slice(&tip.hash),
            previous_block_hash: previous,
            bootstrapping_snapshot_info: None,
        }),
        member_msp_ids: config.msps.msp_ids().map(str::to_string).collect(),
        config_sequence: config.sequence,
        role: channel.role(),
    })
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn join_channel(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<JoinChannelResponse>, Status> {
        let Body::JoinChannel(join) = self.authorize(request.into_inner()).await? else {
            return Err(wrong_body("JoinChannel", "join_channel"));
        };
        let block = join
            .config_block
            .ok_or_else(|| OrdererError::BadRequest("JoinChannel carries no config block".into()))?;
        let channel = self.registry.join(block, join.latest_config_block).await?;
        Ok(Response::new(JoinChannelResponse {
            channel_id: channel.id().to_string(),
            height: channel.store().height(),
        }))
    }

    async fn list_channels(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<ListChannelsResponse>, Status> {
        let Body::ListChannels(_) = self.authorize(request.into_inner()).await? else {
            return Err(wrong_body("ListChannels", "list_channels"));
        };
        Ok(Response::new(ListChannelsResponse {
            channel_ids: self.registry.channel_ids(),
        }))
    }

    async fn channel_info(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<ChannelInfoResponse>, Status> {
        let Body::ChannelInfo(query) = self.authorize(request.into_inner()).await? else {
            return Err(wrong_body("ChannelInfo", "channel_info"));
        };
        let channel = self.channel(&query.channel_id)?;
        Ok(Response::new(channel_info(&channel)?))
    }

    async fn set_log_level(
        &self,
        request: Request<SignedAdminRequest>,
    ) -> Result<Response<SetLogLevelResponse>, Status> {
        let Body::SetLogLevel(set) = self.authorize(request.into_inner()).await? else {
            return Err(wrong_body("SetLogLevel", "set_log_level"));
        };
        let log = self.log.as_ref().ok_or_else(|| {
            OrdererError::Unimplemented("log control is not available in this process".into())
        })?;
        let previous = log
            .set_filter(&set.filter)
            .map_err(|e| OrdererError::BadRequest(format!("log filter {:?} refused: {e}", set.filter)))?;
        Ok(Response::new(SetLogLevelResponse { previous }))
    }
}
