//! Private data reaches members only (issue 7), shown with canaries: unique marked strings
//! (`SYNTHETIC-PHI-CANARY-…`) written only through transient data into the `private` contract's
//! collections, on a network of three Raft orderers and the peers of Org1 and Org2 (the collections'
//! members) and Org3 (a member of none).
//!
//! - Member peers return the values; a read by a non-member (on its own peer, or on a member's peer
//!   through that peer's gateway) is refused and its error carries no canary.
//! - A non-member's hash of a private value is the SHA-256 of that value: Org1's peer, which is not a
//!   member of Org2's collection, accepts the transfer only because its hash of Org2's agreed value
//!   equals its own value's; Org3's stored hashes equal the SHA-256 of the members' plaintext.
//! - No canary in any block (from each orderer and each peer, raw and decoded down to read/write sets,
//!   events and responses), in the private data a member peer delivers to a non-member, in any key or
//!   value of any database of the orderers and of Org3's peer (every column family, blocks decoded), in
//!   any raw file of theirs, or in any node's log.
//! - The scanner is not blind: a canary written through a public write is found in the blocks, in each
//!   orderer's and Org3's databases; the private canaries are found in the members' databases and in the
//!   private data a member peer delivers to a member.

#![allow(clippy::unwrap_used)]

mod private_net;

use std::time::Duration;

use carechain_ledger::{Ledger, LedgerOptions};
use carechain_tests::TestNet;
use carechain_tests::scan::{self, Finding};
use peer_core::state::StateView;
use private_net::*;
use serde_json::json;

const ORG1: usize = 0;
const ORG2: usize = 1;
const ORG3: usize = 2;

fn none_found(what: &str, found: &[Finding]) {
    let list: Vec<String> = found.iter().take(20).map(ToString::to_string).collect();
    assert!(
        found.is_empty(),
        "{what}: {} finding(s):\n{}",
        found.len(),
        list.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_canaries_stay_with_member_peers() {
    let mut net = start(&["Org1", "Org2", "Org3"], 3, sample_collections()).await;
    let (id, color) = (scan::canary("asset-id"), scan::canary("color"));
    let secret = vec![id.clone(), color.clone()];
    let public = vec![scan::canary("public")];

    // Org1 creates the asset (shared details to assetCollection, appraised value to its org
    // collection); Org2 agrees to buy at that value (its own collection); Org1 transfers.
    must_write(
        &net,
        ORG1,
        "CreateAsset",
        "asset_properties",
        &asset(&id, &color, 4242),
    )
    .await;
    let agreed = details(&id, 4242);
    must_write(&net, ORG2, "AgreeToTransfer", "asset_value", &agreed).await;
    let owner = input(json!({"assetID": id, "buyerMSP": "Org2MSP"}));
    must_write(&net, ORG1, "TransferAsset", "asset_owner", &owner).await;
    public_write(&net, &public[0], &public[0]).await;
    let height = net.height(ORG1).await.unwrap();
    net.wait_height(height, Duration::from_secs(20)).await.unwrap();

    members_read_non_members_are_refused(&net, &id, &color, &agreed).await;
    blocks_hold_no_canary(&net, &secret, &public).await;
    private_delivery_is_member_only(&net, &secret).await;

    for kind in ["orderer", "peer"] {
        for i in 0..count(&net, kind) {
            net.kill9(kind, i);
        }
    }
    stores_hold_no_canary(&net, &secret, &public);
    logs_hold_no_canary(&net, &secret);
    non_member_hashes_match(&net, &id, &agreed);
}

async fn members_read_non_members_are_refused(net: &TestNet, id: &str, color: &str, agreed: &str) {
    for i in [ORG1, ORG2] {
        let a = read(net, i, &["ReadAsset", id]).await.unwrap();
        assert!(a.contains(color), "org {i} reads the asset: {a}");
    }
    let d = read(
        net,
        ORG2,
        &["ReadAssetPrivateDetails", "Org2MSPPrivateCollection", id],
    )
    .await
    .unwrap();
    assert_eq!(d, agreed);
    // A non-member's own peer holds no plaintext and refuses; a member's peer refuses a non-member
    // client (memberOnlyRead).
    let own = read(net, ORG3, &["ReadAsset", id]).await.unwrap_err().to_string();
    let gw = net
        .gateway_as(ORG1, net.user(ORG3, "User1").unwrap())
        .await
        .unwrap();
    let via_member = gw
        .evaluate(
            &net.spec.channel,
            CC,
            &carechain_tests::args(&["ReadAsset", id]),
            &Default::default(),
        )
        .await
        .unwrap_err()
        .to_string();
    for (what, err) in [("own peer", own), ("Org1's peer", via_member)] {
        assert!(
            err.contains("Org3MSP"),
            "Org3 read on {what} refused naming its org: {err}"
        );
        none_found(
            &format!("Org3's refused read on {what}"),
            &scan::scan_text("error", &err, &[color.into()]),
        );
    }
}

async fn blocks_hold_no_canary(net: &TestNet, secret: &[String], public: &[String]) {
    let mut sources = Vec::new();
    for i in 0..count(net, "orderer") {
        sources.push((format!("orderer {i}"), orderer_blocks(net, i).await));
    }
    for i in 0..count(net, "peer") {
        sources.push((format!("peer {i}"), net.blocks(i).await.unwrap()));
    }
    for (who, blocks) in &sources {
        assert!(blocks.len() >= 7, "{who} delivered {} blocks", blocks.len());
        none_found(&format!("blocks from {who}"), &scan::scan_blocks(blocks, secret));
        let control = scan::scan_blocks(blocks, public);
        assert!(
            control.iter().any(|f| f.place.contains("rwset basic value of")),
            "the public canary is found in a decoded write of the blocks from {who}: {control:?}"
        );
    }
}

async fn private_delivery_is_member_only(net: &TestNet, secret: &[String]) {
    for (peer, as_org, expect) in [
        (ORG1, ORG1, true),
        (ORG2, ORG2, true),
        (ORG1, ORG3, false),
        (ORG3, ORG3, false),
    ] {
        let mut found = Vec::new();
        for b in deliver_with_private_data(net, peer, as_org).await {
            found.extend(scan::scan_blocks(b.block.as_slice(), secret));
            for (tx, pvt) in &b.private_data_map {
                found.extend(scan::scan_pvt(&format!("private data of tx {tx}"), pvt, secret));
            }
        }
        let what = format!("DeliverWithPrivateData from peer {peer} to org {as_org}");
        if expect {
            assert!(
                found.iter().any(|f| f.place.contains("value of")),
                "{what} holds the values: {found:?}"
            );
        } else {
            none_found(&what, &found);
        }
    }
}

fn stores_hold_no_canary(net: &TestNet, secret: &[String], public: &[String]) {
    let mut places: Vec<(String, std::path::PathBuf)> = (0..count(net, "orderer"))
        .map(|i| (format!("orderer {i}"), data_dir(net, "orderer", i)))
        .collect();
    places.push(("Org3's peer".into(), data_dir(net, "peer", ORG3)));
    for (who, dir) in &places {
        assert!(
            !scan::databases(dir).unwrap().is_empty(),
            "{who} has databases under {}",
            dir.display()
        );
        none_found(&format!("{who}'s store"), &scan::scan_dir(dir, secret).unwrap());
        let control = scan::scan_databases(dir, public).unwrap();
        assert!(
            control.iter().any(|f| f.place.contains("→ block")),
            "the public canary is found in a decoded block in {who}'s databases: {control:?}"
        );
    }
    for i in [ORG1, ORG2] {
        let found = scan::scan_databases(&data_dir(net, "peer", i), secret).unwrap();
        assert!(
            found.iter().any(|f| f.place.contains("cf=pvt_state")),
            "member org {i}'s private state holds the values: {found:?}"
        );
    }
}

fn logs_hold_no_canary(net: &TestNet, secret: &[String]) {
    for kind in ["orderer", "peer"] {
        for i in 0..count(net, kind) {
            let log = &net.node(kind, i).log;
            none_found(
                &format!("{}", log.display()),
                &scan::scan_dir(log, secret).unwrap(),
            );
        }
    }
}

/// GetPrivateDataHash on Org3's ledger (the chaincode's path to hashes) equals the SHA-256 of the
/// plaintext member peers hold.
fn non_member_hashes_match(net: &TestNet, id: &str, agreed: &str) {
    let ledger = |i: usize| {
        let path = data_dir(net, "peer", i).join("ledgers").join(&net.spec.channel);
        Ledger::open(&path, &LedgerOptions::default()).unwrap()
    };
    let (org1, org3) = (ledger(ORG1), ledger(ORG3));
    let (m, n) = (org1.snapshot(), org3.snapshot());
    let kh = sha256(id.as_bytes());
    let plain = m
        .get_private(CC, ASSETS, id)
        .unwrap()
        .expect("Org1 holds the asset");
    let hashed = n
        .get_private_hash(CC, ASSETS, &kh)
        .unwrap()
        .expect("Org3 holds its hash");
    assert_eq!(hashed.value_hash, sha256(&plain.value));
    assert_eq!(hashed.version, plain.version);
    assert!(n.get_private(CC, ASSETS, id).unwrap().is_none());
    let theirs = n
        .get_private_hash(CC, "Org2MSPPrivateCollection", &kh)
        .unwrap()
        .expect("Org3 holds the hash of Org2's agreed value");
    assert_eq!(theirs.value_hash, sha256(agreed.as_bytes()));
}
