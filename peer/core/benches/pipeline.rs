//! The hot pure paths of endorse → order → validate, per core where they are single-threaded:
//!
//! - `proposal_check`: what an endorser does before simulating (parse, creator identity, signature,
//!   tx id, header checks).
//! - `endorse`: proposal check, simulation of asset-transfer-basic `CreateAsset`, read/write set and the
//!   peer's signature: one endorsement.
//! - `validate_block/500x2`: a committing peer's validation of a 500-transaction block, each with two
//!   endorsements (3 ECDSA verifies a transaction: creator and two endorsers), policy, duplicate tx ids
//!   and MVCC. Run with `RAYON_NUM_THREADS=1` for the per-core figure; by default rayon uses every core.
//!   The process-wide memory of verified signatures is cleared before each iteration, so every
//!   signature is verified; `500x2/gateway_peer` instead starts from what the submitting org's gateway
//!   peer already verified or made (the creator's envelope signature and its own endorsement).
//! - `mvcc/500`: the in-order part alone (read-version checks and write application of 500 valid
//!   transactions against the committed state).
#![allow(missing_docs, clippy::unwrap_used)]

mod support;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use peer_core::block::{PvtInput, validate_block};
use peer_core::endorse::{endorse, simulate};
use peer_core::mvcc::{self, MvccOutcome, ValidTx};
use peer_core::proposal;
use peer_core::simulator::PrivateAccess;
use peer_core::state::{BlockUpdates, Version};
use peer_core::txcheck::{self, Checked, EndorserTx};
use support::Bench;
use time::OffsetDateTime;

const BLOCK: usize = 500;

fn proposal_check(c: &mut Criterion, b: &Bench) {
    let p = b.proposal("asset-1", 64);
    let mut g = c.benchmark_group("proposal_check");
    g.throughput(Throughput::Elements(1));
    g.bench_function("create_asset", |bench| {
        bench.iter_batched(
            carechain_crypto::sign::forget_verified_signatures,
            |()| {
                let parsed = proposal::parse(black_box(&p.signed)).unwrap();
                proposal::check(parsed, &b.f.channel.msps, OffsetDateTime::now_utc()).unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn endorsement(c: &mut Criterion, b: &Bench) {
    let p = b.proposal("asset-1", 64);
    let mut g = c.benchmark_group("endorse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("create_asset", |bench| {
        bench.iter_batched(
            carechain_crypto::sign::forget_verified_signatures,
            |()| {
                let parsed = proposal::parse(black_box(&p.signed)).unwrap();
                let now = OffsetDateTime::now_utc();
                let checked = proposal::check(parsed, &b.f.channel.msps, now).unwrap();
                let contract = chaincode_basic::BasicContract;
                let sim = simulate(&b.view, &contract, &checked, &PrivateAccess::default());
                endorse(&checked, &sim, "1.0", &b.f.peer1)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn block_validation(c: &mut Criterion, b: &Bench) {
    let envs = b.block("asset", BLOCK, 64);
    let pvt = PvtInput::default();
    let mut g = c.benchmark_group("validate_block");
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.sample_size(20);
    let validate = |envs: &[bytes::Bytes]| {
        let v = validate_block(1, black_box(envs), &b.f.channel, &b.view, &pvt).unwrap();
        assert_eq!(v.updates.tx_index.len(), BLOCK);
        v
    };
    // Every signature verified: a peer that saw none of these transactions before (3 verifies each).
    g.bench_function("500x2", |bench| {
        bench.iter_batched(
            carechain_crypto::sign::forget_verified_signatures,
            |()| validate(&envs),
            BatchSize::PerIteration,
        )
    });
    // The gateway peer of the submitting org: it checked the creator's signature at Submit and made
    // one endorsement, so only the other org's endorsement is verified in the block.
    g.bench_function("500x2/gateway_peer", |bench| {
        bench.iter_batched(
            || support::as_gateway_peer(b, &envs),
            |()| validate(&envs),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn mvcc_only(c: &mut Criterion, b: &Bench) {
    let envs = b.block("asset", BLOCK, 64);
    let txs: Vec<EndorserTx> = envs
        .iter()
        .map(
            |e| match txcheck::check_envelope(e, &b.f.channel, &b.view).unwrap() {
                Checked::Endorser(tx) => tx,
                Checked::Config { .. } => unreachable!("endorser transactions only"),
            },
        )
        .collect();
    let mut g = c.benchmark_group("mvcc");
    g.throughput(Throughput::Elements(BLOCK as u64));
    g.bench_function("500", |bench| {
        bench.iter_batched(
            BlockUpdates::default,
            |mut pending| {
                for (i, tx) in txs.iter().enumerate() {
                    let outcome = mvcc::check(&b.view, &pending, &tx.rwset).unwrap();
                    assert!(matches!(outcome, MvccOutcome::Valid));
                    let valid = ValidTx {
                        tx_id: &tx.tx_id,
                        version: Version::new(1, i as u64),
                        timestamp: tx.timestamp,
                    };
                    mvcc::apply_valid_tx(&b.view, &mut pending, &valid, &tx.rwset).unwrap();
                }
                pending
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let b = Bench::new();
    proposal_check(c, &b);
    endorsement(c, &b);
    block_validation(c, &b);
    mvcc_only(c, &b);
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
