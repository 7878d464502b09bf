//! The committing peer's storage cost in endorse → order → validate: one RocksDB write batch per block
//! (block bytes, tx-id index, state, history, savepoint), for 500-transaction blocks of
//! asset-transfer-basic `CreateAsset`, each endorsed by two orgs.
//!
//! - `commit/500/{fsync,no_fsync}`: the write alone, on blocks validated beforehand. `fsync` is the
//!   peer's default (`sync_writes`: the block is durable across power loss before it is acknowledged).
//! - `validate_and_commit/500`: what the committer does per block: validation against the ledger's
//!   snapshot (signatures, policy, MVCC reads from RocksDB) and the commit. Run with
//!   `RAYON_NUM_THREADS=1` for the per-core figure.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../../core/benches/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use carechain_channel::block::{header_hash, new_block};
use carechain_ledger::{Ledger, LedgerOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use peer_core::block::{PvtInput, ValidatedBlock, validate_block};
use peer_core::lifecycle::{LIFECYCLE, definition_key};
use peer_core::state::{BlockUpdates, KeyUpdate, StateView, Version};
use prost::Message;
use support::Bench;

const BLOCK: usize = 500;

/// A ledger in `dir` whose block 0 defines `basic` as the bench's state does.
fn ledger(b: &Bench, dir: &std::path::Path, sync_writes: bool) -> Ledger {
    let opts = LedgerOptions {
        sync_writes,
        ..LedgerOptions::default()
    };
    let ledger = Ledger::open(dir, &opts).unwrap();
    let def = b.view.get(LIFECYCLE, &definition_key("basic")).unwrap().unwrap();
    let mut updates = BlockUpdates::default();
    updates.state.insert(
        (LIFECYCLE.to_string(), definition_key("basic")),
        KeyUpdate {
            value: Some(def.value),
            metadata: BTreeMap::new(),
            version: Version::new(0, 0),
        },
    );
    commit(&ledger, Vec::new(), &updates);
    ledger
}

/// Commits `envelopes` as the ledger's next block with `updates`.
fn commit(ledger: &Ledger, envelopes: Vec<Bytes>, updates: &BlockUpdates) {
    let number = ledger.height();
    let prev = ledger.tip_hash().unwrap_or([0; 32]);
    let block = new_block(number, &prev, envelopes);
    let hash = header_hash(block.header.as_ref().unwrap());
    ledger
        .commit(number, &block.encode_to_vec(), hash, updates)
        .unwrap();
}

fn validated(b: &Bench, envs: &[Bytes]) -> ValidatedBlock {
    let v = validate_block(1, envs, &b.f.channel, &b.view, &PvtInput::default()).unwrap();
    assert_eq!(v.updates.state.len(), BLOCK);
    v
}

fn commit_only(c: &mut Criterion, b: &Bench) {
    // Eight distinct blocks, committed in turn: later rounds overwrite their keys, as updates do.
    let blocks: Vec<(Vec<Bytes>, ValidatedBlock)> = (0..8)
        .map(|k| {
            let envs = b.block(&format!("c{k}"), BLOCK, 64);
            let v = validated(b, &envs);
            (envs, v)
        })
        .collect();
    let mut g = c.benchmark_group("commit");
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.sample_size(20);
    for (name, sync) in [("500/fsync", true), ("500/no_fsync", false)] {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(b, dir.path(), sync);
        let mut k = 0;
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let (envs, v) = &blocks[k % blocks.len()];
                k += 1;
                commit(&l, envs.clone(), &v.updates);
            })
        });
    }
    g.finish();
}

fn validate_and_commit(c: &mut Criterion, b: &Bench) {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(b, dir.path(), true);
    let mut round = 0;
    let mut g = c.benchmark_group("validate_and_commit");
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.sample_size(10);
    g.bench_function("500", |bench| {
        bench.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                // Fresh assets each round, so every transaction is valid against the ledger.
                let envs = b.block(&format!("v{round}"), BLOCK, 64);
                round += 1;
                // This process signed them; a committing peer verifies every signature.
                carechain_crypto::sign::forget_verified_signatures();
                let start = Instant::now();
                let v = validate_block(
                    l.height(),
                    &envs,
                    &b.f.channel,
                    &l.snapshot(),
                    &PvtInput::default(),
                )
                .unwrap();
                assert_eq!(v.updates.state.len(), BLOCK, "every transaction valid");
                commit(&l, envs, &v.updates);
                spent += start.elapsed();
            }
            spent
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let b = Bench::new();
    commit_only(c, &b);
    validate_and_commit(c, &b);
}

criterion_group!(ledger_benches, benches);
criterion_main!(ledger_benches);
