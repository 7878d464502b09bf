//! Checking a client's signed proposal: the first thing an endorser (and the gateway, for Evaluate)
//! does. Parsing is split from verification because the channel, and so the set of MSPs to verify the
//! creator against, is only known after the header is read.
//!
//! The checks mirror Fabric's endorser: header type ENDORSER_TRANSACTION, epoch 0, a nonce and a
//! creator, tx id = hex(SHA-256(nonce ‖ creator)), a chaincode name, a creator valid in the channel's
//! MSPs and a signature by it over the exact proposal bytes received.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use carechain_crypto::msp::{Identity, MspError, MspManager};
use carechain_proto::common::{ChannelHeader, Header, HeaderType, SignatureHeader};
use carechain_proto::protos::{
    ChaincodeHeaderExtension, ChaincodeInvocationSpec, ChaincodeProposalPayload, Proposal, SignedProposal,
};
use prost::Message;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Why a proposal was refused before simulation.
#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    /// A nested message does not decode, or a required part is missing.
    #[error("malformed proposal: {0}")]
    Malformed(String),
    /// The header type is not ENDORSER_TRANSACTION.
    #[error("proposal header type {0} is not ENDORSER_TRANSACTION (3)")]
    HeaderType(i32),
    /// The transaction id is not derived from nonce and creator.
    #[error("transaction id {got} does not match hex(SHA-256(nonce ‖ creator)) = {want}")]
    TxId {
        /// The id in the header.
        got: String,
        /// The id it should be.
        want: String,
    },
    /// The creator is not a valid identity of the channel, or its signature does not verify.
    #[error("proposal creator rejected: {0}")]
    Creator(#[from] MspError),
}

/// A decoded, not yet verified proposal.
#[derive(Debug, Clone)]
pub struct Proposed {
    /// The exact signed bytes.
    pub proposal_bytes: Bytes,
    /// The client's signature over `proposal_bytes`.
    pub signature: Bytes,
    /// Channel header bytes as received (hashed into the proposal hash).
    pub channel_header_bytes: Bytes,
    /// Signature header bytes as received.
    pub signature_header_bytes: Bytes,
    /// Decoded channel header.
    pub channel_header: ChannelHeader,
    /// Serialized creator identity.
    pub creator: Bytes,
    /// Nonce.
    pub nonce: Bytes,
    /// Chaincode name from the header extension.
    pub chaincode: String,
    /// `ChaincodeInvocationSpec` bytes (hashed into the proposal hash).
    pub input: Bytes,
    /// Arguments: `[function, args...]`.
    pub args: Vec<Vec<u8>>,
    /// Transient data (never hashed, never on the ledger).
    pub transient: BTreeMap<String, Vec<u8>>,
}

/// A proposal whose creator and signature verified.
#[derive(Debug, Clone)]
pub struct CheckedProposal {
    /// The decoded proposal.
    pub proposal: Proposed,
    /// The validated creator.
    pub creator: Arc<Identity>,
    /// Fabric's proposal hash: SHA-256(channel header ‖ signature header ‖ payload without transient).
    pub hash: [u8; 32],
}

impl Proposed {
    /// Transaction id.
    pub fn tx_id(&self) -> &str {
        &self.channel_header.tx_id
    }

    /// Channel name.
    pub fn channel_id(&self) -> &str {
        &self.channel_header.channel_id
    }

    /// Proposal timestamp (seconds, nanos).
    pub fn timestamp(&self) -> (i64, i32) {
        self.channel_header
            .timestamp
            .as_ref()
            .map_or((0, 0), |t| (t.seconds, t.nanos))
    }
}

fn malformed(what: &str, e: impl std::fmt::Display) -> ProposalError {
    ProposalError::Malformed(format!("{what}: {e}"))
}

/// The transaction id Fabric derives from a nonce and a serialized creator.
pub fn compute_tx_id(nonce: &[u8], creator: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(nonce);
    h.update(creator);
    hex::encode(h.finalize())
}

/// Decodes a signed proposal and checks everything that needs no MSP.
pub fn parse(signed: &SignedProposal) -> Result<Proposed, ProposalError> {
    let prop = Proposal::decode(signed.proposal_bytes.as_ref()).map_err(|e| malformed("proposal", e))?;
    let header = Header::decode(prop.header.as_ref()).map_err(|e| malformed("header", e))?;
    let ch =
        ChannelHeader::decode(header.channel_header.as_ref()).map_err(|e| malformed("channel header", e))?;
    if ch.r#type != HeaderType::EndorserTransaction as i32 {
        return Err(ProposalError::HeaderType(ch.r#type));
    }
    if ch.epoch != 0 {
        return Err(ProposalError::Malformed(format!(
            "epoch must be 0, got {}",
            ch.epoch
        )));
    }
    if ch.channel_id.is_empty() {
        return Err(ProposalError::Malformed("channel id is empty".into()));
    }
    let sh = SignatureHeader::decode(header.signature_header.as_ref())
        .map_err(|e| malformed("signature header", e))?;
    if sh.nonce.is_empty() {
        return Err(ProposalError::Malformed("nonce is empty".into()));
    }
    if sh.creator.is_empty() {
        return Err(ProposalError::Malformed("creator is empty".into()));
    }
    let want = compute_tx_id(&sh.nonce, &sh.creator);
    if ch.tx_id != want {
        return Err(ProposalError::TxId {
            got: ch.tx_id.clone(),
            want,
        });
    }
    let ext = ChaincodeHeaderExtension::decode(ch.extension.as_ref())
        .map_err(|e| malformed("chaincode header extension", e))?;
    let chaincode = ext.chaincode_id.map(|c| c.name).unwrap_or_default();
    if chaincode.is_empty() {
        return Err(ProposalError::Malformed("chaincode name is empty".into()));
    }
    let payload = ChaincodeProposalPayload::decode(prop.payload.as_ref())
        .map_err(|e| malformed("chaincode proposal payload", e))?;
    let spec = ChaincodeInvocationSpec::decode(payload.input.as_ref())
        .map_err(|e| malformed("chaincode invocation spec", e))?;
    let args = spec
        .chaincode_spec
        .and_then(|s| s.input)
        .map(|i| i.args.into_iter().map(|a| a.to_vec()).collect::<Vec<_>>())
        .unwrap_or_default();
    if args.is_empty() {
        return Err(ProposalError::Malformed(
            "chaincode input has no arguments (function name)".into(),
        ));
    }
    Ok(Proposed {
        proposal_bytes: signed.proposal_bytes.clone(),
        signature: signed.signature.clone(),
        channel_header_bytes: header.channel_header,
        signature_header_bytes: header.signature_header,
        channel_header: ch,
        creator: sh.creator,
        nonce: sh.nonce,
        chaincode,
        input: payload.input,
        args,
        transient: payload
            .transient_map
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect(),
    })
}

/// Verifies the creator against the channel's MSPs at `now` and its signature over the proposal bytes.
pub fn check(p: Proposed, msps: &MspManager, now: OffsetDateTime) -> Result<CheckedProposal, ProposalError> {
    let creator = msps.verify_signature_at(&p.creator, &p.proposal_bytes, &p.signature, now)?;
    let hash = proposal_hash(&p.channel_header_bytes, &p.signature_header_bytes, &p.input);
    Ok(CheckedProposal {
        proposal: p,
        creator,
        hash,
    })
}

/// Fabric's proposal hash over the header bytes and the payload with the transient map removed.
pub fn proposal_hash(channel_header: &[u8], signature_header: &[u8], input: &[u8]) -> [u8; 32] {
    let stripped = ChaincodeProposalPayload {
        input: Bytes::copy_from_slice(input),
        transient_map: Default::default(),
    }
    .encode_to_vec();
    proposal_hash_raw(channel_header, signature_header, &stripped)
}

/// SHA-256(channel header ‖ signature header ‖ payload bytes), the form validation recomputes from the
/// transaction's `chaincode_proposal_payload` as carried in the block.
pub fn proposal_hash_raw(channel_header: &[u8], signature_header: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(channel_header);
    h.update(signature_header);
    h.update(payload);
    h.finalize().into()
}
