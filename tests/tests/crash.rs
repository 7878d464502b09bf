//! Crash recovery of a peer: with concurrent clients submitting through the gateways of Org1 and Org3,
//! Org2's peer is killed with SIGKILL (possibly mid-commit), blocks keep being ordered and committed
//! without it, then it is restarted on the same data directory while the load goes on.
//!
//! Three orgs, so the channel's MAJORITY policy (2 of 3) can be met while one is down. Org1's gateway
//! plans its endorsements on Org1 + Org2, so the outage hits it. The test proves that
//! - the outage costs clients nothing: every transaction submitted during the whole run commits VALID
//!   (Org1's gateway re-plans on Org3 while Org2 is down);
//! - the restarted peer recovers its ledger and catches up: it reaches the others' height, and holds
//!   the same chain (every block's header hash, transactions and validation codes, tip hash) and the
//!   same world state (`GetAllAssets` byte-equal) as the two peers that never stopped;
//! - it serves again: a transaction submitted through its own gateway commits VALID everywhere.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use carechain_gateway::client::GatewayClient;
use carechain_tests::probe::{endorser_msps, hash, number, tx_codes};
use carechain_tests::{NetSpec, TestNet, args};
use serde_json::Value;

const CH: &str = "testchannel";
const TASKS: usize = 8;
/// Org2's peer.
const VICTIM: usize = 1;

/// Submits fresh CreateAssets until told to stop; returns (asset ids committed, failures).
async fn client(gw: GatewayClient, k: usize, stop: Arc<AtomicBool>) -> (Vec<String>, Vec<String>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut j = 0;
    while !stop.load(Ordering::SeqCst) {
        let id = format!("crash-{k}-{j:04}");
        let call = args(&["CreateAsset", &id, "blue", "1", "Synthetic Patient 0001", "10"]);
        match gw.submit_transaction(CH, "basic", &call, &BTreeMap::new()).await {
            Ok(_) => ok.push(id),
            Err(e) => failed.push(format!("{id}: {e}")),
        }
        j += 1;
    }
    (ok, failed)
}

async fn orderer_height(net: &TestNet) -> u64 {
    let info = net.admin("orderer", 0).await.unwrap().info(CH).await.unwrap();
    info.info.unwrap().height
}

async fn wait_orderer_height(net: &TestNet, h: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while orderer_height(net).await < h {
        assert!(
            Instant::now() < deadline,
            "{what}: the orderer did not reach height {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_peer_restarts_and_catches_up_under_load() {
    let mut net = TestNet::start(NetSpec {
        orgs: vec!["Org1".into(), "Org2".into(), "Org3".into()],
        batch_timeout: "100ms".into(),
        ..NetSpec::default()
    })
    .await
    .expect("network starts");
    // Blocks before this one hold the deployment of `basic`.
    let base = orderer_height(&net).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for k in 0..TASKS {
        // Gateways of Org1 and Org3.
        let gw = net.gateway(2 * (k % 2), "User1").await.unwrap();
        handles.push(tokio::spawn(client(gw, k, stop.clone())));
    }

    // Load is flowing and the victim is keeping up.
    wait_orderer_height(&net, base + 10, "before the kill").await;
    net.wait_peer_height(VICTIM, base + 5, Duration::from_secs(10))
        .await
        .unwrap();
    net.kill9("peer", VICTIM);
    let at_kill = orderer_height(&net).await;
    assert!(!net.peers[VICTIM].is_running());

    // Blocks go on without it.
    wait_orderer_height(&net, at_kill + 15, "during the outage").await;
    let before_restart = orderer_height(&net).await;
    net.start_node("peer", VICTIM)
        .unwrap_or_else(|e| panic!("restart failed: {e}\n{}", net.logs()));
    net.wait_peer_height(VICTIM, before_restart, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", net.log("peer", VICTIM)));
    // And it keeps up with blocks cut after its return.
    wait_orderer_height(&net, before_restart + 5, "after the restart").await;
    stop.store(true, Ordering::SeqCst);

    let mut committed = Vec::new();
    let mut failures = Vec::new();
    for h in handles {
        let (ok, failed) = h.await.unwrap();
        committed.extend(ok);
        failures.extend(failed);
    }
    eprintln!(
        "{} transactions committed; killed at height {at_kill}, restarted at {before_restart}",
        committed.len()
    );
    assert!(
        failures.is_empty(),
        "{} transactions failed, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    // Its own gateway works again.
    let gw = net.gateway(VICTIM, "User1").await.unwrap();
    let call = args(&["CreateAsset", "after-restart", "red", "1", "Synthetic Owner", "1"]);
    gw.submit_transaction(CH, "basic", &call, &BTreeMap::new())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "submit through the restarted peer: {e}\n{}",
                net.log("peer", VICTIM)
            )
        });
    committed.push("after-restart".into());

    let height = orderer_height(&net).await;
    net.wait_height(height, Duration::from_secs(30)).await.unwrap();
    same_chain_everywhere(&net, height).await;
    same_state_everywhere(&net, &committed).await;

    // The outage did hit endorsement: blocks cut while Org2 was down carry Org1 + Org3 endorsements.
    let outage = net.deliver(0, at_kill + 1, before_restart - 1).await.unwrap();
    let pairs: Vec<Vec<String>> = outage.iter().flat_map(endorser_msps).collect();
    assert!(
        pairs
            .iter()
            .any(|p| p.contains(&"Org1MSP".to_string()) && p.contains(&"Org3MSP".to_string())),
        "no transaction ordered during the outage was endorsed by Org1 + Org3: {pairs:?}"
    );
}

async fn same_chain_everywhere(net: &TestNet, height: u64) {
    let reference = net.deliver(0, 0, height - 1).await.unwrap();
    for w in reference.windows(2) {
        assert_eq!(w[1].header.as_ref().unwrap().previous_hash.as_ref(), hash(&w[0]));
    }
    for i in 1..net.peers.len() {
        let blocks = net.deliver(i, 0, height - 1).await.unwrap();
        for (x, y) in reference.iter().zip(&blocks) {
            let n = number(x);
            assert_eq!(
                hash(x),
                hash(y),
                "block {n}: header hash on peer {i} differs from peer 0"
            );
            assert_eq!(
                x.data, y.data,
                "block {n}: transactions on peer {i} differ from peer 0"
            );
            assert_eq!(
                tx_codes(x),
                tx_codes(y),
                "block {n}: validation codes on peer {i} differ from peer 0"
            );
        }
    }
    for i in 0..net.peers.len() {
        let info = net
            .admin("peer", i)
            .await
            .unwrap()
            .info(CH)
            .await
            .unwrap()
            .info
            .unwrap();
        assert_eq!(info.height, height, "peer {i}");
        assert_eq!(
            info.current_block_hash.as_ref(),
            hash(reference.last().unwrap()),
            "peer {i} tip"
        );
    }
}

async fn same_state_everywhere(net: &TestNet, committed: &[String]) {
    let reference = net.all_assets(0).await.unwrap();
    for i in 1..net.peers.len() {
        assert!(
            net.all_assets(i).await.unwrap() == reference,
            "GetAllAssets on peer {i} differs from peer 0"
        );
    }
    let assets: Vec<Value> = serde_json::from_str(&reference).unwrap();
    let mut ids: Vec<&str> = assets.iter().map(|a| a["ID"].as_str().unwrap()).collect();
    let mut want: Vec<&str> = committed.iter().map(String::as_str).collect();
    ids.sort_unstable();
    want.sort_unstable();
    assert_eq!(ids, want, "the assets are exactly the committed creates");
}
