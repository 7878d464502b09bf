//! Block validation over real transactions: identities from cryptogen, a channel configuration from a
//! configtx profile, proposals signed by users, simulated and endorsed by peers of two orgs, assembled
//! into envelopes as the gateway does, and validated as the committer does. No network, no database.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{Fixture, defined, defined_with, fixture};

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{Envelope, Payload};
use carechain_proto::protos::{ChaincodeActionPayload, Transaction, TxValidationCode as Code};
use chaincode_api::{Call, Context, ContextExt, Contract, ContractError, KeyEndorsement, Role};
use peer_core::block::{PvtInput, validate_block};
use peer_core::endorse::{endorse, simulate};
use peer_core::proposal;
use peer_core::simulator::PrivateAccess;
use peer_core::state::{MemState, StateView, Version};
use peer_core::txbuild::{assemble, new_proposal, sign_envelope};
use prost::Message;
use time::OffsetDateTime;

/// A test contract: `put k v`, `read_put k v` (read then write), `scan_put prefix k` (range scan of the
/// whole namespace, then a write), `lock k org` (key-level policy).
struct Kv;

impl Contract for Kv {
    fn name(&self) -> &str {
        "kv"
    }
    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        match call.function {
            "put" => ctx
                .put_state(call.str_arg(0)?, call.str_arg(1)?.as_bytes())
                .map(|_| vec![]),
            "read_put" => {
                let k = call.str_arg(0)?;
                let _ = ctx.get_state(k)?;
                ctx.put_state(k, call.str_arg(1)?.as_bytes()).map(|_| vec![])
            }
            "scan_put" => {
                let n = ctx.get_simple_state_by_range("", "", 0, "")?.items.len();
                ctx.put_state(call.str_arg(0)?, n.to_string().as_bytes())
                    .map(|_| vec![])
            }
            "lock" => {
                let p = KeyEndorsement::of(Role::Peer, [call.str_arg(1)?])?;
                ctx.set_key_endorsement(call.str_arg(0)?, Some(&p))
                    .map(|_| vec![])
            }
            other => Err(ContractError::BadRequest(format!("unknown {other}"))),
        }
    }
}

/// Endorses `args` on `view` by `endorsers` and returns the signed envelope bytes.
fn tx(
    f: &Fixture,
    view: &MemState,
    creator: &SigningIdentity,
    endorsers: &[&SigningIdentity],
    args: &[&str],
) -> Vec<u8> {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let p = new_proposal(creator, "ch", "kv", &args, &BTreeMap::new());
    let parsed = proposal::parse(&p.signed).unwrap();
    // The creator may be foreign to the channel; endorsement still needs a checked proposal, so check it
    // against the creator's own MSP when the channel would refuse it.
    let checked = match proposal::check(parsed.clone(), &f.channel.msps, OffsetDateTime::now_utc()) {
        Ok(c) => c,
        Err(_) => {
            let own = carechain_crypto::msp::MspManager::new([carechain_crypto::msp::Msp::from_msp_config(
                &carechain_crypto::msp::load_msp(
                    &f._dir.path().join("foreign/peerOrganizations/org1.v.local/msp"),
                    "Org1MSP",
                )
                .unwrap()
                .to_msp_config(),
            )
            .unwrap()])
            .unwrap();
            proposal::check(parsed, &own, OffsetDateTime::now_utc()).unwrap()
        }
    };
    let sim = simulate(view, &Kv, &checked, &PrivateAccess::default());
    assert_eq!(sim.response.status, 200, "{}", sim.response.message);
    let responses: Vec<_> = endorsers
        .iter()
        .map(|e| endorse(&checked, &sim, "1.0", e))
        .collect();
    let env = assemble(&p.signed.proposal_bytes, &responses).unwrap();
    sign_envelope(env, creator).encode_to_vec()
}

fn codes(f: &Fixture, view: &MemState, txs: &[Vec<u8>]) -> Vec<Code> {
    let envs: Vec<bytes::Bytes> = txs.iter().map(|t| t.clone().into()).collect();
    validate_block(1, &envs, &f.channel, view, &PvtInput::default())
        .unwrap()
        .outcomes
        .iter()
        .map(|o| o.code)
        .collect()
}

#[test]
fn endorsed_by_both_orgs_is_valid_and_applies_writes() {
    let f = fixture();
    let view = defined();
    let t = tx(&f, &view, &f.user1, &[&f.peer1, &f.peer2], &["put", "k", "v"]);
    let envs = vec![bytes::Bytes::from(t)];
    let v = validate_block(1, &envs, &f.channel, &view, &PvtInput::default()).unwrap();
    assert_eq!(v.outcomes[0].code, Code::Valid, "{}", v.outcomes[0].reason);
    let mut s = view.clone();
    s.apply(1, &v.updates);
    assert_eq!(s.get("kv", "k").unwrap().unwrap().version, Version::new(1, 0));
}

#[test]
fn one_endorsement_fails_the_majority_policy() {
    let f = fixture();
    let view = defined();
    let t = tx(&f, &view, &f.user1, &[&f.peer1], &["put", "k", "v"]);
    assert_eq!(codes(&f, &view, &[t]), vec![Code::EndorsementPolicyFailure]);
}

fn mutate_endorsements(
    raw: &[u8],
    f: impl FnOnce(&mut Vec<carechain_proto::protos::Endorsement>),
) -> Vec<u8> {
    let env = Envelope::decode(raw).unwrap();
    let mut payload = Payload::decode(env.payload.as_ref()).unwrap();
    let mut t = Transaction::decode(payload.data.as_ref()).unwrap();
    let mut cap = ChaincodeActionPayload::decode(t.actions[0].payload.as_ref()).unwrap();
    f(&mut cap.action.as_mut().unwrap().endorsements);
    t.actions[0].payload = cap.encode_to_vec().into();
    payload.data = t.encode_to_vec().into();
    Envelope {
        payload: payload.encode_to_vec().into(),
        signature: env.signature,
    }
    .encode_to_vec()
}

fn resign(raw: &[u8], who: &SigningIdentity) -> Vec<u8> {
    let env = Envelope::decode(raw).unwrap();
    sign_envelope(env, who).encode_to_vec()
}

#[test]
fn forged_or_duplicated_endorsements_do_not_count() {
    let f = fixture();
    let view = defined();
    let good = tx(&f, &view, &f.user1, &[&f.peer1, &f.peer2], &["put", "k", "v"]);
    let forged = resign(
        &mutate_endorsements(&good, |e| {
            let mut sig = e[1].signature.to_vec();
            let last = sig.len() - 2;
            sig[last] ^= 0x55;
            e[1].signature = sig.into();
        }),
        &f.user1,
    );
    let duplicated = resign(&mutate_endorsements(&good, |e| e[1] = e[0].clone()), &f.user1);
    let stolen = resign(
        &mutate_endorsements(&good, |e| {
            // Org2's endorsement claims Org1's signature bytes.
            e[1].signature = e[0].signature.clone();
        }),
        &f.user1,
    );
    assert_eq!(codes(&f, &view, &[forged]), vec![Code::EndorsementPolicyFailure]);
    assert_eq!(
        codes(&f, &view, &[duplicated]),
        vec![Code::EndorsementPolicyFailure]
    );
    assert_eq!(codes(&f, &view, &[stolen]), vec![Code::EndorsementPolicyFailure]);
}

#[test]
fn creator_signature_txid_and_ca_are_checked() {
    let f = fixture();
    let view = defined();
    let good = tx(&f, &view, &f.user1, &[&f.peer1, &f.peer2], &["put", "k", "v"]);
    let mut env = Envelope::decode(good.as_slice()).unwrap();
    let mut sig = env.signature.to_vec();
    let n = sig.len() - 2;
    sig[n] ^= 1;
    env.signature = sig.into();
    let bad_sig = env.encode_to_vec();
    let foreign = tx(&f, &view, &f.foreign, &[&f.peer1, &f.peer2], &["put", "k2", "v"]);
    assert_eq!(codes(&f, &view, &[bad_sig]), vec![Code::BadCreatorSignature]);
    assert_eq!(codes(&f, &view, &[foreign]), vec![Code::BadCreatorSignature]);
    assert_eq!(
        codes(&f, &view, &[vec![0xff, 0x01, 0x02]]),
        vec![Code::BadPayload]
    );
    assert_eq!(codes(&f, &view, &[vec![]]), vec![Code::NilEnvelope]);
}

#[test]
fn duplicate_tx_ids_are_refused_in_block_and_against_the_ledger() {
    let f = fixture();
    let view = defined();
    let t = tx(&f, &view, &f.user1, &[&f.peer1, &f.peer2], &["put", "k", "v"]);
    assert_eq!(
        codes(&f, &view, &[t.clone(), t.clone()]),
        vec![Code::Valid, Code::DuplicateTxid]
    );
    let envs = vec![bytes::Bytes::from(t.clone())];
    let v = validate_block(1, &envs, &f.channel, &view, &PvtInput::default()).unwrap();
    let mut s = view.clone();
    s.apply(1, &v.updates);
    assert_eq!(codes(&f, &s, &[t]), vec![Code::DuplicateTxid]);
}

#[test]
fn mvcc_conflict_for_two_transactions_on_one_snapshot() {
    let f = fixture();
    let mut view = defined();
    view.put("kv", "k", b"0", Version::new(0, 0));
    let a = tx(
        &f,
        &view,
        &f.user1,
        &[&f.peer1, &f.peer2],
        &["read_put", "k", "a"],
    );
    let b = tx(
        &f,
        &view,
        &f.user1,
        &[&f.peer1, &f.peer2],
        &["read_put", "k", "b"],
    );
    assert_eq!(
        codes(&f, &view, &[a, b]),
        vec![Code::Valid, Code::MvccReadConflict]
    );
}

#[test]
fn phantom_read_when_a_scanned_range_gains_a_key() {
    let f = fixture();
    let mut view = defined();
    view.put("kv", "a", b"1", Version::new(0, 0));
    let scan = tx(
        &f,
        &view,
        &f.user1,
        &[&f.peer1, &f.peer2],
        &["scan_put", "zz-count"],
    );
    let insert = tx(&f, &view, &f.user1, &[&f.peer1, &f.peer2], &["put", "b", "2"]);
    // The insert lands first in the block: the scan saw one key, there are now two.
    assert_eq!(
        codes(&f, &view, &[insert.clone(), scan.clone()]),
        vec![Code::Valid, Code::PhantomReadConflict]
    );
    // In the other order both are valid.
    assert_eq!(codes(&f, &view, &[scan, insert]), vec![Code::Valid, Code::Valid]);
}

#[test]
fn key_level_policy_governs_writes_to_its_key() {
    let f = fixture();
    let mut view = defined();
    view.put("kv", "k", b"0", Version::new(0, 0));
    let lock = tx(
        &f,
        &view,
        &f.user1,
        &[&f.peer1, &f.peer2],
        &["lock", "k", "Org2MSP"],
    );
    let envs = vec![bytes::Bytes::from(lock)];
    let v = validate_block(1, &envs, &f.channel, &view, &PvtInput::default()).unwrap();
    assert_eq!(v.outcomes[0].code, Code::Valid, "{}", v.outcomes[0].reason);
    view.apply(1, &v.updates);
    // Only Org2 must endorse writes to k now; Org1 alone fails, Org2 alone passes.
    let by_org1 = tx(&f, &view, &f.user1, &[&f.peer1], &["put", "k", "x"]);
    let by_org2 = tx(&f, &view, &f.user1, &[&f.peer2], &["put", "k", "y"]);
    assert_eq!(codes(&f, &view, &[by_org1]), vec![Code::EndorsementPolicyFailure]);
    assert_eq!(codes(&f, &view, &[by_org2]), vec![Code::Valid]);
}

#[test]
fn tx_id_not_derived_from_nonce_and_creator_is_refused() {
    use carechain_proto::common::ChannelHeader;
    let f = fixture();
    let view = defined();
    let good = tx(&f, &view, &f.user1, &[&f.peer1, &f.peer2], &["put", "k", "v"]);
    let env = Envelope::decode(good.as_slice()).unwrap();
    let mut payload = Payload::decode(env.payload.as_ref()).unwrap();
    let header = payload.header.as_mut().unwrap();
    let mut ch = ChannelHeader::decode(header.channel_header.as_ref()).unwrap();
    ch.tx_id = "0".repeat(64);
    header.channel_header = ch.encode_to_vec().into();
    let tampered = Envelope {
        payload: payload.encode_to_vec().into(),
        signature: Default::default(),
    };
    let t = sign_envelope(tampered, &f.user1).encode_to_vec();
    assert_eq!(codes(&f, &view, &[t]), vec![Code::BadProposalTxid]);
}

#[test]
fn undefined_chaincode_and_stale_version_are_invalid() {
    let f = fixture();
    let view = defined();
    let t = tx(&f, &view, &f.user1, &[&f.peer1, &f.peer2], &["put", "k", "v"]);
    assert_eq!(
        codes(&f, &MemState::new(), std::slice::from_ref(&t)),
        vec![Code::InvalidChaincode]
    );
    // The definition moved to version 2.0 after endorsement.
    let mut v2 = defined();
    let d = peer_core::lifecycle::ChaincodeDefinition {
        name: "kv".into(),
        version: "2.0".into(),
        sequence: 2,
        endorsement_policy: Default::default(),
        collections: vec![],
    };
    v2.put(
        "_lifecycle",
        "namespaces/metadata/kv",
        &serde_json::to_vec(&d).unwrap(),
        Version::new(1, 0),
    );
    assert_eq!(codes(&f, &v2, &[t]), vec![Code::ChaincodeVersionConflict]);
}

#[test]
fn the_definitions_policy_is_the_one_enforced() {
    let f = fixture();
    let only_org2 = defined_with(peer_core::lifecycle::PolicySpec::Signature(
        "OR('Org2MSP.peer')".into(),
    ));
    let by_org1 = tx(&f, &only_org2, &f.user1, &[&f.peer1], &["put", "k", "v"]);
    let by_org2 = tx(&f, &only_org2, &f.user1, &[&f.peer2], &["put", "k", "v"]);
    assert_eq!(
        codes(&f, &only_org2, &[by_org1, by_org2]),
        vec![Code::EndorsementPolicyFailure, Code::Valid]
    );
}
