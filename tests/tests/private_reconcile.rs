//! Dissemination and reconciliation of private data (issue 7), with the `private` contract on a
//! network of Org1 and Org2 (both members of `assetCollection`) and one orderer:
//!
//! - `requiredPeerCount` that cannot be reached (Org2's peer, the only other member, is down) fails
//!   the endorsement with an error naming the collection, and nothing is committed: heights, blocks
//!   and the private state stay as they were. With Org2 back the same write commits.
//! - A member peer that was down while a transaction was endorsed (allowed here by deploying with
//!   `requiredPeerCount` 0) lists the data as missing (`carechain peer pvtdata missing`, the real
//!   binary) for as long as no other member can serve it, then fetches it, checks it against the
//!   block's hashes and serves reads from it; the reconciled data still expires with its
//!   collection's `blockToLive` like data received at endorsement.

#![allow(clippy::unwrap_used)]

mod private_net;

use std::time::Duration;

use carechain_tests::scan;
use private_net::*;
use serde_json::json;

const ORG1: usize = 0;
const ORG2: usize = 1;
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_required_peer_count_fails_endorsement_and_commits_nothing() {
    let mut net = start(&["Org1", "Org2"], 1, sample_collections()).await;
    let (id, color) = ("asset-required-1", scan::canary("color"));
    net.kill9("peer", ORG2);
    let height = net.height(ORG1).await.unwrap();
    let ordered = orderer_blocks(&net, 0).await.len();

    let err = write(
        &net,
        ORG1,
        "CreateAsset",
        "asset_properties",
        &asset(id, &color, 10),
    )
    .await
    .expect_err("assetCollection needs one other member peer, and Org2's is down")
    .to_string();
    assert!(
        err.contains(ASSETS) && err.contains("1 required"),
        "the error names the collection and its requiredPeerCount: {err}"
    );
    assert!(!err.contains(&color), "the error carries no private value: {err}");

    // Nothing was submitted: one batch timeout later the orderer and the peer are where they were.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(net.height(ORG1).await.unwrap(), height);
    assert_eq!(orderer_blocks(&net, 0).await.len(), ordered);
    assert_eq!(read(&net, ORG1, &["ReadAsset", id]).await.unwrap(), "");
    assert_eq!(
        read(&net, ORG1, &["GetAssetByRange", "", ""]).await.unwrap(),
        "[]"
    );

    // The same write commits once the member peer is reachable again.
    net.start_node("peer", ORG2).unwrap();
    must_write(
        &net,
        ORG1,
        "CreateAsset",
        "asset_properties",
        &asset(id, &color, 10),
    )
    .await;
    assert!(
        read(&net, ORG1, &["ReadAsset", id])
            .await
            .unwrap()
            .contains(&color)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_down_during_endorsement_reconciles_and_still_expires() {
    const BTL: u64 = 4;
    let colls = collections_with(|c| {
        c["requiredPeerCount"] = json!(0);
        c["blockToLive"] = json!(BTL);
    });
    let mut net = start(&["Org1", "Org2"], 1, colls).await;
    let (id, color) = ("asset-reconcile-1", scan::canary("color"));
    assert_eq!(
        missing_cli(&net, ORG2).trim(),
        "no private data missing on testchannel"
    );

    net.kill9("peer", ORG2);
    let c = must_write(
        &net,
        ORG1,
        "CreateAsset",
        "asset_properties",
        &asset(id, &color, 10),
    )
    .await;
    let line = format!("block {:>6} tx {:>4}  {CC}/{ASSETS}", c.block, 0);

    // Org2 comes back while Org1 (the only other member) is down: it commits the block with the hashes
    // only, and lists the write set as missing for as long as nobody can serve it.
    net.kill9("peer", ORG1);
    net.start_node("peer", ORG2).unwrap();
    net.wait_peer_height(ORG2, c.block + 1, WAIT).await.unwrap();
    let listed = eventually(WAIT, || async { missing_cli(&net, ORG2).contains(&line) }).await;
    assert!(
        listed,
        "missing list shows {line:?}: {}\n{}",
        missing_cli(&net, ORG2),
        net.logs()
    );
    assert_eq!(read(&net, ORG2, &["ReadAsset", id]).await.unwrap(), "");
    for _ in 0..3 {
        // Several reconciler rounds (one a second) later it is still listed, not silently dropped.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(missing_cli(&net, ORG2).trim(), line);
    }

    net.start_node("peer", ORG1).unwrap();
    let done = eventually(WAIT, || async {
        missing_cli(&net, ORG2).contains("no private data missing")
    })
    .await;
    assert!(
        done,
        "Org2 reconciles: {}\n{}",
        missing_cli(&net, ORG2),
        net.log("peer", ORG2)
    );
    let a = read(&net, ORG2, &["ReadAsset", id]).await.unwrap();
    assert!(a.contains(&color), "Org2 serves the reconciled asset: {a}");

    // Block-to-live counts from the block that wrote the data, reconciled or not: present while the
    // last block is at most BTL blocks later, gone from both members after.
    let mut n = 0;
    while net.height(ORG1).await.unwrap() < c.block + BTL + 1 {
        public_write(&net, &format!("filler-{n}"), "grey").await;
        n += 1;
    }
    net.wait_height(c.block + BTL + 1, WAIT).await.unwrap();
    for i in [ORG1, ORG2] {
        let a = read(&net, i, &["ReadAsset", id]).await.unwrap();
        assert!(
            a.contains(&color),
            "org {i} still holds it at the last block it lives: {a}"
        );
    }
    public_write(&net, "filler-last", "grey").await;
    net.wait_height(c.block + BTL + 2, WAIT).await.unwrap();
    for i in [ORG1, ORG2] {
        assert_eq!(
            read(&net, i, &["ReadAsset", id]).await.unwrap(),
            "",
            "expired on org {i}"
        );
    }
}
