//! Multi-orderer tests of Raft ordering on the in-memory network: several orderers in one process with
//! real chains, block stores and Raft logs, messages dropped, delayed and reordered by a seeded RNG,
//! orderers crashed, partitioned and restarted. Time is real (openraft's timers, RocksDB's syncs) but
//! short: a tick of 25 ms. Each test asserts what ordering promises whatever the interleaving: one
//! chain on every orderer, no envelope twice, progress once a quorum is back.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::sim::{Faults, SimCluster};
use super::{RaftConsensus, RaftSettings};
use crate::OrdererError;
use crate::consensus::Consensus;
use crate::cutter::BatchConfig;
use crate::msgprocessor::Submitted;

fn settings(snapshot_interval: u64) -> RaftSettings {
    RaftSettings {
        tick: Duration::from_millis(25),
        election_tick: 12,
        heartbeat_tick: 2,
        snapshot_interval,
        max_payload_entries: 16,
    }
}

fn batch(count: u32) -> BatchConfig {
    BatchConfig {
        max_message_count: count,
        absolute_max_bytes: 64 * 1024,
        preferred_max_bytes: 32 * 1024,
        timeout: Duration::from_millis(30),
    }
}

fn envelopes(prefix: &str, n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| Bytes::from(format!("synthetic envelope {prefix}-{i:04} {}", "x".repeat(200))))
        .collect()
}

async fn started(n: usize, seed: u64, settings: RaftSettings, batch: BatchConfig) -> SimCluster {
    let mut c = SimCluster::new(n, seed, settings, batch);
    for i in 0..n {
        c.start(i).await;
    }
    assert!(
        c.wait_leader(Duration::from_secs(10)).await.is_some(),
        "no leader elected"
    );
    c
}

fn handles(c: &SimCluster) -> Vec<Weak<RaftConsensus>> {
    (0..3)
        .filter(|i| c.running(*i))
        .map(|i| Arc::downgrade(c.consensus(i)))
        .collect()
}

/// Clients submitting to random orderers, retrying an envelope refused as unavailable (a refused
/// envelope was never queued, so the retry cannot duplicate it). Returns each acknowledged envelope
/// with the time of its acknowledgement.
fn spawn_clients(
    nodes: Vec<Weak<RaftConsensus>>,
    work: Vec<Bytes>,
    clients: usize,
    seed: u64,
) -> tokio::task::JoinHandle<Vec<(Instant, Bytes)>> {
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for (k, chunk) in work.chunks(work.len().div_ceil(clients)).enumerate() {
            let (nodes, chunk) = (nodes.clone(), chunk.to_vec());
            tasks.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed + k as u64);
                let mut acked = Vec::new();
                for env in chunk {
                    for _attempt in 0..200 {
                        let target = nodes[rng.random_range(0..nodes.len())].upgrade();
                        let result = match target {
                            Some(node) => node.submit(Submitted::normal(env.clone(), 0)).await,
                            None => Err(OrdererError::Unavailable("down".into())),
                        };
                        match result {
                            Ok(()) => {
                                acked.push((Instant::now(), env.clone()));
                                break;
                            }
                            Err(OrdererError::Unavailable(_)) => {
                                tokio::time::sleep(Duration::from_millis(20)).await
                            }
                            Err(e) => panic!("unexpected refusal: {e}"),
                        }
                    }
                }
                acked
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    })
}

/// Waits until every running orderer has the same height and it stopped growing.
async fn settle(c: &SimCluster) {
    let mut last = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let heights: Vec<u64> = (0..3).filter(|i| c.running(*i)).map(|i| c.height(i)).collect();
        if heights == last && heights.windows(2).all(|w| w[0] == w[1]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "orderers did not converge: {heights:?}"
        );
        last = heights;
    }
}

/// One chain everywhere, no envelope twice, nothing that was not submitted.
fn assert_one_chain(c: &SimCluster, submitted: &[Bytes]) -> Vec<Bytes> {
    let running: Vec<usize> = (0..3).filter(|i| c.running(*i)).collect();
    let reference = c.chain(running[0]);
    for i in &running[1..] {
        assert_eq!(
            c.chain(*i),
            reference,
            "orderer {i}'s chain differs from orderer {}'s",
            running[0]
        );
    }
    let ordered = c.ordered(running[0]);
    let unique: HashSet<&Bytes> = ordered.iter().collect();
    assert_eq!(unique.len(), ordered.len(), "an envelope was ordered twice");
    let known: HashSet<&Bytes> = submitted.iter().collect();
    assert!(
        ordered.iter().all(|e| known.contains(e)),
        "an envelope nobody submitted was ordered"
    );
    ordered
}

/// After the faults are over, a fresh batch is ordered exactly once.
async fn assert_progress(c: &SimCluster, tag: &str) {
    let fresh = envelopes(tag, 20);
    let acked = spawn_clients(handles(c), fresh.clone(), 2, 99).await.unwrap();
    assert_eq!(acked.len(), fresh.len());
    settle(c).await;
    let ordered: HashSet<Bytes> = c.ordered(c.leader().unwrap_or(0)).into_iter().collect();
    assert!(
        fresh.iter().all(|e| ordered.contains(e)),
        "a fresh envelope was not ordered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_orderers_keep_one_chain_while_messages_are_dropped_delayed_and_reordered() {
    for seed in [7, 8] {
        let mut c = started(3, seed, settings(1 << 30), batch(10)).await;
        c.set_faults(Faults {
            drop_request: 0.1,
            drop_reply: 0.05,
            max_delay: Duration::from_millis(15),
        });
        let work = envelopes(&format!("faults{seed}"), 300);
        let acked = spawn_clients(handles(&c), work.clone(), 4, seed).await.unwrap();
        assert_eq!(acked.len(), work.len(), "every envelope is eventually accepted");
        c.set_faults(Faults::default());
        settle(&c).await;
        let ordered = assert_one_chain(&c, &work);
        // Lost messages can depose a leader, whose pending batch is then dropped (as in Fabric);
        // everything else is ordered.
        assert!(
            ordered.len() * 10 >= work.len() * 9,
            "only {} of {} ordered",
            ordered.len(),
            work.len()
        );
        assert_progress(&c, &format!("after{seed}")).await;
        let all: Vec<Bytes> = work
            .iter()
            .chain(&envelopes(&format!("after{seed}"), 20))
            .cloned()
            .collect();
        assert_one_chain(&c, &all);
        c.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_leader_is_replaced_within_a_few_election_timeouts_and_catches_up_from_the_log() {
    let mut c = started(3, 11, settings(1 << 30), batch(10)).await;
    let work = envelopes("failover", 400);
    let clients = spawn_clients(handles(&c), work.clone(), 4, 11);
    while c.height(0) < 5 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let old = c.leader().expect("a leader");
    c.crash(old).await;
    let crashed_at = Instant::now();
    let new = c
        .wait_leader(Duration::from_secs(10))
        .await
        .expect("a new leader");
    let takeover = crashed_at.elapsed();
    assert_ne!(new, old);
    // Election timeouts are drawn from [300, 600) ms here.
    assert!(
        takeover < Duration::from_millis(2400),
        "takeover took {takeover:?}"
    );
    let acked = clients.await.unwrap();
    assert_eq!(acked.len(), work.len());
    c.start(old).await;
    settle(&c).await;
    let ordered: HashSet<Bytes> = assert_one_chain(&c, &work).into_iter().collect();
    // Everything acknowledged once the new leader led (plus its first batch timeout) is ordered.
    let stable = crashed_at + takeover + Duration::from_millis(100);
    let missing = acked
        .iter()
        .filter(|(t, e)| *t > stable && !ordered.contains(e))
        .count();
    assert_eq!(missing, 0, "acknowledged envelopes lost after the takeover");
    assert_progress(&c, "after-failover").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_orderer_catches_up_from_a_snapshot_and_blocks_pulled_from_the_others() {
    // One envelope per block; a snapshot every ~11 blocks; 16 entries kept behind it.
    let mut c = started(3, 21, settings(3000), batch(1)).await;
    let leader = c.leader().unwrap();
    let (lagging, purging) = ((leader + 1) % 3, (leader + 2) % 3);
    c.crash(lagging).await;
    let work = envelopes("snapshot", 80);
    let acked = spawn_clients(handles(&c), work.clone(), 1, 21).await.unwrap();
    assert_eq!(acked.len(), work.len());
    assert!(c.wait_height(81, Duration::from_secs(20)).await);
    // A leader keeps the entries a replication stream still needs; a follower purges behind its
    // snapshots. Make that follower the leader the lagging orderer must catch up from.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .consensus(purging)
        .raft()
        .metrics()
        .borrow()
        .purged
        .is_none_or(|p| p.index < 40)
    {
        assert!(Instant::now() < deadline, "the follower did not purge its log");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.crash(leader).await;
    c.start(lagging).await;
    assert_eq!(c.wait_leader(Duration::from_secs(10)).await, Some(purging));
    assert!(
        c.wait_height(81, Duration::from_secs(20)).await,
        "the restarted orderer caught up"
    );
    let m = c.consensus(lagging).raft().metrics().borrow().clone();
    assert!(
        m.snapshot.is_some_and(|s| s.index >= 40),
        "it caught up through a snapshot: {m:?}"
    );
    c.start(leader).await;
    settle(&c).await;
    let ordered = assert_one_chain(&c, &work);
    assert_eq!(
        ordered, work,
        "one client, one leader: every envelope in submission order"
    );
    assert_progress(&c, "after-snapshot").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_submit_fails_promptly_and_no_fork_follows_recovery() {
    let mut c = started(3, 31, settings(1 << 30), batch(10)).await;
    let leader = c.leader().unwrap();
    let work = envelopes("before", 30);
    spawn_clients(handles(&c), work.clone(), 2, 31).await.unwrap();
    // Stop both followers: the leader loses its quorum.
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    for f in &followers {
        c.crash(*f).await;
    }
    let stopped = Instant::now();
    let survivor = c.consensus(leader).clone();
    // Until the leader notices (an election timeout), it still takes envelopes; they commit, or
    // not, once a quorum is back.
    let mut probes = Vec::new();
    let refused = loop {
        let probe = Bytes::from(format!("synthetic probe {}", probes.len()));
        probes.push(probe.clone());
        match survivor.submit(Submitted::normal(probe, 0)).await {
            Err(OrdererError::Unavailable(m)) => break m,
            Ok(()) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("unexpected refusal {e}"),
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "still accepting without a quorum"
        );
    };
    assert!(refused.contains("no Raft leader"), "{refused}");
    // Once refused, every call is refused within the leader wait.
    let t = Instant::now();
    assert!(matches!(
        survivor
            .submit(Submitted::normal(Bytes::from_static(b"synthetic probe 2"), 0))
            .await,
        Err(OrdererError::Unavailable(_))
    ));
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "refusal took {:?}",
        t.elapsed()
    );
    drop(survivor);
    for f in &followers {
        c.start(*f).await;
    }
    assert!(c.wait_leader(Duration::from_secs(10)).await.is_some());
    let mut submitted = work.clone();
    submitted.extend(probes);
    submitted.extend(envelopes("after-quorum", 20));
    assert_progress(&c, "after-quorum").await;
    assert_one_chain(&c, &submitted);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_leader_steps_aside_and_rejoins_without_forking() {
    let mut c = started(3, 41, settings(1 << 30), batch(5)).await;
    let old = c.leader().unwrap();
    let before = envelopes("pre-partition", 20);
    spawn_clients(handles(&c), before.clone(), 2, 41).await.unwrap();
    c.isolate(old, true);
    // The isolated leader stops leading; the majority elects another.
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        if let Some(l) = c.leader()
            && l != old
        {
            break l;
        }
        assert!(Instant::now() < deadline, "the majority elected no leader");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let majority = vec![Arc::downgrade(c.consensus(new))];
    let during = envelopes("partitioned", 30);
    assert_eq!(
        spawn_clients(majority, during.clone(), 1, 42)
            .await
            .unwrap()
            .len(),
        30
    );
    assert!(matches!(
        c.consensus(old)
            .submit(Submitted::normal(
                Bytes::from_static(b"synthetic to the minority"),
                0
            ))
            .await,
        Err(OrdererError::Unavailable(_))
    ));
    c.isolate(old, false);
    settle(&c).await;
    let mut submitted: Vec<Bytes> = before.iter().chain(&during).cloned().collect();
    submitted.push(Bytes::from_static(b"synthetic to the minority"));
    let ordered: HashSet<Bytes> = assert_one_chain(&c, &submitted).into_iter().collect();
    assert!(
        during.iter().all(|e| ordered.contains(e)),
        "the majority's envelopes are ordered"
    );
    c.stop().await;
}
