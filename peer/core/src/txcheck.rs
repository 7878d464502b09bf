//! The per-transaction half of validation: everything about one transaction that does not depend on
//! the transactions before it in the block, so blocks are checked in parallel across transactions.
//!
//! For an endorser transaction, in Fabric's order and with Fabric's codes: envelope and headers decode
//! (BAD_PAYLOAD, BAD_COMMON_HEADER, BAD_CHANNEL_HEADER), the channel matches (TARGET_CHAIN_NOT_FOUND),
//! the creator is valid and signed the payload (BAD_CREATOR_SIGNATURE), the tx id derives from nonce
//! and creator (BAD_PROPOSAL_TXID), exactly one action whose proposal hash matches the headers
//! (INVALID_ENDORSER_TRANSACTION), a decodable response and read/write set (BAD_RESPONSE_PAYLOAD,
//! BAD_RWSET), writes only in the invoked chaincode's namespace (ILLEGAL_WRITESET), and endorsements
//! that satisfy the chaincode's and every written key's policy (ENDORSEMENT_POLICY_FAILURE).

use std::sync::Arc;

use carechain_channel::ChannelConfig;
use carechain_crypto::msp::Identity;
use carechain_proto::common::{ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader};
use carechain_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, ChaincodeHeaderExtension,
    ProposalResponsePayload, Transaction, TxValidationCode as Code,
};
use prost::Message;
use time::OffsetDateTime;

use crate::policy::{EndorsementPolicy, endorsement_requirements};
use crate::proposal::{compute_tx_id, proposal_hash_raw};
use crate::rwset::TxRwSet;
use crate::state::StateView;

/// A transaction judged invalid, with Fabric's code and a reason for logs and operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The validation code recorded in the block.
    pub code: Code,
    /// Why, naming the identity, policy or key at fault.
    pub reason: String,
    /// The tx id, when the header was readable.
    pub tx_id: Option<String>,
}

impl Invalid {
    fn new(code: Code, reason: impl Into<String>, tx_id: Option<&str>) -> Self {
        Invalid {
            code,
            reason: reason.into(),
            tx_id: tx_id.map(str::to_string),
        }
    }
}

/// An endorser transaction that passed every per-transaction check.
#[derive(Debug, Clone)]
pub struct EndorserTx {
    /// Transaction id.
    pub tx_id: String,
    /// Channel-header timestamp (seconds, nanos).
    pub timestamp: (i64, i32),
    /// The validated creator.
    pub creator: Arc<Identity>,
    /// Invoked chaincode.
    pub chaincode: String,
    /// Decoded read/write set.
    pub rwset: TxRwSet,
    /// The transaction's event, if any.
    pub event: Option<ChaincodeEvent>,
    /// Distinct endorsers whose signatures verified.
    pub endorsers: Vec<Arc<Identity>>,
}

/// The outcome of checking one envelope of a block.
#[derive(Debug, Clone)]
pub enum Checked {
    /// A valid-so-far endorser transaction (MVCC still to run).
    Endorser(EndorserTx),
    /// A valid channel configuration transaction and the configuration it installs.
    Config {
        /// Transaction id.
        tx_id: String,
        /// The new configuration.
        config: Box<carechain_proto::common::Config>,
    },
}

/// Namespaces a user chaincode may never write: system state maintained by the peer itself.
fn is_reserved_namespace(ns: &str) -> bool {
    ns.starts_with('_')
}

/// Runs every per-transaction check on one envelope of a block of `channel`.
pub fn check_envelope(raw: &[u8], channel: &ChannelConfig, view: &dyn StateView) -> Result<Checked, Invalid> {
    if raw.is_empty() {
        return Err(Invalid::new(Code::NilEnvelope, "empty envelope", None));
    }
    let env =
        Envelope::decode(raw).map_err(|e| Invalid::new(Code::BadPayload, format!("envelope: {e}"), None))?;
    let payload = Payload::decode(env.payload.as_ref())
        .map_err(|e| Invalid::new(Code::BadPayload, format!("payload: {e}"), None))?;
    let header = payload
        .header
        .as_ref()
        .ok_or_else(|| Invalid::new(Code::BadCommonHeader, "payload has no header", None))?;
    let ch = ChannelHeader::decode(header.channel_header.as_ref())
        .map_err(|e| Invalid::new(Code::BadChannelHeader, format!("channel header: {e}"), None))?;
    let tx_id = Some(ch.tx_id.as_str());
    if ch.channel_id != channel.channel_id {
        return Err(Invalid::new(
            Code::TargetChainNotFound,
            format!(
                "transaction for channel {:?} in a block of {:?}",
                ch.channel_id, channel.channel_id
            ),
            tx_id,
        ));
    }
    if ch.r#type == HeaderType::Config as i32 {
        let config = crate::configtx::check_config_tx(&env, &payload, &ch, channel)?;
        return Ok(Checked::Config {
            tx_id: ch.tx_id,
            config: Box::new(config),
        });
    }
    if ch.r#type != HeaderType::EndorserTransaction as i32 {
        return Err(Invalid::new(
            Code::UnknownTxType,
            format!("header type {}", ch.r#type),
            tx_id,
        ));
    }
    let sh = SignatureHeader::decode(header.signature_header.as_ref())
        .map_err(|e| Invalid::new(Code::BadCommonHeader, format!("signature header: {e}"), tx_id))?;
    let at = tx_time(&ch);
    let creator = channel
        .msps
        .verify_signature_at(&sh.creator, &env.payload, &env.signature, at)
        .map_err(|e| Invalid::new(Code::BadCreatorSignature, e.to_string(), tx_id))?;
    if ch.tx_id != compute_tx_id(&sh.nonce, &sh.creator) || sh.nonce.is_empty() {
        return Err(Invalid::new(
            Code::BadProposalTxid,
            "tx id is not hex(SHA-256(nonce ‖ creator))",
            tx_id,
        ));
    }
    let tx = Transaction::decode(payload.data.as_ref())
        .map_err(|e| Invalid::new(Code::BadPayload, format!("transaction: {e}"), tx_id))?;
    let [action] = tx.actions.as_slice() else {
        return Err(Invalid::new(
            Code::InvalidEndorserTransaction,
            format!(
                "a transaction must carry exactly one action, found {}",
                tx.actions.len()
            ),
            tx_id,
        ));
    };
    if action.header != header.signature_header {
        return Err(Invalid::new(
            Code::InvalidEndorserTransaction,
            "action header differs from the transaction's signature header",
            tx_id,
        ));
    }
    let cap = ChaincodeActionPayload::decode(action.payload.as_ref())
        .map_err(|e| Invalid::new(Code::BadPayload, format!("chaincode action payload: {e}"), tx_id))?;
    let endorsed = cap
        .action
        .ok_or_else(|| Invalid::new(Code::NilTxaction, "no endorsed action", tx_id))?;
    let prp = ProposalResponsePayload::decode(endorsed.proposal_response_payload.as_ref()).map_err(|e| {
        Invalid::new(
            Code::BadResponsePayload,
            format!("proposal response payload: {e}"),
            tx_id,
        )
    })?;
    let want = proposal_hash_raw(
        &header.channel_header,
        &action.header,
        &cap.chaincode_proposal_payload,
    );
    if prp.proposal_hash.as_ref() != want {
        return Err(Invalid::new(
            Code::InvalidEndorserTransaction,
            "proposal hash in the endorsed response does not match the transaction's proposal",
            tx_id,
        ));
    }
    let cc_action = ChaincodeAction::decode(prp.extension.as_ref())
        .map_err(|e| Invalid::new(Code::BadResponsePayload, format!("chaincode action: {e}"), tx_id))?;
    let ext = ChaincodeHeaderExtension::decode(ch.extension.as_ref())
        .map_err(|e| Invalid::new(Code::BadHeaderExtension, format!("header extension: {e}"), tx_id))?;
    let chaincode = ext.chaincode_id.map(|c| c.name).unwrap_or_default();
    let action_cc = cc_action
        .chaincode_id
        .as_ref()
        .map(|c| c.name.as_str())
        .unwrap_or_default();
    if chaincode.is_empty() || action_cc != chaincode {
        return Err(Invalid::new(
            Code::InvalidEndorserTransaction,
            format!("endorsed chaincode {action_cc:?} is not the proposal's chaincode {chaincode:?}"),
            tx_id,
        ));
    }
    check_definition(
        view,
        &chaincode,
        cc_action.chaincode_id.as_ref().map(|c| c.version.as_str()),
        tx_id,
    )?;
    let status = cc_action.response.as_ref().map_or(0, |r| r.status);
    if !(200..400).contains(&status) {
        return Err(Invalid::new(
            Code::InvalidEndorserTransaction,
            format!("chaincode response status {status} cannot be committed"),
            tx_id,
        ));
    }
    let rwset =
        TxRwSet::parse(&cc_action.results).map_err(|e| Invalid::new(Code::BadRwset, e.to_string(), tx_id))?;
    if let Some(ns) = rwset.namespaces.iter().find(|n| {
        n.namespace != chaincode
            && (!n.writes.is_empty() || !n.metadata_writes.is_empty() || is_reserved_namespace(&n.namespace))
    }) {
        return Err(Invalid::new(
            Code::IllegalWriteset,
            format!("chaincode {chaincode} may not touch namespace {}", ns.namespace),
            tx_id,
        ));
    }
    let event = if cc_action.events.is_empty() {
        None
    } else {
        let ev = ChaincodeEvent::decode(cc_action.events.as_ref())
            .map_err(|e| Invalid::new(Code::BadResponsePayload, format!("chaincode event: {e}"), tx_id))?;
        Some(ev)
    };
    let endorsers = verify_endorsements(
        channel,
        &endorsed.proposal_response_payload,
        &endorsed.endorsements,
        at,
    );
    let tx = EndorserTx {
        tx_id: ch.tx_id.clone(),
        timestamp: ch.timestamp.as_ref().map_or((0, 0), |t| (t.seconds, t.nanos)),
        creator,
        chaincode,
        rwset,
        event,
        endorsers,
    };
    check_policies(&tx, channel, view)?;
    Ok(Checked::Endorser(tx))
}

/// A user chaincode must have a committed definition, and the endorsement must be of its current
/// version.
fn check_definition(
    view: &dyn StateView,
    chaincode: &str,
    version: Option<&str>,
    tx_id: Option<&str>,
) -> Result<(), Invalid> {
    if chaincode == crate::lifecycle::LIFECYCLE {
        return Ok(());
    }
    let def = crate::lifecycle::definition(view, chaincode)
        .map_err(|e| Invalid::new(Code::InvalidOtherReason, e.to_string(), tx_id))?
        .ok_or_else(|| {
            Invalid::new(
                Code::InvalidChaincode,
                format!("chaincode {chaincode} is not defined on this channel"),
                tx_id,
            )
        })?;
    if version != Some(def.version.as_str()) {
        return Err(Invalid::new(
            Code::ChaincodeVersionConflict,
            format!(
                "endorsed with version {:?} of {chaincode}, the channel defines version {}",
                version.unwrap_or(""),
                def.version
            ),
            tx_id,
        ));
    }
    Ok(())
}

/// The time identities are validated at: the transaction's own timestamp, so every peer reaches the
/// same verdict whenever it validates (the ordering service bounds how far that timestamp may lie).
fn tx_time(ch: &ChannelHeader) -> OffsetDateTime {
    ch.timestamp
        .as_ref()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.seconds).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Endorsements whose identity is valid in the channel and whose signature over `payload ‖ endorser`
/// verifies, one per distinct identity. Forged or repeated endorsements simply do not count, so they
/// can only make the policy fail, never pass.
fn verify_endorsements(
    channel: &ChannelConfig,
    payload: &[u8],
    endorsements: &[carechain_proto::protos::Endorsement],
    at: OffsetDateTime,
) -> Vec<Arc<Identity>> {
    let mut out: Vec<Arc<Identity>> = Vec::with_capacity(endorsements.len());
    for e in endorsements {
        let mut msg = Vec::with_capacity(payload.len() + e.endorser.len());
        msg.extend_from_slice(payload);
        msg.extend_from_slice(&e.endorser);
        match channel
            .msps
            .verify_signature_at(&e.endorser, &msg, &e.signature, at)
        {
            Ok(id) if !out.iter().any(|o| o.id() == id.id()) => out.push(id),
            Ok(_) => tracing::debug!("duplicate endorsement ignored"),
            Err(err) => tracing::debug!(error = %err, "endorsement ignored"),
        }
    }
    out
}

/// Checks the chaincode-level and key-level endorsement policies against `view` (committed state, or
/// committed state overlaid with earlier transactions of the block).
pub fn check_policies(tx: &EndorserTx, channel: &ChannelConfig, view: &dyn StateView) -> Result<(), Invalid> {
    let tx_id = Some(tx.tx_id.as_str());
    let reqs = endorsement_requirements(view, &tx.chaincode, &tx.rwset).map_err(|e| {
        let code = match e {
            crate::policy::RequirementError::Undefined(_) => Code::InvalidChaincode,
            _ => Code::InvalidOtherReason,
        };
        Invalid::new(code, e.to_string(), tx_id)
    })?;
    for (what, policy) in reqs {
        let res = match &policy {
            EndorsementPolicy::Signature(p) => p.check(&what, &tx.endorsers),
            EndorsementPolicy::Channel(path) => channel.evaluate(path, &tx.endorsers),
        };
        res.map_err(|e| Invalid::new(Code::EndorsementPolicyFailure, format!("{what}: {e}"), tx_id))?;
    }
    Ok(())
}
