//! Evaluate-only functions on a real network: whatever a submitted transaction returns is written into
//! the block, so the functions a contract declares evaluate-only (`Contract::evaluate_only`; for
//! `records`, `ReadRecord`, `ListAccesses`, `ReadPatient`, …) must never become transactions.
//!
//! - The gateway's Endorse refuses them with FailedPrecondition naming the function and saying to use
//!   Evaluate, whether the client's own peer or another org's would endorse, and also when the function
//!   is written `Contract:Function`; nothing is ordered.
//! - Evaluate keeps working, locally and on another org's peer (the gateway's remote path goes through
//!   that peer's ProcessProposal).
//! - A client that bypasses the gateway and calls a peer's ProcessProposal directly gets the chaincode
//!   response but no endorsement (and no signed payload), so it cannot assemble a transaction; the same
//!   peer endorses a submittable function normally.
//!
//! Synthetic identities and data only.

#![allow(clippy::unwrap_used)]

mod records_net;

use std::collections::BTreeMap;

use carechain_gateway::client::ClientError;
use carechain_proto::protos::endorser_client::EndorserClient;
use carechain_tests::TestNet;
use chaincode_records::story::synthetic_patient;
use peer_core::txbuild;
use records_net::{CC, CH, bytes, cert_id, submit};
use tonic::Code;

const A: &str = "HospitalAMSP";
const P: &str = "e0e0e0e0e0e0e0e0e0e0e0e0e0e00001";
const P2: &str = "e0e0e0e0e0e0e0e0e0e0e0e0e0e00002";
const SALT: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Transient input of `RegisterPatient` for the synthetic patient bound to `patient0001`.
fn registration(net: &TestNet) -> BTreeMap<String, Vec<u8>> {
    let patient = net.user(0, "patient0001").unwrap();
    let link = serde_json::json!({"certId": cert_id(&patient), "salt": SALT}).to_string();
    BTreeMap::from([
        (
            "patient".to_string(),
            synthetic_patient().to_string().into_bytes(),
        ),
        ("link".to_string(), link.into_bytes()),
    ])
}

async fn heights(net: &TestNet) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..net.peers.len() {
        out.push(net.height(i).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_only_functions_are_never_endorsed_for_submission() {
    let net = records_net::start(&["HospitalA", "HospitalB"], 1).await;
    let doctor_a = net.gateway(0, "drsmith").await.unwrap();
    let doctor_b = net.gateway(1, "drpatel").await.unwrap();
    let at_a = vec![A.to_string()];
    submit(
        &net,
        &doctor_a,
        &strings(&["RegisterPatient", P]),
        &registration(&net),
        &at_a,
    )
    .await
    .unwrap_or_else(|e| panic!("registration: {e}\n{}", net.logs()));

    // The gateway refuses, before anything is endorsed or ordered.
    let before = heights(&net).await;
    let none = BTreeMap::new();
    let refused: [(&str, &[&str]); 4] = [
        ("ReadPatient", &["ReadPatient", P]),
        ("ReadRecord", &["ReadRecord", "00", "11"]),
        ("ListAccesses", &["ListAccesses", P]),
        ("ReadPatient", &["Records:ReadPatient", P]),
    ];
    for (function, args) in refused {
        for (gw, orgs) in [(&doctor_a, vec![]), (&doctor_b, at_a.clone())] {
            let p = gw.proposal(CH, CC, &bytes(&strings(args)), &none);
            let Err(ClientError::Status(s)) = gw.endorse(CH, &p, &orgs).await else {
                panic!("{args:?} was endorsed for submission");
            };
            assert_eq!(s.code(), Code::FailedPrecondition, "{args:?}: {s:?}");
            assert!(
                s.message().contains(function) && s.message().contains("use Evaluate"),
                "the refusal names {function} and says what to do: {}",
                s.message()
            );
        }
    }
    assert_eq!(heights(&net).await, before, "nothing was ordered");

    // Evaluate works, on the local peer and through another org's gateway on hospital A's peer.
    let local = doctor_a
        .evaluate(CH, CC, &bytes(&strings(&["ReadPatient", P])), &none)
        .await
        .unwrap();
    let remote = doctor_b
        .evaluate_on(CH, CC, &bytes(&strings(&["ReadPatient", P])), &none, &at_a)
        .await
        .unwrap();
    for answer in [&local, &remote] {
        let v: serde_json::Value = serde_json::from_slice(answer).unwrap();
        assert_eq!(v["pseudonym"], P);
        assert_eq!(v["status"], "active");
    }

    // Bypassing the gateway: hospital A's endorser answers but does not sign.
    let endorser = carechain_transport::connect(
        &net.peers[0].address.to_string(),
        &net.client_tls("peer", 0).unwrap(),
    )
    .await
    .unwrap();
    let mut endorser = EndorserClient::new(endorser);
    let read = doctor_b.proposal(CH, CC, &bytes(&strings(&["ReadPatient", P])), &none);
    let resp = endorser
        .process_proposal(read.signed.clone())
        .await
        .unwrap()
        .into_inner();
    let answer = resp.response.clone().unwrap();
    assert_eq!(answer.status, 200, "{}", answer.message);
    assert!(String::from_utf8_lossy(&answer.payload).contains(P));
    assert!(
        resp.endorsement.is_none(),
        "an evaluate-only response is never endorsed"
    );
    assert!(resp.payload.is_empty(), "no signed-over payload either");
    assert!(
        txbuild::assemble(&read.signed.proposal_bytes, &[resp]).is_err(),
        "no transaction can be assembled from it"
    );

    // The same endorser signs a submittable function (not submitted here).
    let register = doctor_a.proposal(
        CH,
        CC,
        &bytes(&strings(&["RegisterPatient", P2])),
        &registration(&net),
    );
    let resp = endorser
        .process_proposal(register.signed.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.response.as_ref().unwrap().status, 200);
    assert!(resp.endorsement.is_some(), "submittable functions are endorsed");
    assert!(txbuild::assemble(&register.signed.proposal_bytes, &[resp]).is_ok());
}
