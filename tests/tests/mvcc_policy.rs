//! Validation over real processes: what every peer decides about a transaction once it is ordered.
//!
//! - Two transactions endorsed on the same snapshot that read and write one key (`UpdateAsset` reads the
//!   key, then writes it): exactly one is VALID, the other MVCC_READ_CONFLICT, whether they are ordered
//!   into the same block or into consecutive blocks, and the state is the winner's on both peers.
//! - The channel's MAJORITY policy needs both orgs: a transaction endorsed by Org1 only commits as
//!   ENDORSEMENT_POLICY_FAILURE, and so does one carrying a forged endorsement (a flipped signature byte,
//!   the client re-signing the envelope) or a duplicated one (Org2's replaced by a copy of Org1's).
//!   None of them changes state. A control transaction that goes through the same decode/re-encode/
//!   re-sign path untouched commits VALID, so the failures are due to the tampering alone.
//!
//! Phantom reads are covered at unit level in `peer/core/tests/validation.rs` (the basic contract has no
//! scan-then-write function).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_gateway::client::{ClientError, GatewayClient, Prepared};
use carechain_proto::common::Envelope;
use carechain_proto::msp::SerializedIdentity;
use carechain_proto::protos::{Endorsement, TxValidationCode};
use carechain_tests::probe::tx_ids;
use carechain_tests::tamper::{endorsements, flip_last_byte, rewrite_endorsements};
use carechain_tests::{NetSpec, TestNet, args};
use peer_core::txbuild::sign_envelope;
use prost::Message;

const CH: &str = "testchannel";

async fn start() -> (TestNet, GatewayClient) {
    let net = TestNet::start(NetSpec::default()).await.expect("network starts");
    let gw = net.gateway(0, "User1").await.unwrap();
    (net, gw)
}

async fn create(gw: &GatewayClient, id: &str, color: &str) -> Result<(), ClientError> {
    gw.submit_transaction(
        CH,
        "basic",
        &args(&["CreateAsset", id, color, "5", "Synthetic Owner", "100"]),
        &BTreeMap::new(),
    )
    .await
    .map(|_| ())
}

/// Endorses `UpdateAsset(id, color, ...)` on the given orgs (all needed ones when empty), without submitting.
async fn endorse_update(gw: &GatewayClient, id: &str, color: &str, orgs: &[&str]) -> Prepared {
    let p = gw.proposal(
        CH,
        "basic",
        &args(&["UpdateAsset", id, color, "6", "Synthetic Owner", "200"]),
        &BTreeMap::new(),
    );
    let orgs: Vec<String> = orgs.iter().map(|s| s.to_string()).collect();
    gw.endorse(CH, &p, &orgs).await.unwrap()
}

/// `ReadAsset(id)`'s color on every peer; panics unless all peers agree.
async fn color_everywhere(net: &TestNet, id: &str) -> String {
    let mut colors = Vec::new();
    for i in 0..net.peers.len() {
        let a: serde_json::Value =
            serde_json::from_str(&net.query(i, &["ReadAsset", id]).await.unwrap()).unwrap();
        colors.push(a["Color"].as_str().unwrap().to_string());
    }
    assert!(
        colors.windows(2).all(|w| w[0] == w[1]),
        "peers disagree on {id}: {colors:?}"
    );
    colors.remove(0)
}

/// Submits an unsigned envelope signed by the client and returns the code it committed with.
async fn submit_signed(gw: &GatewayClient, tx_id: &str, env: Envelope) -> (TxValidationCode, u64) {
    let env = sign_envelope(env, gw.signer());
    gw.submit_envelope(CH, tx_id, env).await.unwrap();
    gw.commit_status(CH, tx_id).await.unwrap()
}

fn msp_of(e: &Endorsement) -> String {
    SerializedIdentity::decode(e.endorser.as_ref()).unwrap().mspid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_snapshot_conflict_in_one_block_validates_exactly_one() {
    // Blocks of exactly two transactions (the long timeout never fires first): the two updates are
    // ordered into the same block.
    let net = TestNet::start(NetSpec {
        max_message_count: 2,
        batch_timeout: "1s".into(),
        ..NetSpec::default()
    })
    .await
    .expect("network starts");
    let gw = net.gateway(0, "User1").await.unwrap();
    let other = net.gateway(1, "User1").await.unwrap();
    let (r1, r2) = tokio::join!(
        create(&gw, "mvcc-1", "white"),
        create(&other, "unrelated", "white")
    );
    r1.unwrap();
    r2.unwrap();

    let a = endorse_update(&gw, "mvcc-1", "red", &[]).await;
    let b = endorse_update(&other, "mvcc-1", "green", &[]).await;
    let (ra, rb) = tokio::join!(gw.submit(&a), other.submit(&b));
    ra.unwrap();
    rb.unwrap();
    let (ca, block_a) = gw.commit_status(CH, &a.tx_id).await.unwrap();
    let (cb, block_b) = other.commit_status(CH, &b.tx_id).await.unwrap();
    assert_eq!(block_a, block_b, "both updates were ordered into one block");
    let mut codes = [ca, cb];
    codes.sort_by_key(|c| *c as i32);
    assert_eq!(
        codes,
        [TxValidationCode::Valid, TxValidationCode::MvccReadConflict],
        "codes of the two updates: {ca:?}, {cb:?}"
    );
    // The winner is the one ordered first.
    let block = net.deliver(0, block_a, block_a).await.unwrap().remove(0);
    let first = tx_ids(&block)[0].clone();
    let (winner, code_of_first) = if first == a.tx_id {
        ("red", ca)
    } else {
        ("green", cb)
    };
    assert_eq!(
        code_of_first,
        TxValidationCode::Valid,
        "the first transaction of the block wins"
    );
    net.wait_height(block_a + 1, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(color_everywhere(&net, "mvcc-1").await, winner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_snapshot_conflict_in_later_block_is_mvcc_read_conflict() {
    let (net, gw) = start().await;
    create(&gw, "mvcc-2", "white").await.unwrap();
    // Same snapshot, ordered one after the other: the second read a version that no longer exists.
    let a = endorse_update(&gw, "mvcc-2", "red", &[]).await;
    let b = endorse_update(&gw, "mvcc-2", "green", &[]).await;
    gw.submit(&a).await.unwrap();
    let (ca, block_a) = gw.commit_status(CH, &a.tx_id).await.unwrap();
    gw.submit(&b).await.unwrap();
    let (cb, block_b) = gw.commit_status(CH, &b.tx_id).await.unwrap();
    assert_eq!(ca, TxValidationCode::Valid);
    assert_eq!(cb, TxValidationCode::MvccReadConflict);
    assert!(block_b > block_a);
    net.wait_height(block_b + 1, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(color_everywhere(&net, "mvcc-2").await, "red");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_org_endorsement_fails_the_majority_policy() {
    let (net, gw) = start().await;
    create(&gw, "pol-1", "white").await.unwrap();
    for org in ["Org1MSP", "Org2MSP"] {
        let p = endorse_update(&gw, "pol-1", "red", &[org]).await;
        let ends = endorsements(&p.envelope).unwrap();
        assert_eq!(
            ends.iter().map(msp_of).collect::<Vec<_>>(),
            [org],
            "endorsed by {org} only"
        );
        gw.submit(&p).await.unwrap();
        let (code, block) = gw.commit_status(CH, &p.tx_id).await.unwrap();
        assert_eq!(
            code,
            TxValidationCode::EndorsementPolicyFailure,
            "endorsed by {org} only"
        );
        net.wait_height(block + 1, Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            color_everywhere(&net, "pol-1").await,
            "white",
            "state after a {org}-only update"
        );
    }
    // A create endorsed by one org leaves no asset behind either.
    let p = gw.proposal(
        CH,
        "basic",
        &args(&["CreateAsset", "pol-2", "blue", "1", "Synthetic Owner", "1"]),
        &BTreeMap::new(),
    );
    let p = gw.endorse(CH, &p, &["Org1MSP".into()]).await.unwrap();
    gw.submit(&p).await.unwrap();
    let (code, block) = gw.commit_status(CH, &p.tx_id).await.unwrap();
    assert_eq!(code, TxValidationCode::EndorsementPolicyFailure);
    net.wait_height(block + 1, Duration::from_secs(10)).await.unwrap();
    for i in 0..2 {
        assert_eq!(
            net.query(i, &["AssetExists", "pol-2"]).await.unwrap(),
            "false",
            "peer {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_duplicated_endorsements_fail_the_policy() {
    let (net, gw) = start().await;
    create(&gw, "forge-1", "white").await.unwrap();

    // Control: decode, re-encode and re-sign without changing anything: VALID.
    let p = endorse_update(&gw, "forge-1", "control", &[]).await;
    let env = rewrite_endorsements(&p.envelope, |_| {}).unwrap();
    let (code, _) = submit_signed(&gw, &p.tx_id, env).await;
    assert_eq!(code, TxValidationCode::Valid, "untampered control transaction");
    let expected = "control";

    type Tamper = Box<dyn Fn(&mut Vec<Endorsement>)>;
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "Org1's endorsement signature flipped",
            Box::new(|e: &mut Vec<Endorsement>| forge(e, "Org1MSP")),
        ),
        (
            "Org2's endorsement signature flipped",
            Box::new(|e: &mut Vec<Endorsement>| forge(e, "Org2MSP")),
        ),
        (
            "Org2's endorsement replaced by a copy of Org1's",
            Box::new(|e: &mut Vec<Endorsement>| {
                let org1 = e.iter().find(|x| msp_of(x) == "Org1MSP").unwrap().clone();
                let org2 = e.iter().position(|x| msp_of(x) == "Org2MSP").unwrap();
                e[org2] = org1;
            }),
        ),
    ];
    for (what, tamper) in cases {
        let p = endorse_update(&gw, "forge-1", "tampered", &[]).await;
        let mut ends = endorsements(&p.envelope).unwrap();
        let mut orgs: Vec<String> = ends.iter().map(msp_of).collect();
        orgs.sort();
        assert_eq!(orgs, ["Org1MSP", "Org2MSP"], "the gateway collected both orgs");
        tamper(&mut ends);
        let env = rewrite_endorsements(&p.envelope, |e| *e = ends).unwrap();
        let (code, block) = submit_signed(&gw, &p.tx_id, env).await;
        assert_eq!(code, TxValidationCode::EndorsementPolicyFailure, "{what}");
        net.wait_height(block + 1, Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            color_everywhere(&net, "forge-1").await,
            expected,
            "state after: {what}"
        );
    }
}

fn forge(e: &mut [Endorsement], msp: &str) {
    let x = e.iter_mut().find(|x| msp_of(x) == msp).unwrap();
    x.signature = flip_last_byte(&x.signature).into();
}
