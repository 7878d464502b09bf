//! The chaincode lifecycle through real endorsement and validation: per-org approvals (each needs its
//! own org's peer), commit under LifecycleEndorsement once enough orgs approved the same definition, the
//! readiness check naming the field that differs, and a new sequence changing the enforced policy.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::protos::TxValidationCode as Code;
use common::{Fixture, fixture};
use peer_core::block::{PvtInput, validate_block};
use peer_core::endorse::{endorse, simulate};
use peer_core::lifecycle::{ChaincodeDefinition, Lifecycle, PolicySpec, Readiness, definition};
use peer_core::proposal;
use peer_core::simulator::PrivateAccess;
use peer_core::state::{MemState, StateView};
use peer_core::txbuild::{assemble, new_proposal, sign_envelope};
use prost::Message;
use time::OffsetDateTime;

fn def(seq: u64, policy: &str) -> ChaincodeDefinition {
    ChaincodeDefinition {
        name: "kv".into(),
        version: format!("{seq}.0"),
        sequence: seq,
        endorsement_policy: PolicySpec::Signature(policy.into()),
        collections: vec![],
    }
}

/// Simulates a lifecycle call as `caller`, endorsed by `endorsers`. Returns the chaincode status, and
/// when it was endorsable the validation code after validating it in a block (state updated if valid).
fn run(
    f: &Fixture,
    state: &mut MemState,
    caller: &SigningIdentity,
    endorsers: &[&SigningIdentity],
    args: &[String],
) -> (i32, Option<Code>, Vec<u8>) {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let p = new_proposal(caller, "ch", "_lifecycle", &args, &BTreeMap::new());
    let checked = proposal::check(
        proposal::parse(&p.signed).unwrap(),
        &f.channel.msps,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let lc = Lifecycle {
        channel: Arc::new(f.channel.clone()),
    };
    let sim = simulate(state, &lc, &checked, &PrivateAccess::default());
    let status = sim.response.status;
    let payload = sim.response.payload.to_vec();
    if status >= 400 {
        return (status, None, sim.response.message.into_bytes());
    }
    let responses: Vec<_> = endorsers
        .iter()
        .map(|e| endorse(&checked, &sim, "syscc", e))
        .collect();
    let env = sign_envelope(assemble(&p.signed.proposal_bytes, &responses).unwrap(), caller);
    let number = state.height();
    let v = validate_block(
        number,
        &[env.encode_to_vec().into()],
        &f.channel,
        state,
        &PvtInput::default(),
    )
    .unwrap();
    if v.outcomes[0].code == Code::Valid {
        state.apply(number, &v.updates);
    }
    (status, Some(v.outcomes[0].code), payload)
}

fn call(func: &str, d: &ChaincodeDefinition) -> Vec<String> {
    vec![func.to_string(), serde_json::to_string(d).unwrap()]
}

#[test]
fn approve_then_commit_with_majority() {
    let f = fixture();
    let mut s = MemState::new();
    let d = def(1, "AND('Org1MSP.peer', 'Org2MSP.peer')");
    // Org1's approval needs Org1's peer; Org2's peer cannot approve for Org1.
    let (st, code, _) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer2],
        &call("ApproveChaincodeDefinitionForMyOrg", &d),
    );
    assert_eq!((st, code), (200, Some(Code::EndorsementPolicyFailure)));
    let (_, code, _) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1],
        &call("ApproveChaincodeDefinitionForMyOrg", &d),
    );
    assert_eq!(code, Some(Code::Valid));
    // One approval of two is not a majority: the commit is refused at endorsement.
    let (st, _, msg) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1, &f.peer2],
        &call("CommitChaincodeDefinition", &d),
    );
    assert_eq!(st, 403, "{}", String::from_utf8_lossy(&msg));
    // Org2 approves a different policy: readiness names the field.
    let other = def(1, "OR('Org2MSP.peer')");
    run(
        &f,
        &mut s,
        &f.admin2,
        &[&f.peer2],
        &call("ApproveChaincodeDefinitionForMyOrg", &other),
    );
    let (_, _, out) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1],
        &call("CheckCommitReadiness", &d),
    );
    let r: Readiness = serde_json::from_slice(&out).unwrap();
    assert!(r.approvals["Org1MSP"]);
    assert!(!r.approvals["Org2MSP"]);
    assert_eq!(r.mismatches["Org2MSP"], vec!["endorsement_policy".to_string()]);
    assert!(!r.ready);
    // Org2 re-approves the same definition; commit endorsed by one org fails LifecycleEndorsement.
    run(
        &f,
        &mut s,
        &f.admin2,
        &[&f.peer2],
        &call("ApproveChaincodeDefinitionForMyOrg", &d),
    );
    let (st, code, _) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1],
        &call("CommitChaincodeDefinition", &d),
    );
    assert_eq!((st, code), (200, Some(Code::EndorsementPolicyFailure)));
    assert!(definition(&s, "kv").unwrap().is_none());
    let (_, code, _) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1, &f.peer2],
        &call("CommitChaincodeDefinition", &d),
    );
    assert_eq!(code, Some(Code::Valid));
    assert_eq!(definition(&s, "kv").unwrap().unwrap(), d);
}

#[test]
fn only_admins_approve_and_sequences_advance_one_by_one() {
    let f = fixture();
    let mut s = MemState::new();
    let (st, _, _) = run(
        &f,
        &mut s,
        &f.user1,
        &[&f.peer1],
        &call(
            "ApproveChaincodeDefinitionForMyOrg",
            &def(1, "OR('Org1MSP.peer')"),
        ),
    );
    assert_eq!(st, 403);
    let (st, _, _) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1],
        &call(
            "ApproveChaincodeDefinitionForMyOrg",
            &def(2, "OR('Org1MSP.peer')"),
        ),
    );
    assert_eq!(st, 409);
    // Sequence 1, then a new sequence with a different policy replaces it.
    for (seq, policy) in [
        (1, "AND('Org1MSP.peer', 'Org2MSP.peer')"),
        (2, "OR('Org2MSP.peer')"),
    ] {
        let d = def(seq, policy);
        run(
            &f,
            &mut s,
            &f.admin1,
            &[&f.peer1],
            &call("ApproveChaincodeDefinitionForMyOrg", &d),
        );
        run(
            &f,
            &mut s,
            &f.admin2,
            &[&f.peer2],
            &call("ApproveChaincodeDefinitionForMyOrg", &d),
        );
        let (_, code, _) = run(
            &f,
            &mut s,
            &f.admin1,
            &[&f.peer1, &f.peer2],
            &call("CommitChaincodeDefinition", &d),
        );
        assert_eq!(code, Some(Code::Valid));
        assert_eq!(definition(&s, "kv").unwrap().unwrap().sequence, seq);
    }
    let policy = peer_core::policy::chaincode_policy(&s, "kv").unwrap();
    assert_eq!(
        policy,
        PolicySpec::Signature("OR('Org2MSP.peer')".into())
            .resolve()
            .unwrap()
    );
}

#[test]
fn the_committed_sequence_can_be_approved_again_only_as_committed() {
    let f = fixture();
    let mut s = MemState::new();
    let d = def(1, "OR('Org1MSP.peer')");
    for (admin, peer) in [(&f.admin1, &f.peer1), (&f.admin2, &f.peer2)] {
        let (_, code, _) = run(
            &f,
            &mut s,
            admin,
            &[peer],
            &call("ApproveChaincodeDefinitionForMyOrg", &d),
        );
        assert_eq!(code, Some(Code::Valid));
    }
    let (_, code, _) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1, &f.peer2],
        &call("CommitChaincodeDefinition", &d),
    );
    assert_eq!(code, Some(Code::Valid));
    // As an org that joined later does: the committed definition, exactly, is accepted.
    let (st, code, _) = run(
        &f,
        &mut s,
        &f.admin2,
        &[&f.peer2],
        &call("ApproveChaincodeDefinitionForMyOrg", &d),
    );
    assert_eq!((st, code), (200, Some(Code::Valid)));
    // The committed sequence with other parameters is a conflict naming what differs; so is committing
    // the same sequence again.
    let (st, _, msg) = run(
        &f,
        &mut s,
        &f.admin2,
        &[&f.peer2],
        &call(
            "ApproveChaincodeDefinitionForMyOrg",
            &def(1, "OR('Org2MSP.peer')"),
        ),
    );
    let msg = String::from_utf8(msg).unwrap();
    assert_eq!(st, 409, "{msg}");
    assert!(
        msg.contains("endorsement_policy") && msg.contains("sequence 2"),
        "{msg}"
    );
    let (st, _, _) = run(
        &f,
        &mut s,
        &f.admin1,
        &[&f.peer1, &f.peer2],
        &call("CommitChaincodeDefinition", &d),
    );
    assert_eq!(st, 409);
    assert_eq!(definition(&s, "kv").unwrap().unwrap(), d);
}
