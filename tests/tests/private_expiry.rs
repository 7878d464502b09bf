//! Private data that must disappear (issue 7), with the `private` contract and the sample's collections
//! on a network of Org1, Org2 (members) and Org3 (a member of none), one orderer:
//!
//! - block-to-live 3 (`Org<N>MSPPrivateCollection`): each org's appraised value is readable on its
//!   peer while the last block is at most 3 blocks after the one that wrote it, and gone from every
//!   member from the 4th on, while the shared asset record (BTL 1000000) stays;
//! - explicit purge (`PurgeAsset`) of an asset that had two versions (created, then transferred):
//!   gone from both members, every version of it (no private delivery returns it, no key or value of
//!   either member's databases holds it);
//! - the hashes still validate the old blocks: a member's and a non-member's peer wiped and joined again
//!   from the genesis block replay every block and record every transaction VALID, exactly as the peer
//!   that endorsed them did; the rejoined member fetches the data other members still hold (and serves
//!   it) and does not wait forever for data that expired or was purged.

#![allow(clippy::unwrap_used)]

mod private_net;

use std::time::Duration;

use carechain_proto::protos::TxValidationCode;
use carechain_tests::TestNet;
use carechain_tests::probe::tx_codes;
use carechain_tests::scan;
use private_net::*;
use serde_json::json;

const ORG1: usize = 0;
const ORG2: usize = 1;
const ORG3: usize = 2;
const BTL: u64 = 3;
const WAIT: Duration = Duration::from_secs(30);

/// An org's appraised value of an asset, in its org collection since `block`.
struct Appraisal {
    org: usize,
    id: &'static str,
    details: String,
    block: u64,
}

impl Appraisal {
    async fn read(&self, net: &TestNet) -> String {
        let coll = format!("Org{}MSPPrivateCollection", self.org + 1);
        read(net, self.org, &["ReadAssetPrivateDetails", &coll, self.id])
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_purged_data_leaves_every_member_and_old_blocks_still_validate() {
    let mut net = start(&["Org1", "Org2", "Org3"], 1, sample_collections()).await;
    let expiring = block_to_live_expires_on_every_member(&net).await;
    let purged = scan::canary("purged-color");
    purge_removes_every_version(&net, &purged).await;

    let codes = all_codes(&net, ORG1).await;
    for i in [ORG2, ORG3] {
        rejoin_from_scratch(&mut net, i).await;
    }
    let height = net.height(ORG1).await.unwrap();
    net.wait_height(height, WAIT).await.unwrap();
    for i in [ORG2, ORG3] {
        assert_eq!(
            all_codes(&net, i).await,
            codes,
            "peer {i} replays every block with the same codes"
        );
    }
    let settled = eventually(WAIT, || async {
        missing_cli(&net, ORG2).contains("no private data missing")
    })
    .await;
    assert!(
        settled,
        "rejoined Org2 waits for nothing: {}",
        missing_cli(&net, ORG2)
    );
    let a = read(&net, ORG2, &["ReadAsset", expiring[0].id]).await.unwrap();
    assert!(
        a.contains("\"size\":5"),
        "rejoined Org2 fetched the live asset record: {a}"
    );
    assert_eq!(
        read(&net, ORG2, &["ReadAsset", "asset-purge-1"]).await.unwrap(),
        ""
    );
    for e in &expiring {
        assert_eq!(
            e.read(&net).await,
            "",
            "expired data does not come back to org {}",
            e.org
        );
    }

    for i in 0..count(&net, "peer") {
        net.kill9("peer", i);
    }
    let mut gone: Vec<String> = expiring.iter().map(|e| e.details.clone()).collect();
    gone.push(purged.clone());
    for i in [ORG1, ORG2] {
        let found = scan::scan_databases(&data_dir(&net, "peer", i), &gone).unwrap();
        assert!(found.is_empty(), "member {i} still holds: {found:#?}");
    }
    // Org2 rejoined after the purge and the expiries: it never held any of it, not even in its files.
    let found = scan::scan_dir(&data_dir(&net, "peer", ORG2), &gone).unwrap();
    assert!(found.is_empty(), "rejoined Org2's files hold: {found:#?}");
}

/// Org1 and Org2 each create an asset (the appraised value goes to their own BTL-3 collection); blocks
/// follow one by one and each value is checked on its member peer at every height.
async fn block_to_live_expires_on_every_member(net: &TestNet) -> Vec<Appraisal> {
    let mut out = Vec::new();
    for (org, id, value) in [(ORG1, "asset-btl-1", 1111), (ORG2, "asset-btl-2", 2222)] {
        let c = must_write(
            net,
            org,
            "CreateAsset",
            "asset_properties",
            &asset(id, "blue", value),
        )
        .await;
        out.push(Appraisal {
            org,
            id,
            details: details(id, value),
            block: c.block,
        });
    }
    let last = out.iter().map(|a| a.block).max().unwrap() + BTL + 1;
    let mut n = 0;
    loop {
        let height = net.height(ORG1).await.unwrap();
        net.wait_height(height, WAIT).await.unwrap();
        for a in &out {
            // Alive while the last committed block (height - 1) is at most BTL blocks after a.block.
            let alive = height - 1 <= a.block + BTL;
            let got = a.read(net).await;
            let want = if alive { a.details.as_str() } else { "" };
            assert_eq!(
                got, want,
                "org {} value written in block {} at height {height}",
                a.org, a.block
            );
        }
        if height > last {
            break;
        }
        public_write(net, &format!("filler-{n}"), "grey").await;
        n += 1;
    }
    for a in &out {
        let rec = read(net, a.org, &["ReadAsset", a.id]).await.unwrap();
        assert!(
            rec.contains("blue"),
            "the shared record (BTL 1000000) stays: {rec}"
        );
    }
    out
}

/// Org1 creates an asset and transfers it to Org2 (two versions in assetCollection on both members),
/// then Org2 purges it.
async fn purge_removes_every_version(net: &TestNet, color: &str) {
    let id = "asset-purge-1";
    must_write(
        net,
        ORG1,
        "CreateAsset",
        "asset_properties",
        &asset(id, color, 3333),
    )
    .await;
    must_write(net, ORG2, "AgreeToTransfer", "asset_value", &details(id, 3333)).await;
    let owner = input(json!({"assetID": id, "buyerMSP": "Org2MSP"}));
    must_write(net, ORG1, "TransferAsset", "asset_owner", &owner).await;
    let held = |peer| async move {
        let mut n = 0;
        for b in deliver_with_private_data(net, peer, peer).await {
            for (tx, pvt) in &b.private_data_map {
                n += scan::scan_pvt(&format!("tx {tx}"), pvt, &[color.to_string()]).len();
            }
        }
        n
    };
    for i in [ORG1, ORG2] {
        assert!(read(net, i, &["ReadAsset", id]).await.unwrap().contains(color));
        assert!(held(i).await >= 2, "org {i} holds both versions before the purge");
    }
    must_write(
        net,
        ORG2,
        "PurgeAsset",
        "asset_purge",
        &input(json!({"assetID": id})),
    )
    .await;
    let height = net.height(ORG2).await.unwrap();
    net.wait_height(height, WAIT).await.unwrap();
    for i in [ORG1, ORG2] {
        assert_eq!(
            read(net, i, &["ReadAsset", id]).await.unwrap(),
            "",
            "purged on org {i}"
        );
        assert_eq!(held(i).await, 0, "no version of it is delivered by org {i}");
    }
}

/// Validation codes of every transaction of every block, as peer `i` recorded them (blocks 1..).
async fn all_codes(net: &TestNet, i: usize) -> Vec<Vec<TxValidationCode>> {
    let codes: Vec<Vec<TxValidationCode>> = net.blocks(i).await.unwrap()[1..].iter().map(tx_codes).collect();
    assert!(
        codes.iter().flatten().all(|c| *c == TxValidationCode::Valid),
        "peer {i}: every transaction valid: {codes:?}"
    );
    codes
}
