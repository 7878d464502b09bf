//! Rewriting signed proposals and prepared transactions, as an attacker or a buggy client would, so the
//! tests can show that endorsers, the gateway, the orderer and validation refuse them. Every rewrite
//! decodes the nested messages, changes one thing and re-encodes; the caller decides whether to re-sign.
//! [`TestNet::impostor`] makes identities the channel must not trust.

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{ChannelHeader, Envelope, Header, Payload, SignatureHeader};
use carechain_proto::protos::{ChaincodeActionPayload, Endorsement, Proposal, SignedProposal, Transaction};
use prost::Message;

use crate::TestNet;
use crate::layout::domain;

/// Flips the last byte of a DER ECDSA signature: still well-formed DER (the byte is inside `s`), but no
/// longer a valid signature of anything.
pub fn flip_last_byte(sig: &[u8]) -> Vec<u8> {
    let mut v = sig.to_vec();
    if let Some(b) = v.last_mut() {
        *b ^= 0x01;
    }
    v
}

/// The endorsements inside a prepared (or signed) transaction envelope.
pub fn endorsements(env: &Envelope) -> anyhow::Result<Vec<Endorsement>> {
    let payload = Payload::decode(env.payload.as_ref())?;
    let tx = Transaction::decode(payload.data.as_ref())?;
    let action = tx
        .actions
        .first()
        .ok_or_else(|| anyhow::anyhow!("transaction has no action"))?;
    let cap = ChaincodeActionPayload::decode(action.payload.as_ref())?;
    Ok(cap.action.map(|a| a.endorsements).unwrap_or_default())
}

/// The envelope with its endorsement list rewritten by `f`; unsigned (sign it with
/// `peer_core::txbuild::sign_envelope`). With `f` doing nothing the result is equivalent to the input,
/// which tests use as a control that the rewrite itself breaks nothing.
pub fn rewrite_endorsements(
    env: &Envelope,
    f: impl FnOnce(&mut Vec<Endorsement>),
) -> anyhow::Result<Envelope> {
    let mut payload = Payload::decode(env.payload.as_ref())?;
    let mut tx = Transaction::decode(payload.data.as_ref())?;
    let action = tx
        .actions
        .first_mut()
        .ok_or_else(|| anyhow::anyhow!("transaction has no action"))?;
    let mut cap = ChaincodeActionPayload::decode(action.payload.as_ref())?;
    let endorsed = cap
        .action
        .as_mut()
        .ok_or_else(|| anyhow::anyhow!("transaction has no endorsed action"))?;
    f(&mut endorsed.endorsements);
    action.payload = cap.encode_to_vec().into();
    payload.data = tx.encode_to_vec().into();
    Ok(Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Default::default(),
    })
}

/// The envelope with `signer` as creator in the payload's signature header, signed by `signer`.
pub fn with_creator(env: &Envelope, signer: &SigningIdentity) -> anyhow::Result<Envelope> {
    let mut payload = Payload::decode(env.payload.as_ref())?;
    let header = payload.header.get_or_insert_with(Header::default);
    let mut sh = SignatureHeader::decode(header.signature_header.as_ref())?;
    sh.creator = signer.serialize().to_vec().into();
    header.signature_header = sh.encode_to_vec().into();
    let payload = payload.encode_to_vec();
    Ok(Envelope {
        signature: signer.sign(&payload).into(),
        payload: payload.into(),
    })
}

/// The proposal with its headers rewritten by `f`, signed again by `signer`.
pub fn rewrite_proposal(
    signed: &SignedProposal,
    signer: &SigningIdentity,
    f: impl FnOnce(&mut ChannelHeader, &mut SignatureHeader),
) -> anyhow::Result<SignedProposal> {
    let mut prop = Proposal::decode(signed.proposal_bytes.as_ref())?;
    let mut header = Header::decode(prop.header.as_ref())?;
    let mut ch = ChannelHeader::decode(header.channel_header.as_ref())?;
    let mut sh = SignatureHeader::decode(header.signature_header.as_ref())?;
    f(&mut ch, &mut sh);
    header.channel_header = ch.encode_to_vec().into();
    header.signature_header = sh.encode_to_vec().into();
    prop.header = header.encode_to_vec().into();
    let bytes = prop.encode_to_vec();
    Ok(SignedProposal {
        signature: signer.sign(&bytes).into(),
        proposal_bytes: bytes.into(),
    })
}

impl TestNet {
    /// `user` of an impostor org: same name, domain and MSP id as org `i`, but its own CA, generated
    /// by cryptogen in a second crypto tree. The channel does not know that CA.
    pub fn impostor(&self, i: usize, user: &str) -> anyhow::Result<SigningIdentity> {
        let org = &self.spec.orgs[i];
        let d = domain(org);
        let dir = self.root.path().join(format!("impostor-{org}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("crypto-config.yaml"),
            format!(
                "PeerOrgs:\n  - Name: {org}\n    Domain: {d}\n    MSPID: {org}MSP\n    Template:\n      Count: 1\n    Users:\n      Count: 1\n"
            ),
        )?;
        if !dir.join("crypto").exists() {
            carechain_crypto::cryptogen::generate(
                &dir.join("crypto-config.yaml"),
                &dir.join("crypto"),
                false,
            )?;
        }
        let msp = dir
            .join("crypto/peerOrganizations")
            .join(&d)
            .join("users")
            .join(format!("{user}@{d}"))
            .join("msp");
        Ok(SigningIdentity::load(&msp, format!("{org}MSP"))?)
    }
}
