//! The Fabric Gateway service (`gateway.Gateway`), hosted by every peer, and a Rust client for it.
//!
//! This is the client's door to endorse → order → validate: **Endorse** gathers endorsements from the
//! organizations the policies require (this peer first), **Submit** hands the signed transaction to an
//! orderer, **CommitStatus** waits for this peer to commit it, **Evaluate** runs a query, and
//! **ChaincodeEvents** streams contract events. The wire protocol is Fabric's, so the official Fabric
//! Gateway SDKs and Caliper work unmodified.
//!
//! # Layout
//! - [`context`]: the [`PeerContext`] trait: what the hosting peer provides.
//! - `endorse`, `evaluate`, `submit`, `commit_status`, `events`: one file per RPC, thin async shells.
//! - [`plan`]: pure endorsement planning over the real policies.
//! - [`pool`]: Endorser connections and pipelined Broadcast streams.
//! - [`error`]: the only mapping of errors to gRPC status (with Fabric `ErrorDetail`s).
//! - [`client`]: a Rust client (used by the CLI, the benchmark and the tests).

pub mod client;
mod commit_status;
pub mod context;
mod endorse;
pub mod error;
mod evaluate;
mod events;
pub mod plan;
pub mod pool;
mod submit;

use std::sync::Arc;
use std::time::Duration;

use carechain_channel::ChannelConfig;
use carechain_crypto::msp::Identity;
use carechain_proto::gateway::gateway_server::{Gateway, GatewayServer};
use carechain_proto::gateway::{
    CommitStatusResponse, EndorseRequest, EndorseResponse, EvaluateRequest, EvaluateResponse,
    SignedChaincodeEventsRequest, SignedCommitStatusRequest, SubmitRequest, SubmitResponse,
};
use carechain_transport::TlsIdentity;
use tonic::{Request, Response, Status};

pub use context::PeerContext;
pub use error::GatewayError;

/// Gateway tuning.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// How long to wait for one remote endorsement.
    pub endorsement_timeout: Duration,
    /// How long to wait for an orderer's answer to one Broadcast.
    pub broadcast_timeout: Duration,
    /// Largest gRPC message in either direction.
    pub max_message_bytes: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            endorsement_timeout: Duration::from_secs(30),
            broadcast_timeout: Duration::from_secs(10),
            max_message_bytes: 100 * 1024 * 1024,
        }
    }
}

/// The gateway service over a hosting peer `P`.
pub struct GatewayService<P: PeerContext> {
    ctx: Arc<P>,
    pools: Arc<pool::Pools>,
    config: GatewayConfig,
}

impl<P: PeerContext> GatewayService<P> {
    /// A gateway hosted by `ctx`, dialing other nodes as `tls` (the peer's TLS identity).
    pub fn new(ctx: Arc<P>, tls: TlsIdentity, config: GatewayConfig) -> Self {
        let pools = Arc::new(pool::Pools::new(tls, config.max_message_bytes));
        GatewayService { ctx, pools, config }
    }

    /// The tonic server for this service, with the configured message limits.
    pub fn into_server(self) -> GatewayServer<Self> {
        let max = self.config.max_message_bytes;
        GatewayServer::new(self)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max)
    }

    fn channel(&self, id: &str) -> Result<Arc<ChannelConfig>, GatewayError> {
        self.ctx.channel_config(id).ok_or_else(|| {
            GatewayError::FailedPrecondition(format!("channel {id:?} is not joined by this peer"))
        })
    }

    /// Endpoints (`host:port`) of `msp`'s peers known from the channel configuration.
    fn org_peers(&self, channel: &ChannelConfig, msp: &str) -> Vec<String> {
        channel
            .application_org_by_msp(msp)
            .map(|o| o.anchor_peers.iter().map(|(h, p)| format!("{h}:{p}")).collect())
            .unwrap_or_default()
    }

    /// PEM of `msp`'s TLS root and intermediate CAs.
    fn org_tls_ca(&self, channel: &ChannelConfig, msp: &str) -> Vec<u8> {
        let mut pem = Vec::new();
        if let Some(m) = channel.msps.msp(msp) {
            let cfg = m.config();
            for c in cfg.tls_root_certs.iter().chain(cfg.tls_intermediate_certs.iter()) {
                pem.extend_from_slice(c);
                if !c.ends_with(b"\n") {
                    pem.push(b'\n');
                }
            }
        }
        pem
    }

    /// Orderer endpoints with their org and TLS CA, starting at a rotating position to spread load.
    fn orderers(&self, channel: &ChannelConfig) -> Vec<(String, String, Vec<u8>)> {
        let mut out: Vec<(String, String, Vec<u8>)> = Vec::new();
        for org in channel.orderer_orgs.values() {
            let ca = self.org_tls_ca(channel, &org.msp_id);
            for e in &org.endpoints {
                out.push((e.clone(), org.msp_id.clone(), ca.clone()));
            }
        }
        out
    }

    /// Checks a signed request's identity and signature and that it may read the channel.
    fn authorize_reader(
        &self,
        channel: &ChannelConfig,
        identity: &[u8],
        msg: &[u8],
        signature: &[u8],
    ) -> Result<Arc<Identity>, GatewayError> {
        let id = channel
            .msps
            .verify_signature(identity, msg, signature)
            .map_err(|e| GatewayError::PermissionDenied(e.to_string()))?;
        channel
            .evaluate("/Channel/Application/Readers", std::slice::from_ref(&id))
            .map_err(|e| GatewayError::PermissionDenied(e.to_string()))?;
        Ok(id)
    }
}

#[tonic::async_trait]
impl<P: PeerContext> Gateway for GatewayService<P> {
    async fn endorse(&self, request: Request<EndorseRequest>) -> Result<Response<EndorseResponse>, Status> {
        Ok(Response::new(self.do_endorse(request.into_inner()).await?))
    }

    async fn submit(&self, request: Request<SubmitRequest>) -> Result<Response<SubmitResponse>, Status> {
        Ok(Response::new(self.do_submit(request.into_inner()).await?))
    }

    async fn commit_status(
        &self,
        request: Request<SignedCommitStatusRequest>,
    ) -> Result<Response<CommitStatusResponse>, Status> {
        Ok(Response::new(self.do_commit_status(request.into_inner()).await?))
    }

    async fn evaluate(
        &self,
        request: Request<EvaluateRequest>,
    ) -> Result<Response<EvaluateResponse>, Status> {
        Ok(Response::new(self.do_evaluate(request.into_inner()).await?))
    }

    type ChaincodeEventsStream = events::EventStream;

    async fn chaincode_events(
        &self,
        request: Request<SignedChaincodeEventsRequest>,
    ) -> Result<Response<Self::ChaincodeEventsStream>, Status> {
        Ok(Response::new(
            self.do_chaincode_events(request.into_inner()).await?,
        ))
    }
}
