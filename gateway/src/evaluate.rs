//! `Gateway/Evaluate`: run a query on one peer (this one, or a peer of the target organization) and
//! return the chaincode's response without ordering anything.

use carechain_proto::gateway::{EvaluateRequest, EvaluateResponse};

use crate::error::detail;
use crate::{GatewayError, GatewayService, PeerContext};

impl<P: PeerContext> GatewayService<P> {
    pub(crate) async fn do_evaluate(&self, req: EvaluateRequest) -> Result<EvaluateResponse, GatewayError> {
        let signed = req
            .proposed_transaction
            .ok_or_else(|| GatewayError::InvalidArgument("a proposed transaction is required".into()))?;
        let prop = self.parse_proposal(&signed, &req.transaction_id, &req.channel_id)?;
        let channel = self.channel(prop.channel_id())?;
        let local = self.ctx.local_msp_id().to_string();
        let targets = &req.target_organizations;
        let (address, msp, response) = if targets.is_empty() || targets.contains(&local) {
            let r = self.ctx.process_proposal(signed, false).await?;
            (self.ctx.local_address(), local, r)
        } else {
            let org = &targets[0];
            let ca = self.org_tls_ca(&channel, org);
            let mut last = Vec::new();
            let mut found = None;
            for addr in self.org_peers(&channel, org) {
                let mut client = match self.pools.endorser(&addr, &ca) {
                    Ok(c) => c,
                    Err(e) => {
                        last.push(detail(addr.clone(), org.clone(), e));
                        continue;
                    }
                };
                match tokio::time::timeout(
                    self.config.endorsement_timeout,
                    client.process_proposal(signed.clone()),
                )
                .await
                {
                    Ok(Ok(r)) => {
                        found = Some((addr, r.into_inner()));
                        break;
                    }
                    Ok(Err(s)) => last.push(detail(addr.clone(), org.clone(), s.message())),
                    Err(_) => last.push(detail(addr.clone(), org.clone(), "evaluation timed out")),
                }
            }
            let (addr, r) = found.ok_or(GatewayError::Aborted {
                message: format!("no peer of {org} could evaluate the transaction"),
                details: last,
            })?;
            (addr, org.clone(), r)
        };
        let result = response.response.unwrap_or_default();
        if !(200..400).contains(&result.status) {
            let message = format!(
                "evaluate call to endorser returned error: chaincode response {}, {}",
                result.status, result.message
            );
            return Err(GatewayError::Chaincode {
                details: vec![detail(address, msp, message.clone())],
                message,
            });
        }
        Ok(EvaluateResponse { result: Some(result) })
    }
}
