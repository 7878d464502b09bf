//! Endorsement: run the contract on a snapshot, then sign the result.
//!
//! [`simulate`] invokes the contract through the [`Simulator`] and collects the response, the
//! read/write set and the event. [`endorse`] wraps them in Fabric's `ProposalResponsePayload`
//! (proposal hash + `ChaincodeAction`) and signs `payload ‖ endorser` with the peer's identity. Every
//! endorser of a transaction produces byte-identical payloads, which is what lets the gateway combine
//! their signatures into one transaction.

use carechain_crypto::msp::{Identity, Role as MspRole, SigningIdentity};
use carechain_proto::protos::{
    ChaincodeAction, ChaincodeEvent, ChaincodeId, Endorsement, ProposalResponse, ProposalResponsePayload,
    Response,
};
use carechain_proto::rwset::TxReadWriteSet;
use chaincode_api::{Call, Caller, Contract, Role, STATUS_ERROR_THRESHOLD, Timestamp, TxInfo};
use prost::Message;

use crate::proposal::CheckedProposal;
use crate::simulator::{PrivateAccess, Simulator};
use crate::state::StateView;

/// What one simulation produced.
#[derive(Debug, Clone)]
pub struct SimulationResult {
    /// The chaincode response (status 200 with payload, or an error status and message).
    pub response: Response,
    /// The read/write set.
    pub rwset: TxReadWriteSet,
    /// The transaction's event, if the contract set one.
    pub event: Option<ChaincodeEvent>,
    /// Whether the contract wrote anything.
    pub has_writes: bool,
    /// Private write sets (plaintext): never in the transaction; kept in the transient store and sent to
    /// member peers only.
    pub private: Option<carechain_proto::rwset::TxPvtReadWriteSet>,
}

impl SimulationResult {
    /// Whether the response status allows endorsement (200 ≤ status < 400, Fabric's rule).
    pub fn endorsable(&self) -> bool {
        (200..STATUS_ERROR_THRESHOLD).contains(&self.response.status)
    }
}

/// The caller a contract sees for a validated identity.
pub fn caller_from_identity(id: &Identity) -> Caller {
    let role = match id.role() {
        MspRole::Admin => Role::Admin,
        MspRole::Client => Role::Client,
        MspRole::Peer => Role::Peer,
        MspRole::Orderer => Role::Orderer,
        MspRole::Member => Role::Member,
    };
    let mut c = Caller::new(id.msp_id(), role, id.id(), id.common_name());
    c.attrs = id.attributes().clone();
    c
}

/// Runs `contract` for the proposal against `view`.
pub fn simulate(
    view: &dyn StateView,
    contract: &dyn Contract,
    p: &CheckedProposal,
    private: &PrivateAccess,
) -> SimulationResult {
    let prop = &p.proposal;
    let (secs, nanos) = prop.timestamp();
    let tx = TxInfo {
        tx_id: prop.tx_id().to_string(),
        channel_id: prop.channel_id().to_string(),
        timestamp: Timestamp::new(secs, nanos),
    };
    let mut sim = Simulator::new(
        view,
        &prop.chaincode,
        caller_from_identity(&p.creator),
        tx,
        &prop.transient,
        private,
    );
    let outcome = Call::parse(&prop.args).and_then(|call| contract.invoke(&mut sim, &call));
    let (rw, event) = sim.finish();
    let response = match outcome {
        Ok(payload) => Response {
            status: 200,
            message: String::new(),
            payload: payload.into(),
        },
        Err(e) => Response {
            status: e.status(),
            message: e.message().to_string(),
            payload: Default::default(),
        },
    };
    SimulationResult {
        has_writes: rw.has_writes(),
        private: rw.build_private(),
        rwset: rw.build(),
        event: event.map(|(name, payload)| ChaincodeEvent {
            chaincode_id: prop.chaincode.clone(),
            tx_id: prop.tx_id().to_string(),
            event_name: name,
            payload: payload.into(),
        }),
        response,
    }
}

/// The `ProposalResponsePayload` bytes for a simulation: what endorsers sign and validators re-check.
pub fn response_payload(p: &CheckedProposal, sim: &SimulationResult, version: &str) -> Vec<u8> {
    let action = ChaincodeAction {
        results: sim.rwset.encode_to_vec().into(),
        events: sim
            .event
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default()
            .into(),
        response: Some(sim.response.clone()),
        chaincode_id: Some(ChaincodeId {
            path: String::new(),
            name: p.proposal.chaincode.clone(),
            version: version.to_string(),
        }),
    };
    ProposalResponsePayload {
        proposal_hash: p.hash.to_vec().into(),
        extension: action.encode_to_vec().into(),
    }
    .encode_to_vec()
}

/// Signs the simulation result as this peer. A response with an error status is returned unsigned,
/// as Fabric does: it must not be endorsed.
pub fn endorse(
    p: &CheckedProposal,
    sim: &SimulationResult,
    version: &str,
    signer: &SigningIdentity,
) -> ProposalResponse {
    if !sim.endorsable() {
        return ProposalResponse {
            version: 1,
            response: Some(sim.response.clone()),
            ..Default::default()
        };
    }
    let payload = response_payload(p, sim, version);
    let endorser = signer.serialize().to_vec();
    let mut msg = Vec::with_capacity(payload.len() + endorser.len());
    msg.extend_from_slice(&payload);
    msg.extend_from_slice(&endorser);
    let signature = signer.sign(&msg);
    ProposalResponse {
        version: 1,
        timestamp: None,
        response: Some(sim.response.clone()),
        payload: payload.into(),
        endorsement: Some(Endorsement {
            endorser: endorser.into(),
            signature: signature.into(),
        }),
        interest: None,
    }
}
