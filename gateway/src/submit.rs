//! `Gateway/Submit`: check the client's signature on the prepared transaction (a clear error now
//! instead of an invalid transaction later), then broadcast it to the channel's orderers, trying the
//! next one when an orderer is unreachable or has no leader.

use carechain_proto::common::{ChannelHeader, Payload, SignatureHeader, Status as OrdererStatus};
use carechain_proto::gateway::{SubmitRequest, SubmitResponse};
use prost::Message;

use crate::error::detail;
use crate::{GatewayError, GatewayService, PeerContext};

impl<P: PeerContext> GatewayService<P> {
    pub(crate) async fn do_submit(&self, req: SubmitRequest) -> Result<SubmitResponse, GatewayError> {
        let env = req
            .prepared_transaction
            .ok_or_else(|| GatewayError::InvalidArgument("a prepared transaction is required".into()))?;
        if env.signature.is_empty() {
            return Err(GatewayError::InvalidArgument(
                "prepared transaction must be signed".into(),
            ));
        }
        let bad =
            |w: &str| GatewayError::InvalidArgument(format!("prepared transaction has a malformed {w}"));
        let payload = Payload::decode(env.payload.as_ref()).map_err(|_| bad("payload"))?;
        let header = payload.header.ok_or_else(|| bad("header"))?;
        let ch = ChannelHeader::decode(header.channel_header.as_ref()).map_err(|_| bad("channel header"))?;
        let sh =
            SignatureHeader::decode(header.signature_header.as_ref()).map_err(|_| bad("signature header"))?;
        if !req.channel_id.is_empty() && req.channel_id != ch.channel_id {
            return Err(GatewayError::InvalidArgument(format!(
                "channel {} does not match the transaction's {}",
                req.channel_id, ch.channel_id
            )));
        }
        if !req.transaction_id.is_empty() && req.transaction_id != ch.tx_id {
            return Err(GatewayError::InvalidArgument(format!(
                "transaction id {} does not match the transaction's {}",
                req.transaction_id, ch.tx_id
            )));
        }
        let channel = self.channel(&ch.channel_id)?;
        // Remembered: this peer's committer meets the same signature in the block.
        channel
            .msps
            .verify_signature_and_remember(&sh.creator, &env.payload, &env.signature)
            .map_err(|e| GatewayError::PermissionDenied(format!("transaction signature rejected: {e}")))?;
        let mut details = Vec::new();
        for (addr, msp, ca) in self.orderers(&channel) {
            let b = match self.pools.broadcaster(&addr, &ca) {
                Ok(b) => b,
                Err(e) => {
                    details.push(detail(addr, msp, e));
                    continue;
                }
            };
            match b.send(env.clone(), self.config.broadcast_timeout).await {
                Ok(r) if r.status == OrdererStatus::Success as i32 => return Ok(SubmitResponse {}),
                Ok(r) if r.status == OrdererStatus::ServiceUnavailable as i32 => {
                    details.push(detail(addr, msp, format!("SERVICE_UNAVAILABLE: {}", r.info)));
                }
                Ok(r) => {
                    let status = OrdererStatus::try_from(r.status)
                        .map_or("UNKNOWN".into(), |s| s.as_str_name().to_string());
                    return Err(GatewayError::Aborted {
                        message: format!("received unsuccessful response from orderer: {status} {}", r.info),
                        details: vec![detail(addr, msp, format!("{status}: {}", r.info))],
                    });
                }
                Err(e) => details.push(detail(addr, msp, e)),
            }
        }
        Err(GatewayError::Unavailable {
            message: "no orderer accepted the transaction, see attached details for more info".into(),
            details,
        })
    }
}
