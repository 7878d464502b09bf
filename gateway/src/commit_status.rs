//! `Gateway/CommitStatus`: wait until a transaction is committed on this peer and report its
//! validation code and block. The request is signed by a channel reader (Fabric's ACL
//! `/Channel/Application/Readers`); the wait is bounded by the client's deadline.

use carechain_proto::gateway::{CommitStatusRequest, CommitStatusResponse, SignedCommitStatusRequest};
use carechain_proto::protos::TxValidationCode;
use prost::Message;
use tokio::sync::broadcast::error::RecvError;

use crate::{GatewayError, GatewayService, PeerContext};

impl<P: PeerContext> GatewayService<P> {
    pub(crate) async fn do_commit_status(
        &self,
        signed: SignedCommitStatusRequest,
    ) -> Result<CommitStatusResponse, GatewayError> {
        let req = CommitStatusRequest::decode(signed.request.as_ref())
            .map_err(|e| GatewayError::InvalidArgument(format!("commit status request: {e}")))?;
        let channel = self.channel(&req.channel_id)?;
        self.authorize_reader(&channel, &req.identity, &signed.request, &signed.signature)?;
        let (code, block) = self.wait_for_commit(&req.channel_id, &req.transaction_id).await?;
        Ok(CommitStatusResponse {
            result: code,
            block_number: block,
        })
    }

    /// Waits for `tx_id` to commit on `channel`: (validation code, block number).
    pub(crate) async fn wait_for_commit(
        &self,
        channel: &str,
        tx_id: &str,
    ) -> Result<(i32, u64), GatewayError> {
        // Subscribe before looking in the ledger, so a commit between the two cannot be missed.
        let mut rx = self
            .ctx
            .subscribe(channel)
            .ok_or_else(|| GatewayError::NotFound(format!("channel {channel} is not joined by this peer")))?;
        if let Some(loc) = self.ctx.tx_location(channel, tx_id)? {
            return Ok((loc.code, loc.block));
        }
        loop {
            match rx.recv().await {
                Ok(summary) => {
                    if let Some(t) = summary
                        .txs
                        .iter()
                        .find(|t| t.tx_id == tx_id && t.code != TxValidationCode::DuplicateTxid)
                    {
                        return Ok((t.code as i32, summary.number));
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if let Some(loc) = self.ctx.tx_location(channel, tx_id)? {
                        return Ok((loc.code, loc.block));
                    }
                }
                Err(RecvError::Closed) => {
                    return Err(GatewayError::Unavailable {
                        message: format!("channel {channel} stopped committing"),
                        details: Vec::new(),
                    });
                }
            }
        }
    }
}
