//! The claims contract end to end on a multi-process network (issue 10): two hospitals and two insurers,
//! real orderer and peers, mutual TLS, RocksDB, the contract deployed as the default network deploys it.
//!
//! - A hospital billing clerk submits a claim, the insurer queues it, adjudicates it partially and pays it;
//!   both parties read the same FHIR Claim / ClaimResponse; the insurer's system follows every transition
//!   on the gateway's ChaincodeEvents stream, and resumes after a checkpointed transaction id.
//! - Refusals: another insurer can neither read the details nor adjudicate (whichever peer it asks), a
//!   hospital cannot adjudicate (not even with an insurer attribute from its own CA), a clinician cannot
//!   bill, and duplicates and inconsistent totals are refused with messages naming the fault. Each refusal
//!   changes nothing: no peer's height moves and the claim stays as it was.
//!
//! All data is synthetic.

#![allow(clippy::unwrap_used)]

mod claims_net;

use std::collections::BTreeMap;

use carechain_tests::TestNet;
use carechain_tests::probe::{endorser_msps, tx_ids};
use claims_net::*;
use serde_json::{Value, json};

const PATIENT: &str = "SYN-PSEUDO-0001";
const DATE: &str = "2024-03-04";

/// Two items, 2 × 617.28 + 765.44 = 2000.00 USD.
fn standard_claim() -> Value {
    details(
        vec![
            item(1, "99223", DATE, 2, "617.28", "1234.56"),
            item(2, "71046", DATE, 1, "765.44", "765.44"),
        ],
        "2000.00",
    )
}

/// Item 1 adjudicated (benefit 987.65 of 1234.56), item 2 pended: outcome partial.
fn partial_adjudication() -> Value {
    let cat = |code: &str| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": code}]});
    json!({
        "outcome": "partial",
        "disposition": "Item 2 pended for documentation (synthetic)",
        "item": [{
            "itemSequence": 1,
            "adjudication": [
                {"category": cat("submitted"), "amount": {"value": "1234.56", "currency": "USD"}},
                {"category": cat("eligible"), "amount": {"value": "1234.56", "currency": "USD"}},
                {"category": cat("benefit"), "amount": {"value": "987.65", "currency": "USD"}}
            ]
        }]
    })
}

/// Submits CLM-0001 from HospitalA and queues it.
async fn submitted_and_queued(net: &TestNet) {
    cover(net, INSURER, PATIENT).await;
    let billing = net.gateway(HOSPITAL_A, "billing").await.unwrap();
    let call = submit_args("CLM-0001", PATIENT);
    let call: Vec<&str> = call.iter().map(String::as_str).collect();
    submit(net, &billing, &call, &transient("claim", &standard_claim()))
        .await
        .unwrap();
    let adjuster = net.gateway(INSURER, "adjuster").await.unwrap();
    submit(net, &adjuster, &["QueueClaim", "CLM-0001"], &BTreeMap::new())
        .await
        .unwrap();
}

/// Reads chaincode events from `stream` until `n` have arrived for `claim`: (block, tx id, name, payload).
async fn next_events(
    stream: &mut tonic::Streaming<carechain_proto::gateway::ChaincodeEventsResponse>,
    claim: &str,
    n: usize,
) -> Vec<(u64, String, String, Value)> {
    let mut out = Vec::new();
    while out.len() < n {
        let resp = tokio::time::timeout(WAIT, stream.message())
            .await
            .unwrap_or_else(|_| panic!("no event after {WAIT:?}; have {out:?}"))
            .unwrap()
            .expect("stream open");
        for e in resp.events {
            let payload: Value = serde_json::from_slice(&e.payload).unwrap();
            if payload["id"] == claim {
                out.push((resp.block_number, e.tx_id, e.event_name, payload));
            }
        }
    }
    out
}

/// The MSP ids of the endorsers of committed transaction `c`, sorted.
async fn endorsers(net: &TestNet, c: &carechain_gateway::client::Committed) -> Vec<String> {
    let block = &net.deliver(INSURER, c.block, c.block).await.unwrap()[0];
    let i = tx_ids(block).iter().position(|t| *t == c.tx_id).unwrap();
    let mut endorsers = endorser_msps(block)[i].clone();
    endorsers.sort();
    endorsers
}

/// Both parties read the same private Claim and ClaimResponse, each through its own peer.
async fn assert_both_parties_read_the_same_documents(
    adjuster: &carechain_gateway::client::GatewayClient,
    billing: &carechain_gateway::client::GatewayClient,
) {
    let seen_by_insurer = query(adjuster, &["ReadClaimDetails", "CLM-0001"]).await.unwrap();
    let seen_by_hospital = query(billing, &["ReadClaimDetails", "CLM-0001"]).await.unwrap();
    assert_eq!(seen_by_insurer, seen_by_hospital);
    let response = &seen_by_insurer["claimResponse"];
    assert_eq!(response["outcome"], "partial");
    assert_eq!(response["total"][0]["amount"]["value"], "2000.00");
    assert_eq!(response["total"][1]["amount"]["value"], "987.65");
    assert_eq!(
        response["payment"]["amount"],
        json!({"value": "987.65", "currency": "USD"}),
        "payment defaults to the benefit"
    );
    assert_eq!(seen_by_insurer["claim"]["item"][0]["net"]["value"], "1234.56");
}

/// Four events, one per transition and block, the first from `submitted_tx`, none carrying details.
fn assert_followed(seen: &[(u64, String, String, Value)], submitted_tx: &str) {
    let names: Vec<&str> = seen.iter().map(|(_, _, n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["ClaimSubmitted", "ClaimQueued", "ClaimAdjudicated", "ClaimPaid"]
    );
    let statuses: Vec<&str> = seen.iter().map(|(.., p)| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["submitted", "queued", "adjudicated", "paid"]);
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "one block each, in order"
    );
    assert_eq!(seen[0].1, submitted_tx);
    for (.., payload) in seen {
        let text = payload.to_string();
        for secret in ["J18.9", "1234.56", "987.65", "99223"] {
            assert!(!text.contains(secret), "event leaks {secret}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_is_submitted_adjudicated_partially_and_paid_while_the_insurer_follows_its_events() {
    let net = start().await;
    cover(&net, INSURER, PATIENT).await;
    let billing = net.gateway(HOSPITAL_A, "billing").await.unwrap();
    let adjuster = net.gateway(INSURER, "adjuster").await.unwrap();
    // The insurer's claims system subscribes before anything is submitted, from the next block on.
    let from = net.height(INSURER).await.unwrap();
    let mut events = adjuster.chaincode_events(CH, CC, Some(from), None).await.unwrap();

    let call = submit_args("CLM-0001", PATIENT);
    let call: Vec<&str> = call.iter().map(String::as_str).collect();
    let c = submit(&net, &billing, &call, &transient("claim", &standard_claim()))
        .await
        .unwrap();
    let record: Value = serde_json::from_slice(&c.result).unwrap();
    assert_eq!(
        (
            record["status"].as_str(),
            record["provider"].as_str(),
            record["insurer"].as_str()
        ),
        (Some("submitted"), Some(HOSPITAL_A_MSP), Some(INSURER_MSP))
    );
    // The collection's endorsement policy and the claim's key-level policy: both parties' peers signed.
    assert_eq!(endorsers(&net, &c).await, [HOSPITAL_A_MSP, INSURER_MSP]);
    let queued = submit(&net, &adjuster, &["QueueClaim", "CLM-0001"], &BTreeMap::new())
        .await
        .unwrap();
    submit(
        &net,
        &adjuster,
        &["AdjudicateClaim", "CLM-0001"],
        &transient("adjudication", &partial_adjudication()),
    )
    .await
    .unwrap();
    let paid = submit(
        &net,
        &adjuster,
        &["PayClaim", "CLM-0001"],
        &transient("payment", &json!({"identifier": {"value": "SYN-EFT-0001"}})),
    )
    .await
    .unwrap();
    let paid: Value = serde_json::from_slice(&paid.result).unwrap();
    assert_eq!(
        (paid["status"].as_str(), paid["outcome"].as_str()),
        (Some("paid"), Some("partial"))
    );

    assert_both_parties_read_the_same_documents(&adjuster, &billing).await;

    // The insurer's system saw every transition, in order, carrying the public record only.
    let seen = next_events(&mut events, "CLM-0001", 4).await;
    assert_followed(&seen, &c.tx_id);
    // A follower that checkpointed the queue transaction resumes right after it.
    let mut resumed = adjuster
        .chaincode_events(CH, CC, None, Some(&queued.tx_id))
        .await
        .unwrap();
    let rest = next_events(&mut resumed, "CLM-0001", 2).await;
    let names: Vec<&str> = rest.iter().map(|(_, _, n, _)| n.as_str()).collect();
    assert_eq!(names, ["ClaimAdjudicated", "ClaimPaid"]);

    let history = query(&billing, &["ClaimHistory", "CLM-0001"]).await.unwrap();
    let versions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["record"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["paid", "adjudicated", "queued", "submitted"]);
}

/// Every peer's height and the claim's public record as the insurer sees it.
async fn observe(net: &TestNet) -> (Vec<u64>, Value) {
    let mut heights = Vec::new();
    for i in 0..net.peers.len() {
        heights.push(net.height(i).await.unwrap());
    }
    let adjuster = net.gateway(INSURER, "adjuster").await.unwrap();
    (
        heights,
        query(&adjuster, &["ReadClaim", "CLM-0001"]).await.unwrap(),
    )
}

/// `AdjudicateClaim CLM-0001` with a partial adjudication, submitted as `gw`'s identity.
async fn adjudicate(
    gw: &carechain_gateway::client::GatewayClient,
) -> Result<carechain_gateway::client::Committed, carechain_gateway::client::ClientError> {
    let adjudication = transient("adjudication", &partial_adjudication());
    let call = carechain_tests::args(&["AdjudicateClaim", "CLM-0001"]);
    gw.submit_transaction(CH, CC, &call, &adjudication).await
}

/// Another insurer reads or adjudicates CLM-0001, through its own peer and through the peer of the claim's
/// insurer.
async fn another_insurer_is_refused(net: &TestNet) {
    let other = net.gateway(INSURER_B, "adjuster").await.unwrap();
    let other_via_insurer = net
        .gateway_as(INSURER, net.user(INSURER_B, "adjuster").unwrap())
        .await
        .unwrap();
    for (gw, via) in [(&other, "own peer"), (&other_via_insurer, "insurer's peer")] {
        refused(
            query(gw, &["ReadClaimDetails", "CLM-0001"]).await,
            &["403", "InsurerBMSP", "shared only by HospitalAMSP and InsurerMSP"],
            &format!("another insurer reads the details via its {via}"),
        );
        refused(
            adjudicate(gw).await,
            &["403", "only InsurerMSP (its insurer) may"],
            &format!("another insurer adjudicates via its {via}"),
        );
    }
    refused(
        query(&other, &["ReadClaim", "CLM-0001"]).await,
        &["403", "is not a party to claim CLM-0001"],
        "another insurer reads the public record",
    );
}

/// HospitalA users adjudicate (its billing clerk lacks the insurer role; a "claims_adjuster" from its own
/// CA is not the claim's insurer); another hospital reads the details.
async fn hospitals_are_refused(net: &TestNet) {
    let billing = net.gateway(HOSPITAL_A, "billing").await.unwrap();
    refused(
        adjudicate(&billing).await,
        &[
            "403",
            "needs attribute role=insurer or role=claims_adjuster",
            "has role=billing",
        ],
        "hospital billing adjudicates",
    );
    let rogue = net.gateway(HOSPITAL_A, "rogue").await.unwrap();
    refused(
        adjudicate(&rogue).await,
        &["403", "only InsurerMSP (its insurer) may"],
        "hospital user with an insurer attribute adjudicates",
    );
    refused(
        query(
            &net.gateway(HOSPITAL_B, "billing").await.unwrap(),
            &["ReadClaimDetails", "CLM-0001"],
        )
        .await,
        &["403", "shared only by HospitalAMSP and InsurerMSP"],
        "another hospital reads the details",
    );
}

/// Bad claims from HospitalA: a clinician bills, a duplicate service, totals that do not add up, a reused id.
async fn bad_claims_are_refused(net: &TestNet) {
    let billing = net.gateway(HOSPITAL_A, "billing").await.unwrap();
    let submit_as = |gw: carechain_gateway::client::GatewayClient, id: &'static str, doc: Value| async move {
        let call = submit_args(id, PATIENT);
        let call: Vec<&str> = call.iter().map(String::as_str).collect();
        gw.submit_transaction(CH, CC, &carechain_tests::args(&call), &transient("claim", &doc))
            .await
    };
    let doctor = net.gateway(HOSPITAL_A, "drsmith").await.unwrap();
    refused(
        submit_as(doctor, "CLM-0002", simple_claim("99213", "2024-03-05")).await,
        &[
            "403",
            "needs attribute role=billing to submit claims",
            "has role=doctor",
        ],
        "a clinician submits",
    );
    refused(
        submit_as(billing.clone(), "CLM-0003", simple_claim("71046", DATE)).await,
        &[
            "409",
            "claim CLM-0003: duplicate of claim CLM-0001",
            "service http://www.ama-assn.org/go/cpt|71046 on 2024-03-04",
        ],
        "a duplicate service",
    );
    let mut bad_total = standard_claim();
    bad_total["total"]["value"] = json!("2000.01");
    refused(
        submit_as(billing.clone(), "CLM-0004", bad_total).await,
        &[
            "400",
            "total 2000.01 USD does not equal the sum of item nets 2000.00 USD",
        ],
        "a total that is not the sum of the items",
    );
    let mut bad_net = standard_claim();
    bad_net["item"][0]["net"]["value"] = json!("1234.00");
    bad_net["total"]["value"] = json!("1999.44");
    refused(
        submit_as(billing.clone(), "CLM-0005", bad_net).await,
        &[
            "400",
            "item 1 net 1234.00 USD does not equal quantity 2 × unitPrice 617.28 USD = 1234.56 USD",
        ],
        "an item net that is not quantity × unit price",
    );
    refused(
        submit_as(billing.clone(), "CLM-0001", simple_claim("99213", "2024-03-05")).await,
        &["409", "claim CLM-0001 already exists"],
        "a reused claim id",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_insurers_hospitals_duplicates_and_bad_totals_are_refused_and_change_nothing() {
    let net = start().await;
    submitted_and_queued(&net).await;
    let before = observe(&net).await;
    assert_eq!(before.1["status"], "queued");

    another_insurer_is_refused(&net).await;
    hospitals_are_refused(&net).await;
    bad_claims_are_refused(&net).await;

    // Nothing changed anywhere: no transaction reached the ledger, the claim is as it was, and none of
    // the refused claims exists.
    assert_eq!(observe(&net).await, before);
    let adjuster = net.gateway(INSURER, "adjuster").await.unwrap();
    for id in ["CLM-0002", "CLM-0003", "CLM-0004", "CLM-0005"] {
        refused(
            query(&adjuster, &["ReadClaim", id]).await,
            &["404", &format!("claim {id} does not exist")],
            "a refused claim",
        );
    }
    let page = query(&adjuster, &["QueryClaims", "{}"]).await.unwrap();
    assert_eq!(page["fetchedRecordsCount"], 1);

    // The claim's own insurer still can: refusals did not get in its way.
    adjudicate(&adjuster).await.unwrap();
}
