//! Canary scans of a records network with `carechain_tests::scan`: PHI and secrets (canaries) must not
//! appear in any block any peer serves, in any submitted transaction's chaincode response, in the stores
//! of nodes that are members of none of the patient's collections (their databases read entry by entry
//! and every file's raw bytes), or in any node's log. A member peer's databases, read logically, show
//! what it still holds after a purge. Each scan is paired with a control it must find, so an empty result
//! means something.

use std::path::PathBuf;

use carechain_tests::TestNet;
use carechain_tests::scan::{Finding, scan_blocks, scan_bytes, scan_databases, scan_dir, scan_text};

/// A node's data directory (ledgers, Raft log, block store).
pub fn data_dir(net: &TestNet, kind: &str, i: usize) -> PathBuf {
    net.root.path().join("data").join(&net.node(kind, i).name)
}

fn assert_clean(findings: &[Finding], what: &str) {
    let list: Vec<String> = findings.iter().take(20).map(ToString::to_string).collect();
    assert!(
        findings.is_empty(),
        "{} canary finding(s) in {what}:\n{}",
        findings.len(),
        list.join("\n")
    );
}

/// Every block of every peer, and every submit response (`(step, result)`): no canary. `public` is a
/// value the transactions did write to public state (the pseudonym): the block scan must find it.
pub async fn ledger_is_clean(
    net: &TestNet,
    responses: &[(String, Vec<u8>)],
    canaries: &[String],
    public: &str,
) {
    let mut findings = Vec::new();
    for i in 0..net.peers.len() {
        let blocks = net.blocks(i).await.unwrap();
        let control = scan_blocks(&blocks, &[public.to_string()]);
        assert!(!control.is_empty(), "the block scan sees the public pseudonym");
        findings.extend(scan_blocks(&blocks, canaries));
    }
    for (step, result) in responses {
        findings.extend(scan_bytes(&format!("response of {step:?}"), result, canaries));
    }
    assert_clean(&findings, "blocks and submitted transactions' responses");
}

/// The stores of the (stopped) peers `peers` and of every orderer, and every node's log: no canary.
pub fn stores_are_clean(net: &TestNet, peers: &[usize], canaries: &[String]) {
    let mut findings = Vec::new();
    for &i in peers {
        findings.extend(scan_dir(&data_dir(net, "peer", i), canaries).unwrap());
    }
    for i in 0..net.orderers.len() {
        findings.extend(scan_dir(&data_dir(net, "orderer", i), canaries).unwrap());
    }
    for (kind, n) in [("orderer", net.orderers.len()), ("peer", net.peers.len())] {
        for i in 0..n {
            let place = format!("log of {}", net.node(kind, i).name);
            findings.extend(scan_text(&place, &net.log(kind, i), canaries));
        }
    }
    assert_clean(&findings, "non-member stores, orderer stores and logs");
}

/// What the (stopped) peer `i`'s databases hold now, read entry by entry: none of `gone`, every one of
/// `kept`.
pub fn databases_hold(net: &TestNet, i: usize, gone: &[String], kept: &[String]) {
    let dir = data_dir(net, "peer", i);
    let found = scan_databases(&dir, gone).unwrap();
    assert_clean(&found, &format!("{}'s databases", net.peers[i].name));
    let found = scan_databases(&dir, kept).unwrap();
    for k in kept {
        assert!(
            found.iter().any(|f| &f.canary == k),
            "{} no longer holds {k}",
            net.peers[i].name
        );
    }
}
