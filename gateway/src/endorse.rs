//! `Gateway/Endorse`: endorse on the local peer, learn from its read/write set which policies apply,
//! plan the other organizations needed, collect their endorsements concurrently (retrying another peer
//! or re-planning without an org that failed), and return the prepared transaction. A function the
//! contract declares evaluate-only is refused before anything runs: its result must never reach a block.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use carechain_proto::gateway::{EndorseRequest, EndorseResponse, ErrorDetail};
use carechain_proto::protos::{ChaincodeAction, ProposalResponse, ProposalResponsePayload, SignedProposal};
use futures::future::join_all;
use peer_core::proposal::{self, Proposed};
use peer_core::rwset::TxRwSet;
use peer_core::txbuild;
use prost::Message;

use crate::error::detail;
use crate::{GatewayError, GatewayService, PeerContext, plan};

/// How often an org whose endorsement disagrees with the first one is asked again, and the first pause
/// (doubling each time: 20 + 40 + … + 1280 ms ≈ 2.5 s), long enough for a peer on a loaded machine to
/// commit a block or two.
const LAG_RETRIES: u32 = 7;
const LAG_BACKOFF: Duration = Duration::from_millis(20);

/// Whether `r` is a successful endorsement with the same result as `first`.
fn agrees(r: &ProposalResponse, first: &ProposalResponse) -> bool {
    let ok = (200..400).contains(&r.response.as_ref().map_or(0, |x| x.status));
    ok && r.payload == first.payload
}

fn disagreement(r: &ProposalResponse) -> String {
    let resp = r.response.clone().unwrap_or_default();
    if (200..400).contains(&resp.status) {
        "endorsement result differs from the first endorser's (different ledger state or a non-deterministic contract)"
            .into()
    } else {
        format!("chaincode response {}, {}", resp.status, resp.message)
    }
}

/// An endorsement gathered from one organization.
struct Endorsed {
    msp_id: String,
    response: ProposalResponse,
}

impl<P: PeerContext> GatewayService<P> {
    pub(crate) async fn do_endorse(&self, req: EndorseRequest) -> Result<EndorseResponse, GatewayError> {
        let signed = req
            .proposed_transaction
            .ok_or_else(|| GatewayError::InvalidArgument("a proposed transaction is required".into()))?;
        let prop = self.parse_proposal(&signed, &req.transaction_id, &req.channel_id)?;
        if let Some(function) = self.ctx.evaluate_only_function(&prop.chaincode, &prop.args) {
            return Err(GatewayError::FailedPrecondition(format!(
                "{function} of chaincode {} is evaluate-only: its result must never be written to the \
                 ledger, so it cannot be endorsed for submission; use Evaluate",
                prop.chaincode
            )));
        }
        let channel = self.channel(prop.channel_id())?;
        let local = self.ctx.local_msp_id().to_string();
        let requested: Vec<String> = req.endorsing_organizations.clone();
        let mut got: Vec<Endorsed> = Vec::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        let mut details: Vec<ErrorDetail> = Vec::new();

        // The local endorsement (unless the client named orgs without us) also tells us which
        // key-level policies the transaction touches.
        let first = if requested.is_empty() || requested.contains(&local) {
            let r = self.ctx.process_proposal(signed.clone(), true).await?;
            self.check_status(&r, &self.ctx.local_address(), &local)?;
            got.push(Endorsed {
                msp_id: local.clone(),
                response: r.clone(),
            });
            r
        } else {
            let org = requested[0].clone();
            let r =
                self.endorse_on_org(&channel, &org, &signed)
                    .await
                    .map_err(|d| GatewayError::Aborted {
                        message: "failed to endorse transaction, see attached details for more info".into(),
                        details: d,
                    })?;
            self.check_status(&r.response, &r.msp_id, &org)?;
            let first = r.response.clone();
            got.push(r);
            first
        };
        let rwset = rwset_of(&first)?;
        let policies = self
            .ctx
            .endorsement_requirements(prop.channel_id(), &prop.chaincode, &rwset)?;
        // A proposal touching private data (its transient input may carry it) goes to member orgs only.
        let allowed = self.private_members(prop.channel_id(), &rwset)?;
        if let Some(allowed) = &allowed {
            if let Some(bad) = requested.iter().find(|o| !allowed.contains(*o)) {
                return Err(GatewayError::FailedPrecondition(format!(
                    "{bad} is not a member of every private data collection this transaction uses; it cannot endorse it"
                )));
            }
            for o in channel.application_orgs.values() {
                if !allowed.contains(&o.msp_id) {
                    failed.insert(o.msp_id.clone());
                }
            }
        }

        let mut lagging: BTreeMap<String, u32> = BTreeMap::new();
        for _attempt in 0..(4 + LAG_RETRIES) {
            let have: Vec<String> = got.iter().map(|e| e.msp_id.clone()).collect();
            let target = if requested.is_empty() {
                let cands = prioritise(plan::candidates(&channel, &local, &failed), &have);
                plan::plan(&channel, &policies, &cands).ok_or_else(|| GatewayError::Aborted {
                    message: format!(
                        "no combination of reachable organizations can satisfy the endorsement policy of {}",
                        prop.chaincode
                    ),
                    details: details.clone(),
                })?
            } else {
                requested.clone()
            };
            let missing: Vec<String> = target.into_iter().filter(|o| !have.contains(o)).collect();
            if missing.is_empty() {
                return self.prepare(&signed, &got);
            }
            if let Some(n) = missing.iter().filter_map(|o| lagging.get(o)).max() {
                tokio::time::sleep(LAG_BACKOFF * 2u32.pow(n - 1)).await;
            }
            let results = join_all(
                missing
                    .iter()
                    .map(|org| self.endorse_on_org(&channel, org, &signed)),
            )
            .await;
            for (org, r) in missing.iter().zip(results) {
                match r {
                    Ok(e) if agrees(&e.response, &first) => got.push(e),
                    Ok(e) => {
                        // Most often a peer whose ledger is a block or two behind the first endorser's
                        // (it has not committed the block that created the key yet): ask it again
                        // shortly, before giving up on the org.
                        let n = lagging.entry(org.clone()).or_default();
                        *n += 1;
                        if *n <= LAG_RETRIES {
                            continue;
                        }
                        details.push(detail("", org.clone(), disagreement(&e.response)));
                        failed.insert(org.clone());
                    }
                    Err(d) => {
                        details.extend(d);
                        failed.insert(org.clone());
                    }
                }
            }
            // `failed` also holds the orgs excluded as non-members of the private collections; only a
            // named org's failure ends the attempts.
            if requested.iter().any(|o| failed.contains(o)) {
                break;
            }
        }
        Err(GatewayError::Aborted {
            message: "failed to collect enough transaction endorsements, see attached details for more info"
                .into(),
            details,
        })
    }

    /// Orgs that are members of every collection the transaction writes (`None`: no private writes).
    ///
    /// Only writes restrict, as in Fabric's chaincode interest: every peer holds the hashes, so a
    /// hash-only read (`GetPrivateDataHash`, e.g. comparing another org's agreed value) can be endorsed
    /// anywhere, while the plaintext of a write must only reach members. A non-member asked to endorse a
    /// plaintext read fails its simulation and the planner moves on to another org.
    fn private_members(
        &self,
        channel: &str,
        rwset: &TxRwSet,
    ) -> Result<Option<BTreeSet<String>>, GatewayError> {
        let mut allowed: Option<BTreeSet<String>> = None;
        for ns in &rwset.namespaces {
            for c in ns.collections.iter().filter(|c| !c.writes.is_empty()) {
                let members: BTreeSet<String> = self
                    .ctx
                    .collection_members(channel, &ns.namespace, &c.name)?
                    .ok_or_else(|| {
                        GatewayError::FailedPrecondition(format!("collection {} is not defined", c.name))
                    })?
                    .into_iter()
                    .collect();
                allowed = Some(match allowed {
                    None => members,
                    Some(a) => a.intersection(&members).cloned().collect(),
                });
            }
        }
        Ok(allowed)
    }

    fn prepare(&self, signed: &SignedProposal, got: &[Endorsed]) -> Result<EndorseResponse, GatewayError> {
        let responses: Vec<ProposalResponse> = got.iter().map(|e| e.response.clone()).collect();
        let env =
            txbuild::assemble(&signed.proposal_bytes, &responses).map_err(|e| GatewayError::Aborted {
                message: e.to_string(),
                details: got
                    .iter()
                    .map(|e| detail("", e.msp_id.clone(), "endorsement returned by this organization"))
                    .collect(),
            })?;
        Ok(EndorseResponse {
            prepared_transaction: Some(env),
        })
    }

    /// Asks the peers of `org` (its anchor peers, in order) until one endorses.
    async fn endorse_on_org(
        &self,
        channel: &carechain_channel::ChannelConfig,
        org: &str,
        signed: &SignedProposal,
    ) -> Result<Endorsed, Vec<ErrorDetail>> {
        let peers = self.org_peers(channel, org);
        if peers.is_empty() {
            return Err(vec![detail(
                "",
                org,
                "organization has no anchor peer to endorse on",
            )]);
        }
        let ca = self.org_tls_ca(channel, org);
        let mut errors = Vec::new();
        for addr in peers {
            let mut client = match self.pools.endorser(&addr, &ca) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(detail(addr.clone(), org, e));
                    continue;
                }
            };
            let call = client.process_proposal(signed.clone());
            match tokio::time::timeout(self.config.endorsement_timeout, call).await {
                Ok(Ok(resp)) => {
                    return Ok(Endorsed {
                        msp_id: org.to_string(),
                        response: resp.into_inner(),
                    });
                }
                Ok(Err(status)) => errors.push(detail(addr.clone(), org, status.message())),
                Err(_) => errors.push(detail(addr.clone(), org, "endorsement timed out")),
            }
        }
        Err(errors)
    }

    fn check_status(&self, r: &ProposalResponse, address: &str, msp: &str) -> Result<(), GatewayError> {
        let resp = r.response.clone().unwrap_or_default();
        if (200..400).contains(&resp.status) {
            return Ok(());
        }
        let message = format!("chaincode response {}, {}", resp.status, resp.message);
        Err(GatewayError::Chaincode {
            message: message.clone(),
            details: vec![detail(address, msp, message)],
        })
    }

    pub(crate) fn parse_proposal(
        &self,
        signed: &SignedProposal,
        tx_id: &str,
        channel_id: &str,
    ) -> Result<Proposed, GatewayError> {
        let prop = proposal::parse(signed).map_err(|e| GatewayError::InvalidArgument(e.to_string()))?;
        if !tx_id.is_empty() && prop.tx_id() != tx_id {
            return Err(GatewayError::InvalidArgument(format!(
                "transaction id {tx_id} does not match the proposal's {}",
                prop.tx_id()
            )));
        }
        if !channel_id.is_empty() && prop.channel_id() != channel_id {
            return Err(GatewayError::InvalidArgument(format!(
                "channel {channel_id} does not match the proposal's {}",
                prop.channel_id()
            )));
        }
        Ok(prop)
    }
}

/// Orgs that already endorsed go first, so the planner prefers plans that reuse them.
fn prioritise(mut cands: Vec<String>, have: &[String]) -> Vec<String> {
    cands.sort_by_key(|c| !have.contains(c));
    cands
}

fn rwset_of(r: &ProposalResponse) -> Result<TxRwSet, GatewayError> {
    let bad = |what: &str| GatewayError::Internal(format!("local endorsement has a malformed {what}"));
    let prp = ProposalResponsePayload::decode(r.payload.as_ref()).map_err(|_| bad("payload"))?;
    let action = ChaincodeAction::decode(prp.extension.as_ref()).map_err(|_| bad("chaincode action"))?;
    TxRwSet::parse(&action.results).map_err(|_| bad("read/write set"))
}
