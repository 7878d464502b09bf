//! The pipeline under concurrent load: 1,000 transactions from 16 concurrent clients (8 on each org's
//! gateway, two users per org) through a real orderer and two peers of two orgs.
//!
//! It proves that under load
//! - every transaction commits VALID, exactly once, in blocks both peers agree on (every block's header
//!   hash, data and validation codes identical on both peers, the hash chain intact, the tip hash and
//!   height reported by each peer's admin service matching the delivered chain);
//! - both peers hold identical world state (`GetAllAssets` byte-equal), and that state is exactly what the
//!   1,000 transactions should produce;
//! - history keeps every version: keys updated several times (and some deleted) return every version,
//!   newest first, with the id of the transaction that wrote it, on both peers.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use carechain_gateway::client::GatewayClient;
use carechain_proto::protos::TxValidationCode;
use carechain_tests::probe::{hash, number, tx_codes, tx_ids};
use carechain_tests::{NetSpec, TestNet, args};
use serde_json::{Value, json};

const TOTAL: usize = 1000;
const TASKS: usize = 16;
/// Versions written after the create of each task's hot key (alternating Update and Transfer).
const HOT_UPDATES: usize = 6;
const CHANNEL: &str = "testchannel";

/// One transaction a client task will submit.
struct Op {
    args: Vec<String>,
    /// The asset it leaves behind (None: the asset is deleted).
    after: Option<Value>,
}

fn asset(id: &str, color: &str, size: i64, owner: &str, value: i64) -> Value {
    json!({"ID": id, "Color": color, "Size": size, "Owner": owner, "AppraisedValue": value})
}

fn create(a: &Value) -> Vec<String> {
    vec![
        "CreateAsset".into(),
        a["ID"].as_str().unwrap().into(),
        a["Color"].as_str().unwrap().into(),
        a["Size"].to_string(),
        a["Owner"].as_str().unwrap().into(),
        a["AppraisedValue"].to_string(),
    ]
}

/// Task `k`'s `n` transactions: its hot key created, updated and transferred `HOT_UPDATES` times (and
/// deleted for every fourth task), then fresh assets of its own. No two tasks touch the same key, so
/// no transaction can legitimately fail an MVCC check.
fn plan(k: usize, n: usize) -> Vec<Op> {
    let hot = format!("hot-{k:02}");
    let mut cur = asset(&hot, "white", 1, &format!("Synthetic Owner {k}"), 100);
    let mut ops = vec![Op {
        args: create(&cur),
        after: Some(cur.clone()),
    }];
    for v in 1..=HOT_UPDATES {
        let args = if v % 2 == 1 {
            let owner = cur["Owner"].as_str().unwrap().to_string();
            cur = asset(&hot, &format!("color-{v}"), 1 + v as i64, &owner, 100 + v as i64);
            let mut a = create(&cur);
            a[0] = "UpdateAsset".into();
            a
        } else {
            let owner = format!("Synthetic Owner {k}.{v}");
            cur["Owner"] = json!(owner);
            vec!["TransferAsset".into(), hot.clone(), owner]
        };
        ops.push(Op {
            args,
            after: Some(cur.clone()),
        });
    }
    if k.is_multiple_of(4) {
        ops.push(Op {
            args: vec!["DeleteAsset".into(), hot.clone()],
            after: None,
        });
    }
    let mut j = 0;
    while ops.len() < n {
        let a = asset(
            &format!("load-{k:02}-{j:03}"),
            "blue",
            j as i64,
            "Synthetic Patient 0001",
            7,
        );
        ops.push(Op {
            args: create(&a),
            after: Some(a),
        });
        j += 1;
    }
    ops
}

/// What one task saw: committed (key, tx id, asset after) in order, and failures.
type TaskLog = (Vec<(String, String, Option<Value>)>, Vec<String>);

async fn run_task(gw: GatewayClient, ops: Vec<Op>) -> TaskLog {
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for op in ops {
        let a: Vec<&str> = op.args.iter().map(String::as_str).collect();
        match gw
            .submit_transaction(CHANNEL, "basic", &args(&a), &BTreeMap::new())
            .await
        {
            Ok(c) => done.push((op.args[1].clone(), c.tx_id, op.after)),
            Err(e) => failed.push(format!("{:?}: {e}", op.args)),
        }
    }
    (done, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_transactions_commit_identically_on_both_peers() {
    let net = TestNet::start(NetSpec {
        batch_timeout: "100ms".into(),
        ..NetSpec::default()
    })
    .await
    .expect("network starts");
    // Blocks before this one hold the deployment of `basic` (lifecycle approvals and commit).
    let first_block = orderer_height(&net).await;
    let started = Instant::now();
    let mut handles = Vec::new();
    for k in 0..TASKS {
        let n = TOTAL / TASKS + usize::from(k < TOTAL % TASKS);
        let user = if (k / 2) % 2 == 0 { "User1" } else { "User2" };
        let gw = net.gateway(k % 2, user).await.unwrap();
        handles.push(tokio::spawn(run_task(gw, plan(k, n))));
    }
    let mut committed = Vec::new();
    let mut failures = Vec::new();
    for h in handles {
        let (d, f) = h.await.unwrap();
        committed.extend(d);
        failures.extend(f);
    }
    eprintln!("{TOTAL} transactions committed in {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{} of {TOTAL} transactions failed, first: {:?}\n{}",
        failures.len(),
        &failures[..failures.len().min(5)],
        net.logs()
    );
    assert_eq!(committed.len(), TOTAL);

    let height = orderer_height(&net).await;
    net.wait_height(height, Duration::from_secs(20)).await.unwrap();
    let chain = same_chain_on_both_peers(&net, height).await;
    every_transaction_valid_exactly_once(&chain[first_block as usize..], &committed);
    same_expected_state_on_both_peers(&net, &committed).await;
    history_has_every_version(&net, &committed).await;
}

async fn orderer_height(net: &TestNet) -> u64 {
    let info = net
        .admin("orderer", 0)
        .await
        .unwrap()
        .info(CHANNEL)
        .await
        .unwrap();
    info.info.unwrap().height
}

/// Both peers deliver the same blocks (header hash, data, validation codes), chained, matching what
/// their admin service reports; returns the chain.
async fn same_chain_on_both_peers(net: &TestNet, height: u64) -> Vec<carechain_proto::common::Block> {
    let a = net.deliver(0, 0, height - 1).await.unwrap();
    let b = net.deliver(1, 0, height - 1).await.unwrap();
    for (x, y) in a.iter().zip(&b) {
        let n = number(x);
        assert_eq!(hash(x), hash(y), "block {n}: header hashes differ between peers");
        assert_eq!(x.data, y.data, "block {n}: transactions differ between peers");
        assert_eq!(
            tx_codes(x),
            tx_codes(y),
            "block {n}: validation codes differ between peers"
        );
    }
    for (i, w) in a.windows(2).enumerate() {
        assert_eq!(number(&w[1]), i as u64 + 1);
        assert_eq!(
            w[1].header.as_ref().unwrap().previous_hash.as_ref(),
            hash(&w[0]),
            "block {} does not chain to block {i}",
            i + 1
        );
    }
    for i in 0..2 {
        let info = net
            .admin("peer", i)
            .await
            .unwrap()
            .info(CHANNEL)
            .await
            .unwrap()
            .info
            .unwrap();
        assert_eq!(info.height, height, "peer {i} height");
        assert_eq!(
            info.current_block_hash.as_ref(),
            hash(a.last().unwrap()),
            "peer {i} reports a tip hash that is not the delivered tip's"
        );
    }
    a
}

/// The load's `blocks` hold exactly the committed transactions, each once, each VALID.
fn every_transaction_valid_exactly_once(
    blocks: &[carechain_proto::common::Block],
    committed: &[(String, String, Option<Value>)],
) {
    let mut seen: HashMap<String, TxValidationCode> = HashMap::new();
    let mut total = 0;
    for b in blocks {
        let ids = tx_ids(b);
        let codes = tx_codes(b);
        assert_eq!(
            ids.len(),
            codes.len(),
            "block {}: one code per transaction",
            number(b)
        );
        for (id, code) in ids.into_iter().zip(codes) {
            assert!(
                seen.insert(id.clone(), code).is_none(),
                "transaction {id} is in the chain twice"
            );
            total += 1;
        }
    }
    assert_eq!(
        total, TOTAL,
        "the chain holds {total} transactions, {TOTAL} were submitted"
    );
    for (_, tx, _) in committed {
        assert_eq!(seen.get(tx), Some(&TxValidationCode::Valid), "transaction {tx}");
    }
    eprintln!("{} blocks for {TOTAL} transactions", blocks.len());
}

async fn same_expected_state_on_both_peers(net: &TestNet, committed: &[(String, String, Option<Value>)]) {
    let on0 = net.all_assets(0).await.unwrap();
    let on1 = net.all_assets(1).await.unwrap();
    assert!(on0 == on1, "GetAllAssets differs between the peers");
    // Per key, the last committed version (each key is written by one task only, in order).
    let mut want: BTreeMap<String, Value> = BTreeMap::new();
    for (key, _, after) in committed {
        match after {
            Some(a) => want.insert(key.clone(), a.clone()),
            None => want.remove(key),
        };
    }
    let got: Vec<Value> = serde_json::from_str(&on0).unwrap();
    let got: BTreeMap<String, Value> = got
        .into_iter()
        .map(|a| (a["ID"].as_str().unwrap().to_string(), a))
        .collect();
    assert_eq!(got.len(), want.len(), "number of assets");
    assert!(got == want, "world state is not what the transactions wrote");
}

async fn history_has_every_version(net: &TestNet, committed: &[(String, String, Option<Value>)]) {
    for k in 0..TASKS {
        let key = format!("hot-{k:02}");
        let versions: Vec<&(String, String, Option<Value>)> =
            committed.iter().filter(|(kk, _, _)| *kk == key).rev().collect();
        assert!(
            versions.len() > HOT_UPDATES,
            "{key} was written {} times",
            versions.len()
        );
        for peer in 0..2 {
            let h: Vec<Value> =
                serde_json::from_str(&net.query(peer, &["GetAssetHistory", &key]).await.unwrap()).unwrap();
            let got: Vec<(&str, bool, &Value)> = h
                .iter()
                .map(|e| {
                    (
                        e["txId"].as_str().unwrap(),
                        e["isDelete"].as_bool().unwrap(),
                        &e["record"],
                    )
                })
                .collect();
            let want: Vec<(&str, bool, &Value)> = versions
                .iter()
                .map(|(_, tx, after)| {
                    (
                        tx.as_str(),
                        after.is_none(),
                        after.as_ref().unwrap_or(&Value::Null),
                    )
                })
                .collect();
            assert_eq!(got, want, "history of {key} on peer {peer} (newest first)");
        }
    }
}
