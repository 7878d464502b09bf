//! Raft ordering under failure, black-box: three orderer processes (one Raft group for the channel, mutual
//! TLS between them) and two peers of two orgs, driven through the gateways by concurrent clients.
//!
//! `killing_the_leader_mid_load_loses_and_duplicates_nothing` submits 2,000 transactions from 16 clients,
//! kills the Raft leader with SIGKILL a third of the way through and proves that
//! - a new leader takes over within a few election timeouts (ticks of 100 ms, election after 10);
//! - every transaction whose commit status said VALID is in the ledger exactly once, VALID, and no
//!   transaction id appears twice in the chain;
//! - every orderer, the killed one included after its restart (it catches up through a snapshot and
//!   blocks pulled over the cluster port), holds the identical chain (header and data of every block);
//! - both peers hold the identical chain (validation codes included) and identical world state.
//!
//! `one_orderer_down_orders_two_down_refuse_and_recovery_does_not_fork` stops the orderers one at a time:
//! with one of three down ordering continues; with two down Broadcast answers SERVICE_UNAVAILABLE promptly
//! (and the gateway UNAVAILABLE naming each orderer); after both restart, ordering resumes on one chain.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use carechain_gateway::client::GatewayClient;
use carechain_proto::common::{Block, Envelope, Status};
use carechain_proto::orderer::deliver_response::Type as DeliverType;
use carechain_proto::protos::TxValidationCode;
use carechain_tests::probe::{hash, number, tx_codes, tx_ids};
use carechain_tests::{NetSpec, TestNet, args};

const CH: &str = "testchannel";
const TOTAL: usize = 2000;
/// Clients (TOTAL is a multiple of it).
const TASKS: usize = 16;
/// A client gives up waiting for a commit status after this and submits the operation afresh.
const COMMIT_PATIENCE: Duration = Duration::from_secs(10);
/// With TickInterval 100ms and ElectionTick 10, followers campaign after 1 to 2 s.
const ELECTION_TIMEOUT_MAX: Duration = Duration::from_secs(2);

fn spec() -> NetSpec {
    let mut spec = NetSpec {
        orderers: 3,
        batch_timeout: "100ms".into(),
        ..NetSpec::default()
    };
    // Small snapshots, so the restarted orderer catches up through one (16 entries are kept).
    spec.raft_options
        .push(("SnapshotIntervalSize".into(), "64 KB".into()));
    spec
}

/// What one client saw: transaction ids whose commit status said VALID, and failed attempts.
type ClientLog = (Vec<String>, Vec<String>);

/// Client `k` creates `n` assets; an attempt that fails (or whose commit status does not come) is
/// retried as a new transaction on a new key, as an application would.
async fn client(gw: GatewayClient, k: usize, n: usize, done: Arc<AtomicUsize>) -> ClientLog {
    let (mut valid, mut failed) = (Vec::new(), Vec::new());
    for j in 0..n {
        let deadline = Instant::now() + Duration::from_secs(90);
        for attempt in 0.. {
            assert!(
                Instant::now() < deadline,
                "client {k} could not commit operation {j}: {failed:?}"
            );
            let id = format!("raft-{k:02}-{j:04}-{attempt}");
            let call = args(&["CreateAsset", &id, "green", "1", "Synthetic Patient 0001", "10"]);
            let none = BTreeMap::new();
            let submit = gw.submit_transaction(CH, "basic", &call, &none);
            match tokio::time::timeout(COMMIT_PATIENCE, submit).await {
                Ok(Ok(c)) => {
                    valid.push(c.tx_id);
                    done.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Ok(Err(e)) => failed.push(format!("{id}: {e}")),
                Err(_) => failed.push(format!("{id}: no commit status within {COMMIT_PATIENCE:?}")),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    (valid, failed)
}

async fn orderer_height(net: &TestNet, i: usize) -> anyhow::Result<u64> {
    let info = net.admin("orderer", i).await?.info(CH).await?;
    Ok(info.info.map_or(0, |x| x.height))
}

/// Waits until every orderer in `which` reports `height`.
async fn wait_orderers(net: &TestNet, which: &[usize], height: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for &i in which {
        loop {
            let h = orderer_height(net, i).await.unwrap_or(0);
            if h >= height {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "orderer {i} is at {h}, not {height}\n{}",
                net.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Blocks `0..height` from orderer `i`'s Deliver, read as Org1's `User1`.
async fn orderer_chain(net: &TestNet, i: usize, height: u64) -> Vec<Block> {
    let mut client = net
        .broadcast_client(i)
        .await
        .unwrap()
        .max_decoding_message_size(100 * 1024 * 1024);
    let seek =
        peer_core::txbuild::seek_envelope(&net.user(0, "User1").unwrap(), CH, 0, Some(height - 1), false);
    let mut stream = client
        .deliver(futures::stream::iter(vec![seek]))
        .await
        .unwrap()
        .into_inner();
    let mut blocks = Vec::new();
    while let Some(msg) = stream.message().await.unwrap() {
        match msg.r#type {
            Some(DeliverType::Block(b)) => blocks.push(b),
            Some(DeliverType::Status(s)) => {
                assert_eq!(s, Status::Success as i32, "orderer {i} deliver status");
                break;
            }
            None => panic!("empty deliver response"),
        }
    }
    assert_eq!(
        blocks.len() as u64,
        height,
        "orderer {i} delivered the whole chain"
    );
    blocks
}

/// Every orderer in `which` holds the same chain (header and data; signatures are per orderer),
/// hash-linked from block 0.
async fn same_chain_on_orderers(net: &TestNet, which: &[usize], height: u64) {
    let reference = orderer_chain(net, which[0], height).await;
    for w in reference.windows(2) {
        assert_eq!(w[1].header.as_ref().unwrap().previous_hash.as_ref(), hash(&w[0]));
    }
    for &i in &which[1..] {
        let other = orderer_chain(net, i, height).await;
        for (a, b) in reference.iter().zip(&other) {
            assert_eq!(
                a.header,
                b.header,
                "block {}: orderers {} and {i} differ",
                number(a),
                which[0]
            );
            assert_eq!(
                a.data,
                b.data,
                "block {}: orderers {} and {i} differ",
                number(a),
                which[0]
            );
        }
    }
}

/// Both peers deliver the same chain (codes included) and hold the same world state; returns the chain.
async fn same_ledger_on_peers(net: &TestNet, height: u64) -> Vec<Block> {
    net.wait_height(height, Duration::from_secs(60)).await.unwrap();
    let a = net.deliver(0, 0, height - 1).await.unwrap();
    let b = net.deliver(1, 0, height - 1).await.unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(hash(x), hash(y), "block {}: peers differ", number(x));
        assert_eq!(x.data, y.data, "block {}: peers differ", number(x));
        assert_eq!(
            tx_codes(x),
            tx_codes(y),
            "block {}: validation codes differ",
            number(x)
        );
    }
    assert_eq!(
        net.all_assets(0).await.unwrap(),
        net.all_assets(1).await.unwrap(),
        "world states differ"
    );
    a
}

/// No transaction id twice in the chain; every id in `valid` is in it once, VALID.
fn each_valid_transaction_once(chain: &[Block], valid: &[String]) -> usize {
    let mut seen: HashMap<String, TxValidationCode> = HashMap::new();
    for b in chain.iter().skip(1) {
        for (id, code) in tx_ids(b).into_iter().zip(tx_codes(b)) {
            assert!(
                seen.insert(id.clone(), code).is_none(),
                "transaction {id} is in the chain twice"
            );
        }
    }
    for id in valid {
        assert_eq!(
            seen.get(id),
            Some(&TxValidationCode::Valid),
            "transaction {id} reported VALID"
        );
    }
    seen.values().filter(|c| **c == TxValidationCode::Valid).count()
}

/// Which orderer leads now (polling the ones in `alive`), and how long it took to find one.
async fn leader_among(net: &TestNet, alive: &[usize], timeout: Duration) -> (usize, Duration) {
    let started = Instant::now();
    loop {
        for &i in alive {
            if net.orderer_role(i).await.is_ok_and(|r| r == "leader") {
                return (i, started.elapsed());
            }
        }
        assert!(
            started.elapsed() < timeout,
            "no leader among {alive:?}\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_load_loses_and_duplicates_nothing() {
    let mut net = TestNet::start(spec()).await.expect("network starts");
    let leader = net.wait_orderer_leader(Duration::from_secs(30)).await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..TASKS {
        let gw = net
            .gateway(k % 2, if k % 4 < 2 { "User1" } else { "User2" })
            .await
            .unwrap();
        let n = TOTAL / TASKS;
        tasks.push(tokio::spawn(client(gw, k, n, done.clone())));
    }
    while done.load(Ordering::SeqCst) < TOTAL / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    net.kill9("orderer", leader);
    eprintln!(
        "killed the leader, orderer {leader}, after {:?}",
        started.elapsed()
    );
    let alive: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let (new_leader, takeover) = leader_among(&net, &alive, Duration::from_secs(30)).await;
    eprintln!("orderer {new_leader} leads {takeover:?} after the kill");
    assert!(takeover < 3 * ELECTION_TIMEOUT_MAX, "takeover took {takeover:?}");

    let (mut valid, mut failed) = (Vec::new(), Vec::new());
    for t in tasks {
        let (v, f) = t.await.unwrap();
        valid.extend(v);
        failed.extend(f);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{} transactions VALID in {elapsed:?} ({:.0} tx/s); {} attempts failed during the failover, first: {:?}",
        valid.len(),
        valid.len() as f64 / elapsed.as_secs_f64(),
        failed.len(),
        failed.first()
    );
    assert_eq!(valid.len(), TOTAL, "every client operation eventually commits");

    net.start_node("orderer", leader).unwrap();
    let height = orderer_height(&net, new_leader).await.unwrap();
    wait_orderers(&net, &[0, 1, 2], height, Duration::from_secs(60)).await;
    let killed_log = net.log("orderer", leader);
    eprintln!(
        "the restarted orderer installed a snapshot: {}",
        killed_log.contains("installing a snapshot")
    );
    same_chain_on_orderers(&net, &[0, 1, 2], height).await;
    let chain = same_ledger_on_peers(&net, height).await;
    let in_ledger = each_valid_transaction_once(&chain, &valid);
    eprintln!("{in_ledger} VALID transactions in {height} blocks");
    // The restarted orderer serves and orders again.
    let gw = net.gateway(0, "User1").await.unwrap();
    let call = args(&[
        "CreateAsset",
        "raft-after",
        "red",
        "1",
        "Synthetic Patient 0002",
        "1",
    ]);
    gw.submit_transaction(CH, "basic", &call, &BTreeMap::new())
        .await
        .unwrap();
}

/// A transaction endorsed and signed by Org1's `User1`, ready to broadcast.
async fn endorsed(gw: &GatewayClient, key: &str) -> Envelope {
    let call = args(&["CreateAsset", key, "grey", "1", "Synthetic Patient 0003", "1"]);
    let p = gw.proposal(CH, "basic", &call, &BTreeMap::new());
    let prepared = gw.endorse(CH, &p, &[]).await.unwrap();
    peer_core::txbuild::sign_envelope(prepared.envelope, gw.signer())
}

async fn broadcast_one(net: &TestNet, i: usize, env: Envelope) -> (i32, String) {
    let mut client = net.broadcast_client(i).await.unwrap();
    let mut stream = client
        .broadcast(futures::stream::iter(vec![env]))
        .await
        .unwrap()
        .into_inner();
    let r = stream.message().await.unwrap().expect("one response");
    (r.status, r.info)
}

async fn commit_all(gw: &GatewayClient, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for j in 0..n {
        let id = format!("{prefix}-{j:03}");
        let call = args(&["CreateAsset", &id, "blue", "1", "Synthetic Patient 0004", "1"]);
        ids.push(
            gw.submit_transaction(CH, "basic", &call, &BTreeMap::new())
                .await
                .unwrap()
                .tx_id,
        );
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orderer_down_orders_two_down_refuse_and_recovery_does_not_fork() {
    let mut net = TestNet::start(spec()).await.expect("network starts");
    let leader = net.wait_orderer_leader(Duration::from_secs(30)).await.unwrap();
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let gw = net.gateway(0, "User1").await.unwrap();
    let mut valid = commit_all(&gw, "quorum-all", 10).await;

    net.kill9("orderer", followers[0]);
    valid.extend(commit_all(&gw, "quorum-two", 30).await);

    net.kill9("orderer", followers[1]);
    // The leader notices within an election timeout that it hears from no quorum, then refuses.
    let stopped = Instant::now();
    let mut accepted = 0;
    let info = loop {
        let (status, info) =
            broadcast_one(&net, leader, endorsed(&gw, &format!("probe-{accepted}")).await).await;
        if status == Status::ServiceUnavailable as i32 {
            break info;
        }
        assert_eq!(status, Status::Success as i32, "{info}");
        accepted += 1;
        assert!(
            stopped.elapsed() < 3 * ELECTION_TIMEOUT_MAX,
            "still accepting without a quorum"
        );
    };
    eprintln!(
        "SERVICE_UNAVAILABLE {:?} after the quorum was lost: {info}",
        stopped.elapsed()
    );
    assert!(info.contains("no Raft leader"), "{info}");
    let env = endorsed(&gw, "probe-refused").await;
    let t = Instant::now();
    let (status, _) = broadcast_one(&net, leader, env).await;
    assert_eq!(status, Status::ServiceUnavailable as i32);
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "Broadcast answered after {:?}",
        t.elapsed()
    );
    // The gateway tries every orderer and says why each refused.
    let call = args(&[
        "CreateAsset",
        "quorum-none",
        "blue",
        "1",
        "Synthetic Patient 0004",
        "1",
    ]);
    let t = Instant::now();
    let err = gw
        .submit_transaction(CH, "basic", &call, &BTreeMap::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("SERVICE_UNAVAILABLE"), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the gateway answered after {:?}",
        t.elapsed()
    );

    for f in &followers {
        net.start_node("orderer", *f).unwrap();
    }
    let (_, recovered) = leader_among(&net, &[0, 1, 2], Duration::from_secs(30)).await;
    eprintln!("a leader again {recovered:?} after the restarts");
    valid.extend(commit_all(&gw, "quorum-back", 20).await);
    let height = orderer_height(&net, leader)
        .await
        .unwrap()
        .max(orderer_height(&net, followers[0]).await.unwrap());
    wait_orderers(&net, &[0, 1, 2], height, Duration::from_secs(60)).await;
    same_chain_on_orderers(&net, &[0, 1, 2], height).await;
    let chain = same_ledger_on_peers(&net, height).await;
    each_valid_transaction_once(&chain, &valid);
    let keys: HashSet<String> =
        serde_json::from_str::<Vec<serde_json::Value>>(&net.all_assets(0).await.unwrap())
            .unwrap()
            .into_iter()
            .map(|a| a["ID"].as_str().unwrap().to_string())
            .collect();
    assert!(
        !keys.contains("probe-refused"),
        "a refused transaction was ordered"
    );
}
