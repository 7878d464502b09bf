//! Building transactions, the client and gateway side of endorse → order: a signed proposal from an
//! invocation, and the prepared transaction (Fabric's `prepareTransaction`) assembled from endorsements.
//!
//! The prepared envelope reuses the proposal's header bytes verbatim and carries the chaincode proposal
//! payload with the transient map removed, so validation can recompute the proposal hash and no
//! private input ever reaches a block.

use std::collections::BTreeMap;

use bytes::Bytes;
use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use carechain_proto::protos::{
    ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput,
    ChaincodeInvocationSpec, ChaincodeProposalPayload, ChaincodeSpec, Endorsement, Proposal,
    ProposalResponse, SignedProposal, Transaction, TransactionAction, chaincode_spec,
};
use prost::Message;

use crate::proposal::compute_tx_id;

/// Why endorsements could not be assembled into a transaction.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssembleError {
    /// No endorsement was given.
    #[error("no endorsements to assemble")]
    NoEndorsements,
    /// The proposal bytes do not decode.
    #[error("proposal does not decode: {0}")]
    BadProposal(String),
    /// Endorsers returned different results (non-deterministic contract, or different state).
    #[error("endorsers returned different results: {0}")]
    Mismatch(String),
}

/// A proposal ready to send, with its id.
#[derive(Debug, Clone)]
pub struct NewProposal {
    /// The signed proposal.
    pub signed: SignedProposal,
    /// Its transaction id.
    pub tx_id: String,
}

/// Creates and signs a proposal to invoke `chaincode` on `channel` with `args` (`[function, ...]`).
pub fn new_proposal(
    signer: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    args: &[Vec<u8>],
    transient: &BTreeMap<String, Vec<u8>>,
) -> NewProposal {
    let mut nonce = [0u8; 24];
    // The nonce only needs to be unique; ring's SystemRandom is the project's one CSPRNG.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce);
    let creator = signer.serialize().to_vec();
    let tx_id = compute_tx_id(&nonce, &creator);
    let ext = ChaincodeHeaderExtension {
        chaincode_id: Some(chaincode_id(chaincode)),
    };
    let ch = ChannelHeader {
        r#type: HeaderType::EndorserTransaction as i32,
        version: 0,
        timestamp: Some(now()),
        channel_id: channel.to_string(),
        tx_id: tx_id.clone(),
        epoch: 0,
        extension: ext.encode_to_vec().into(),
        tls_cert_hash: Bytes::new(),
    };
    let sh = SignatureHeader {
        creator: creator.into(),
        nonce: Bytes::copy_from_slice(&nonce),
    };
    let spec = ChaincodeInvocationSpec {
        chaincode_spec: Some(ChaincodeSpec {
            r#type: chaincode_spec::Type::Node as i32,
            chaincode_id: Some(chaincode_id(chaincode)),
            input: Some(ChaincodeInput {
                args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
                decorations: Default::default(),
                is_init: false,
            }),
            timeout: 0,
        }),
    };
    let payload = ChaincodeProposalPayload {
        input: spec.encode_to_vec().into(),
        transient_map: transient
            .iter()
            .map(|(k, v)| (k.clone(), Bytes::copy_from_slice(v)))
            .collect(),
    };
    let proposal = Proposal {
        header: Header {
            channel_header: ch.encode_to_vec().into(),
            signature_header: sh.encode_to_vec().into(),
        }
        .encode_to_vec()
        .into(),
        payload: payload.encode_to_vec().into(),
        extension: Bytes::new(),
    };
    let proposal_bytes = proposal.encode_to_vec();
    let signature = signer.sign(&proposal_bytes);
    NewProposal {
        signed: SignedProposal {
            proposal_bytes: proposal_bytes.into(),
            signature: signature.into(),
        },
        tx_id,
    }
}

fn chaincode_id(name: &str) -> ChaincodeId {
    ChaincodeId {
        path: String::new(),
        name: name.to_string(),
        version: String::new(),
    }
}

fn now() -> prost_types::Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// Assembles the unsigned prepared transaction from a proposal and its endorsements. All responses must
/// carry the same payload; endorsements from the same endorser identity are kept once.
pub fn assemble(proposal_bytes: &[u8], responses: &[ProposalResponse]) -> Result<Envelope, AssembleError> {
    let first = responses.first().ok_or(AssembleError::NoEndorsements)?;
    let prop = Proposal::decode(proposal_bytes).map_err(|e| AssembleError::BadProposal(e.to_string()))?;
    let header =
        Header::decode(prop.header.as_ref()).map_err(|e| AssembleError::BadProposal(e.to_string()))?;
    let cpp = ChaincodeProposalPayload::decode(prop.payload.as_ref())
        .map_err(|e| AssembleError::BadProposal(e.to_string()))?;
    let mut endorsements: Vec<Endorsement> = Vec::with_capacity(responses.len());
    for r in responses {
        if r.payload != first.payload {
            return Err(AssembleError::Mismatch(
                "proposal response payloads differ between endorsers".into(),
            ));
        }
        if let Some(e) = &r.endorsement
            && !endorsements.iter().any(|x| x.endorser == e.endorser)
        {
            endorsements.push(e.clone());
        }
    }
    if endorsements.is_empty() {
        return Err(AssembleError::NoEndorsements);
    }
    let stripped = ChaincodeProposalPayload {
        input: cpp.input,
        transient_map: Default::default(),
    };
    let cap = ChaincodeActionPayload {
        chaincode_proposal_payload: stripped.encode_to_vec().into(),
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: first.payload.clone(),
            endorsements,
        }),
    };
    let tx = Transaction {
        actions: vec![TransactionAction {
            header: header.signature_header.clone(),
            payload: cap.encode_to_vec().into(),
        }],
    };
    let payload = Payload {
        header: Some(header),
        data: tx.encode_to_vec().into(),
    };
    Ok(Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Bytes::new(),
    })
}

/// Signs a prepared envelope's payload as the client.
pub fn sign_envelope(mut env: Envelope, signer: &SigningIdentity) -> Envelope {
    env.signature = signer.sign(&env.payload).into();
    env
}

/// A signed Deliver request (`DELIVER_SEEK_INFO`) for blocks `start..=stop` of `channel`; `stop` None
/// means "keep streaming new blocks".
pub fn seek_envelope(
    signer: &SigningIdentity,
    channel: &str,
    start: u64,
    stop: Option<u64>,
    wait: bool,
) -> Envelope {
    use carechain_proto::orderer::{SeekInfo, SeekPosition, SeekSpecified, seek_info, seek_position};
    let pos = |n: u64| SeekPosition {
        r#type: Some(seek_position::Type::Specified(SeekSpecified { number: n })),
    };
    let info = SeekInfo {
        start: Some(pos(start)),
        stop: Some(pos(stop.unwrap_or(u64::MAX))),
        behavior: if wait {
            seek_info::SeekBehavior::BlockUntilReady as i32
        } else {
            seek_info::SeekBehavior::FailIfNotReady as i32
        },
        error_response: 0,
        content_type: 0,
    };
    signed_seek(signer, channel, &info)
}

/// A Deliver request for `info` (any start, stop and behaviour), signed by `signer`.
pub fn signed_seek(
    signer: &SigningIdentity,
    channel: &str,
    info: &carechain_proto::orderer::SeekInfo,
) -> Envelope {
    let mut nonce = [0u8; 24];
    // A failed nonce draw only weakens replay detection of a read request; the signature still binds it.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce);
    let ch = ChannelHeader {
        r#type: HeaderType::DeliverSeekInfo as i32,
        timestamp: Some(now()),
        channel_id: channel.to_string(),
        ..Default::default()
    };
    let sh = SignatureHeader {
        creator: Bytes::copy_from_slice(signer.serialize()),
        nonce: Bytes::copy_from_slice(&nonce),
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: ch.encode_to_vec().into(),
            signature_header: sh.encode_to_vec().into(),
        }),
        data: info.encode_to_vec().into(),
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload).into(),
        payload: payload.into(),
    }
}
