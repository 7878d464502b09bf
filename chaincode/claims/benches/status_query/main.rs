//! Claims per second returned by the insurer's status query (`QueryClaims {"status":"submitted"}`),
//! paging with bookmarks through 100,000 claims held in a real RocksDB ledger.
//!
//! `evaluate/page=N` is the figure: each page is one Evaluate exactly as the gateway runs it on the
//! insurer's own peer, `Peer::process_proposal(signed, sign = false)` (proposal parse and signature check,
//! channel Writers policy, ledger snapshot, tx-id lookup, definition lookup, the contract in the simulator);
//! only the adjuster's signing of each page's proposal is outside the peer. The other two isolate the
//! layers beneath it: `simulate/page=N` runs only `endorse::simulate` (the contract and the simulator
//! over a snapshot) for pre-checked proposals, `ledger_range/page=N` only the snapshot range scans of the
//! `claim~status` index the contract reads.
//!
//! Run: `cargo bench -p chaincode-claims --bench status_query` (`CLAIMS=10000` for a quicker load).
//! Loading 100,000 claims takes about a minute before the measurements start.

#![allow(missing_docs, clippy::unwrap_used)]

mod fixture;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use chaincode_api::create_composite_key;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fixture::{CHANNEL, Fixture};
use peer_core::proposal::{self, CheckedProposal};
use peer_core::simulator::PrivateAccess;
use peer_core::state::StateView;
use peer_core::{endorse, txbuild};

const FILTER: &str = r#"{"status":"submitted"}"#;
const PAGE_SIZES: [usize; 2] = [100, 1000];

fn claims() -> usize {
    std::env::var("CLAIMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn query_args(page: usize, bookmark: &str) -> Vec<Vec<u8>> {
    ["QueryClaims", FILTER, &page.to_string(), bookmark]
        .map(|a| a.as_bytes().to_vec())
        .to_vec()
}

/// One Evaluate on the peer; the response payload.
fn evaluate(f: &Fixture, page: usize, bookmark: &str) -> Vec<u8> {
    let p = txbuild::new_proposal(
        &f.adjuster,
        CHANNEL,
        "claims",
        &query_args(page, bookmark),
        &BTreeMap::new(),
    );
    let endorsed = f.peer.process_proposal(&p.signed, false).unwrap();
    let r = endorsed.response.response.unwrap();
    assert_eq!(r.status, 200, "{}", r.message);
    r.payload.to_vec()
}

/// `fetchedRecordsCount` and `bookmark`, read from the end of a page without parsing its records.
fn tail(payload: &[u8]) -> (usize, String) {
    let text = std::str::from_utf8(payload).unwrap();
    let at = text.rfind(r#""fetchedRecordsCount":"#).unwrap();
    let rest = &text[at + 22..];
    let (count, rest) = rest.split_once(',').unwrap();
    let bookmark = rest
        .strip_prefix(r#""bookmark":""#)
        .and_then(|b| b.strip_suffix("\"}"))
        .unwrap();
    (count.parse().unwrap(), bookmark.to_string())
}

/// Pages through the whole status range; the number of claims returned.
fn page_through(f: &Fixture, page: usize) -> usize {
    let (mut total, mut bookmark) = (0, String::new());
    loop {
        let (count, next) = tail(&evaluate(f, page, &bookmark));
        total += count;
        if next.is_empty() {
            return total;
        }
        bookmark = next;
    }
}

/// Every page fully parsed: all claims once, in submission order, all submitted.
fn check(f: &Fixture, n: usize) {
    let (mut records, mut bookmark) = (Vec::new(), String::new());
    loop {
        let page: serde_json::Value = serde_json::from_slice(&evaluate(f, 1000, &bookmark)).unwrap();
        records.extend(page["claims"].as_array().unwrap().iter().cloned());
        bookmark = page["bookmark"].as_str().unwrap().to_string();
        if bookmark.is_empty() {
            break;
        }
    }
    assert_eq!(records.len(), n);
    let keys: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "submitted");
            (
                r["created"].as_str().unwrap().into(),
                r["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "pages are in submission order"
    );
}

/// The checked proposals of every page of one walk (bookmarks from a first walk).
fn checked_pages(f: &Fixture, page: usize) -> Vec<CheckedProposal> {
    let config = f.channel.config();
    let (mut out, mut bookmark) = (Vec::new(), String::new());
    loop {
        let p = txbuild::new_proposal(
            &f.adjuster,
            CHANNEL,
            "claims",
            &query_args(page, &bookmark),
            &BTreeMap::new(),
        );
        let parsed = proposal::parse(&p.signed).unwrap();
        out.push(proposal::check(parsed, &config.msps, time::OffsetDateTime::now_utc()).unwrap());
        let (_, next) = tail(&evaluate(f, page, &bookmark));
        if next.is_empty() {
            return out;
        }
        bookmark = next;
    }
}

fn bench(c: &mut Criterion) {
    let n = claims();
    let started = Instant::now();
    let f = fixture::build(n);
    eprintln!("loaded {n} claims in {:.1?}", started.elapsed());
    check(&f, n);
    let mut g = c.benchmark_group("claims_status_query");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    for page in PAGE_SIZES {
        g.bench_function(format!("evaluate/page={page}"), |b| {
            b.iter(|| assert_eq!(page_through(&f, page), n))
        });
    }
    let access = PrivateAccess {
        collections: serde_json::from_str(include_str!("../../collections_config.json")).unwrap(),
        local_msp: "InsurerMSP".into(),
    };
    for page in PAGE_SIZES {
        let pages = checked_pages(&f, page);
        g.bench_function(format!("simulate/page={page}"), |b| {
            b.iter(|| {
                let snap = f.channel.ledger.snapshot();
                for p in &pages {
                    let sim = endorse::simulate(&snap, &chaincode_claims::ClaimsContract, p, &access);
                    black_box(sim.response.payload.len());
                }
            })
        });
    }
    let start = create_composite_key("claim~status", &["InsurerMSP", "submitted"]).unwrap();
    let end = format!("{start}\u{10FFFF}");
    for page in PAGE_SIZES {
        g.bench_function(format!("ledger_range/page={page}"), |b| {
            b.iter(|| {
                let snap = f.channel.ledger.snapshot();
                let (mut from, mut total) = (start.clone(), 0);
                loop {
                    let rows = snap.range("claims", &from, Some(&end), page + 1).unwrap();
                    total += rows.len().min(page);
                    match rows.get(page) {
                        Some((next, _)) => from = next.clone(),
                        None => break,
                    }
                }
                assert_eq!(total, n);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
