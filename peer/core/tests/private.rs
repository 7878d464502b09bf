//! Private data through real endorsement and validation: the transaction carries only hashes; a member
//! peer with the plaintext applies it (checked against the hashes), a member without it records it as
//! missing, a non-member applies hashes only; memberOnlyRead/Write and collection endorsement policies
//! are enforced; a private read conflicts like a public one.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::protos::TxValidationCode as Code;
use chaincode_api::{Call, Context, Contract, ContractError};
use common::{Fixture, fixture};
use peer_core::block::{PvtInput, ValidatedBlock, validate_block};
use peer_core::collection::CollectionConfig;
use peer_core::endorse::{SimulationResult, endorse, simulate};
use peer_core::lifecycle::{ChaincodeDefinition, LIFECYCLE, PolicySpec, definition_key};
use peer_core::proposal;
use peer_core::pvtrwset::hash;
use peer_core::simulator::PrivateAccess;
use peer_core::state::{MemState, StateView, Version};
use peer_core::txbuild::{assemble, new_proposal, sign_envelope};
use prost::Message;
use time::OffsetDateTime;

/// `put coll key` stores transient "v"; `get coll key` returns it.
struct Phi;

impl Contract for Phi {
    fn name(&self) -> &str {
        "kv"
    }
    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        let (c, k) = (call.str_arg(0)?, call.str_arg(1)?);
        match call.function {
            "put" => {
                let v = ctx.transient("v").map(<[u8]>::to_vec).unwrap_or_default();
                ctx.put_private_data(c, k, &v).map(|_| vec![])
            }
            "get" => Ok(ctx.get_private_data(c, k)?.unwrap_or_default()),
            "read_put" => {
                let _ = ctx.get_private_data(c, k)?;
                ctx.put_private_data(c, k, b"x").map(|_| vec![])
            }
            _ => Err(ContractError::BadRequest("unknown".into())),
        }
    }
}

fn collections() -> Vec<CollectionConfig> {
    let c = |name: &str, policy: &str| CollectionConfig {
        name: name.into(),
        policy: policy.into(),
        required_peer_count: 0,
        max_peer_count: 1,
        block_to_live: 0,
        member_only_read: true,
        member_only_write: true,
        endorsement_policy: None,
    };
    vec![
        c("both", "OR('Org1MSP.member', 'Org2MSP.member')"),
        CollectionConfig {
            endorsement_policy: Some(PolicySpec::Signature("OR('Org1MSP.peer')".into())),
            ..c("org1only", "OR('Org1MSP.member')")
        },
    ]
}

fn state() -> MemState {
    let mut s = MemState::new();
    let d = ChaincodeDefinition {
        name: "kv".into(),
        version: "1.0".into(),
        sequence: 1,
        endorsement_policy: PolicySpec::default(),
        collections: collections(),
    };
    s.put(
        LIFECYCLE,
        &definition_key("kv"),
        &serde_json::to_vec(&d).unwrap(),
        Version::new(0, 0),
    );
    s
}

struct Endorsed {
    env: Vec<u8>,
    tx_id: String,
    sim: SimulationResult,
}

fn run(
    f: &Fixture,
    view: &MemState,
    creator: &SigningIdentity,
    endorsers: &[(&SigningIdentity, &str)],
    args: &[&str],
    phi: &[u8],
) -> Endorsed {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let transient = BTreeMap::from([("v".to_string(), phi.to_vec())]);
    let p = new_proposal(creator, "ch", "kv", &args, &transient);
    let checked = proposal::check(
        proposal::parse(&p.signed).unwrap(),
        &f.channel.msps,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let mut responses = Vec::new();
    let mut sim_out = None;
    for (e, msp) in endorsers {
        let access = PrivateAccess {
            collections: collections(),
            local_msp: msp.to_string(),
        };
        let sim = simulate(view, &Phi, &checked, &access);
        assert_eq!(sim.response.status, 200, "{}", sim.response.message);
        responses.push(endorse(&checked, &sim, "1.0", e));
        sim_out = Some(sim);
    }
    let env = sign_envelope(assemble(&p.signed.proposal_bytes, &responses).unwrap(), creator).encode_to_vec();
    Endorsed {
        env,
        tx_id: p.tx_id,
        sim: sim_out.unwrap(),
    }
}

fn validate(
    f: &Fixture,
    view: &MemState,
    local: &str,
    txs: &[&Endorsed],
    with_plaintext: bool,
) -> ValidatedBlock {
    let envs: Vec<bytes::Bytes> = txs.iter().map(|t| t.env.clone().into()).collect();
    let mut plaintext = HashMap::new();
    if with_plaintext {
        for t in txs {
            if let Some(p) = &t.sim.private {
                plaintext.insert(t.tx_id.clone(), p.clone());
            }
        }
    }
    validate_block(
        1,
        &envs,
        &f.channel,
        view,
        &PvtInput {
            local_msp: local.into(),
            plaintext,
        },
    )
    .unwrap()
}

#[test]
fn the_transaction_carries_hashes_only_and_members_apply_plaintext() {
    let f = fixture();
    let view = state();
    let phi = b"CANARY Synthetic Patient 0001 diagnosis";
    let t = run(
        &f,
        &view,
        &f.user1,
        &[(&f.peer1, "Org1MSP"), (&f.peer2, "Org2MSP")],
        &["put", "both", "p1"],
        phi,
    );
    assert!(
        !t.env.windows(phi.len()).any(|w| w == phi),
        "plaintext must not be in the envelope"
    );
    let member = validate(&f, &view, "Org1MSP", &[&t], true);
    assert_eq!(
        member.outcomes[0].code,
        Code::Valid,
        "{}",
        member.outcomes[0].reason
    );
    let mut s = view.clone();
    s.apply(1, &member.updates);
    assert_eq!(s.get_private("kv", "both", "p1").unwrap().unwrap().value, phi);
    assert_eq!(
        s.get_private_hash("kv", "both", &hash(b"p1"))
            .unwrap()
            .unwrap()
            .value_hash,
        hash(phi)
    );
    // A member without the plaintext: valid, hashes applied, recorded as missing.
    let missing = validate(&f, &view, "Org2MSP", &[&t], false);
    assert_eq!(missing.outcomes[0].code, Code::Valid);
    assert_eq!(missing.updates.private.missing.len(), 1);
    assert!(missing.updates.private.plaintext.is_empty());
}

#[test]
fn non_members_get_hashes_and_forged_plaintext_is_not_applied() {
    let f = fixture();
    let view = state();
    let t = run(
        &f,
        &view,
        &f.user1,
        &[(&f.peer1, "Org1MSP")],
        &["put", "org1only", "p2"],
        b"secret",
    );
    let other = validate(&f, &view, "Org2MSP", &[&t], true);
    assert_eq!(
        other.outcomes[0].code,
        Code::Valid,
        "{}",
        other.outcomes[0].reason
    );
    assert!(
        other.updates.private.plaintext.is_empty(),
        "a non-member never applies plaintext"
    );
    assert!(
        other.updates.private.missing.is_empty(),
        "a non-member is not missing anything"
    );
    assert_eq!(other.updates.private.hashed.len(), 1);
    // Forged plaintext (different value, same tx) is refused by the hash check and recorded as missing.
    let mut forged = t.sim.private.clone().unwrap();
    let set = &mut forged.ns_pvt_rwset[0].collection_pvt_rwset[0];
    let mut kv = carechain_proto::kvrwset::KvrwSet::decode(set.rwset.as_ref()).unwrap();
    kv.writes[0].value = b"tampered".to_vec().into();
    set.rwset = kv.encode_to_vec().into();
    let envs = vec![bytes::Bytes::from(t.env.clone())];
    let v = validate_block(
        1,
        &envs,
        &f.channel,
        &view,
        &PvtInput {
            local_msp: "Org1MSP".into(),
            plaintext: HashMap::from([(t.tx_id.clone(), forged)]),
        },
    )
    .unwrap();
    assert!(v.updates.private.plaintext.is_empty());
    assert_eq!(v.updates.private.missing.len(), 1);
}

#[test]
fn collection_policy_replaces_the_chaincode_policy_for_its_writes() {
    let f = fixture();
    let view = state();
    // org1only's policy: Org1's peer alone suffices (the chaincode's MAJORITY would need both).
    let t = run(
        &f,
        &view,
        &f.user1,
        &[(&f.peer1, "Org1MSP")],
        &["put", "org1only", "k"],
        b"v",
    );
    assert_eq!(
        validate(&f, &view, "Org1MSP", &[&t], true).outcomes[0].code,
        Code::Valid
    );
    // "both" has no policy of its own: one org fails the chaincode's MAJORITY.
    let t = run(
        &f,
        &view,
        &f.user1,
        &[(&f.peer1, "Org1MSP")],
        &["put", "both", "k"],
        b"v",
    );
    assert_eq!(
        validate(&f, &view, "Org1MSP", &[&t], true).outcomes[0].code,
        Code::EndorsementPolicyFailure
    );
}

#[test]
fn member_only_rules_and_non_member_peers_refuse_reads() {
    let f = fixture();
    let view = state();
    let p = new_proposal(
        &f.user1,
        "ch",
        "kv",
        &[b"get".to_vec(), b"org1only".to_vec(), b"k".to_vec()],
        &BTreeMap::new(),
    );
    let checked = proposal::check(
        proposal::parse(&p.signed).unwrap(),
        &f.channel.msps,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    // Org2's peer holds no org1only data.
    let on_org2 = simulate(
        &view,
        &Phi,
        &checked,
        &PrivateAccess {
            collections: collections(),
            local_msp: "Org2MSP".into(),
        },
    );
    assert_eq!(on_org2.response.status, 403, "{}", on_org2.response.message);
    let on_org1 = simulate(
        &view,
        &Phi,
        &checked,
        &PrivateAccess {
            collections: collections(),
            local_msp: "Org1MSP".into(),
        },
    );
    assert_eq!(on_org1.response.status, 200);
    let undefined = new_proposal(
        &f.user1,
        "ch",
        "kv",
        &[b"get".to_vec(), b"nope".to_vec(), b"k".to_vec()],
        &BTreeMap::new(),
    );
    let checked = proposal::check(
        proposal::parse(&undefined.signed).unwrap(),
        &f.channel.msps,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let r = simulate(
        &view,
        &Phi,
        &checked,
        &PrivateAccess {
            collections: collections(),
            local_msp: "Org1MSP".into(),
        },
    );
    assert_eq!(r.response.status, 400);
}

#[test]
fn private_reads_conflict_like_public_ones() {
    let f = fixture();
    let view = state();
    let e = [(&f.peer1, "Org1MSP"), (&f.peer2, "Org2MSP")];
    let a = run(&f, &view, &f.user1, &e, &["read_put", "both", "k"], b"");
    let b = run(&f, &view, &f.user1, &e, &["read_put", "both", "k"], b"");
    let v = validate(&f, &view, "Org1MSP", &[&a, &b], true);
    let codes: Vec<Code> = v.outcomes.iter().map(|o| o.code).collect();
    assert_eq!(codes, vec![Code::Valid, Code::MvccReadConflict]);
}
