//! `protos.Endorser/ProcessProposal`: the endorse step as a service, called by other orgs' gateways
//! (over mutual TLS) and by Fabric tooling. The work itself is [`crate::peer::Peer::process_proposal`],
//! run on the blocking pool because it verifies signatures and runs a contract.

use std::sync::Arc;

use carechain_proto::protos::endorser_server::Endorser;
use carechain_proto::protos::{ProposalResponse, SignedProposal};
use tonic::{Request, Response, Status};

use crate::error::PeerError;
use crate::peer::Peer;

/// The Endorser service of one peer.
pub struct EndorserService {
    /// The peer.
    pub peer: Arc<Peer>,
}

/// Runs `process_proposal` off the async workers, then disseminates private data: the endorsement is
/// returned only if every collection reached its required number of member peers.
pub async fn process(
    peer: Arc<Peer>,
    signed: SignedProposal,
    sign: bool,
) -> Result<ProposalResponse, PeerError> {
    let start = std::time::Instant::now();
    let p = peer.clone();
    let endorsed = tokio::task::spawn_blocking(move || p.process_proposal(&signed, sign))
        .await
        .map_err(|e| PeerError::Internal(format!("endorsement task failed: {e}")))??;
    if let Some(pending) = endorsed.private {
        crate::pvtdata::disseminate(
            &peer,
            &pending.channel,
            &pending.tx_id,
            pending.height,
            &pending.pvt,
            &pending.collections,
        )
        .await?;
    }
    peer.metrics.endorsement.observe(start.elapsed().as_secs_f64());
    Ok(endorsed.response)
}

#[tonic::async_trait]
impl Endorser for EndorserService {
    async fn process_proposal(
        &self,
        request: Request<SignedProposal>,
    ) -> Result<Response<ProposalResponse>, Status> {
        let resp = process(self.peer.clone(), request.into_inner(), true).await?;
        Ok(Response::new(resp))
    }
}
