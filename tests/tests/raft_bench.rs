//! Ordering throughput with three Raft orderers on this machine: signed transactions (synthetic, ~3 KB,
//! as an endorsed transaction is) broadcast on six concurrent streams, two to each orderer (followers
//! forward to the leader), timed from the first send until Deliver has returned every accepted
//! transaction in a block. The peers are stopped first, so the figure is ordering alone (signature
//! checks, forwarding, cutting, Raft replication with synced logs on three orderers, signing and
//! storing blocks).
//!
//! A measurement, not a check of behaviour, so it is ignored by default:
//! `cargo build --bin carechain && cargo test -p carechain-tests --test raft_bench -- --ignored --nocapture`

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use carechain_crypto::msp::SigningIdentity;
use carechain_proto::common::{Envelope, Header, Payload, Status};
use carechain_proto::orderer::deliver_response::Type as DeliverType;
use carechain_proto::protos::Proposal;
use carechain_tests::{NetSpec, TestNet, args};
use prost::Message;

const CH: &str = "testchannel";
const TOTAL: usize = 20_000;
const STREAMS: usize = 6;
const TX_BYTES: usize = 3 * 1024;

/// A signed ENDORSER_TRANSACTION envelope the orderer accepts (it checks the creator and its signature,
/// never the endorsements).
fn envelope(signer: &SigningIdentity, n: usize) -> Envelope {
    let p = peer_core::txbuild::new_proposal(
        signer,
        CH,
        "basic",
        &args(&["bench", &n.to_string()]),
        &BTreeMap::new(),
    );
    let proposal = Proposal::decode(p.signed.proposal_bytes.as_ref()).unwrap();
    let header = Header::decode(proposal.header.as_ref()).unwrap();
    let payload = Payload {
        header: Some(header),
        data: vec![0x5a; TX_BYTES].into(),
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload).into(),
        payload: payload.into(),
    }
}

fn envelopes(signer: Arc<SigningIdentity>, from: usize, n: usize) -> Vec<Envelope> {
    (from..from + n).map(|i| envelope(&signer, i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn ordered_transactions_per_second_with_three_orderers() {
    let mut net = TestNet::start(NetSpec {
        orderers: 3,
        max_message_count: 500,
        batch_timeout: "200ms".into(),
        absolute_max_bytes: 4 * 1024 * 1024,
        ..NetSpec::default()
    })
    .await
    .expect("network starts");
    let leader = net.wait_orderer_leader(Duration::from_secs(30)).await.unwrap();
    for i in 0..2 {
        net.kill9("peer", i);
    }
    let signer = Arc::new(net.user(0, "User1").unwrap());
    let half = TOTAL / 2;
    let (a, b) = (signer.clone(), signer.clone());
    let (first, second) = tokio::join!(
        tokio::task::spawn_blocking(move || envelopes(a, 0, half)),
        tokio::task::spawn_blocking(move || envelopes(b, half, TOTAL - half))
    );
    let all: Vec<Envelope> = first.unwrap().into_iter().chain(second.unwrap()).collect();

    let start_height = net
        .admin("orderer", leader)
        .await
        .unwrap()
        .info(CH)
        .await
        .unwrap()
        .info
        .unwrap()
        .height;
    let mut deliver = net
        .broadcast_client(leader)
        .await
        .unwrap()
        .max_decoding_message_size(100 * 1024 * 1024)
        .deliver(futures::stream::iter(vec![peer_core::txbuild::seek_envelope(
            &signer,
            CH,
            start_height,
            None,
            true,
        )]))
        .await
        .unwrap()
        .into_inner();

    let started = Instant::now();
    let mut senders = Vec::new();
    for (s, chunk) in all.chunks(TOTAL.div_ceil(STREAMS)).enumerate() {
        let mut client = net.broadcast_client(s % 3).await.unwrap();
        let chunk = chunk.to_vec();
        senders.push(tokio::spawn(async move {
            let mut responses = client
                .broadcast(futures::stream::iter(chunk))
                .await
                .unwrap()
                .into_inner();
            let mut ok = 0usize;
            while let Some(r) = responses.message().await.unwrap() {
                ok += usize::from(r.status == Status::Success as i32);
            }
            ok
        }));
    }
    let mut accepted = 0;
    for s in senders {
        accepted += s.await.unwrap();
    }
    let sent = started.elapsed();
    let (mut ordered, mut blocks) = (0usize, 0usize);
    while ordered < accepted {
        let msg = tokio::time::timeout(Duration::from_secs(30), deliver.message())
            .await
            .expect("blocks keep coming")
            .unwrap()
            .expect("the stream stays open");
        if let Some(DeliverType::Block(b)) = msg.r#type {
            ordered += b.data.map_or(0, |d| d.data.len());
            blocks += 1;
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "3 orderers: {accepted} of {TOTAL} transactions accepted in {sent:?}, ordered in {blocks} blocks in {elapsed:?}: {:.0} ordered tx/s",
        accepted as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(accepted, TOTAL);
}
