//! Bad input at every door of the pipeline (gateway Evaluate / Endorse / Submit, orderer Broadcast):
//! malformed protobuf, a bad creator signature, a transaction id not derived from nonce and creator, a
//! replayed transaction id, a certificate from a CA the channel does not know, and an envelope larger
//! than the channel's AbsoluteMaxBytes.
//!
//! For each it proves the three promises of a refusal:
//! 1. a clear error: the gRPC code (or Fabric broadcast status) and a message naming the problem;
//! 2. nothing is committed: every peer's height and world state are unchanged after waiting five batch
//!    timeouts (the one exception, a replayed *envelope*, is ordered and committed as DUPLICATE_TXID in a
//!    block of its own, and still changes no state);
//! 3. the node keeps serving: a valid transaction commits VALID on both peers afterwards.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes};
use carechain_gateway::client::{ClientError, GatewayClient, Prepared};
use carechain_gateway::error::details_of;
use carechain_proto::common::{Envelope, Status as FabricStatus};
use carechain_proto::gateway::gateway_client::GatewayClient as RawGateway;
use carechain_proto::gateway::{EndorseRequest, EvaluateRequest, SubmitRequest};
use carechain_proto::orderer::BroadcastResponse;
use carechain_proto::protos::{SignedProposal, TxValidationCode};
use carechain_tests::probe::{tx_codes, tx_ids};
use carechain_tests::tamper::{flip_last_byte, rewrite_proposal, with_creator};
use carechain_tests::{NetSpec, Snapshot, TestNet, args};
use futures::channel::mpsc;
use peer_core::txbuild::{NewProposal, sign_envelope};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Code, Status};

const CH: &str = "testchannel";
/// Field 1 with wire type 7, which does not exist: no protobuf message decodes from this.
const GARBAGE: &[u8] = b"\x0f\xde\xad\xbe\xef not a protobuf message";
const MAX_BYTES: u32 = 256 * 1024;
/// Five batch timeouts: anything a refused request had let through would be committed by then.
const SETTLE: Duration = Duration::from_millis(1000);

struct Bench {
    net: TestNet,
    gw: GatewayClient,
    raw: RawGateway<Channel>,
    live: AtomicUsize,
}

impl Bench {
    async fn start() -> Bench {
        let net = TestNet::start(NetSpec {
            absolute_max_bytes: MAX_BYTES,
            batch_timeout: "200ms".into(),
            ..NetSpec::default()
        })
        .await
        .expect("network starts");
        let gw = net.gateway(0, "User1").await.unwrap();
        let raw = net.raw_gateway(0).await.unwrap();
        let b = Bench {
            net,
            gw,
            raw,
            live: AtomicUsize::new(0),
        };
        b.still_serving("network start").await;
        b
    }

    async fn snapshot(&self) -> Snapshot {
        self.net.snapshot().await.unwrap()
    }

    /// No block and no state change, after giving the orderer time to cut anything it had accepted.
    async fn nothing_changed(&self, before: &Snapshot, what: &str) {
        tokio::time::sleep(SETTLE).await;
        assert_eq!(&self.snapshot().await, before, "{what} changed the ledger");
    }

    /// A valid transaction still commits VALID and both peers see it.
    async fn still_serving(&self, after: &str) {
        let id = format!("live-{}", self.live.fetch_add(1, Ordering::SeqCst));
        let c = self
            .gw
            .submit_transaction(
                CH,
                "basic",
                &args(&["CreateAsset", &id, "green", "1", "Synthetic Owner", "1"]),
                &BTreeMap::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("valid transaction after {after} failed: {e}\n{}", self.net.logs()));
        self.net
            .wait_height(c.block + 1, Duration::from_secs(10))
            .await
            .unwrap();
        for i in 0..self.net.peers.len() {
            assert_eq!(
                self.net.query(i, &["AssetExists", &id]).await.unwrap(),
                "true",
                "peer {i}"
            );
        }
    }

    fn proposal(&self, call: &[&str]) -> NewProposal {
        self.gw.proposal(CH, "basic", &args(call), &BTreeMap::new())
    }

    async fn prepared(&self, call: &[&str]) -> Prepared {
        self.gw.endorse(CH, &self.proposal(call), &[]).await.unwrap()
    }

    async fn raw_evaluate(&self, signed: SignedProposal) -> Status {
        let req = EvaluateRequest {
            transaction_id: String::new(),
            channel_id: CH.into(),
            proposed_transaction: Some(signed),
            target_organizations: Vec::new(),
        };
        self.raw
            .clone()
            .evaluate(req)
            .await
            .expect_err("evaluate must be refused")
    }

    async fn raw_endorse(&self, signed: SignedProposal) -> Status {
        let req = EndorseRequest {
            transaction_id: String::new(),
            channel_id: CH.into(),
            proposed_transaction: Some(signed),
            endorsing_organizations: Vec::new(),
        };
        self.raw
            .clone()
            .endorse(req)
            .await
            .expect_err("endorse must be refused")
    }
}

/// The status has `code` and its message (with any ErrorDetails) names every one of `needles`.
fn assert_refused(s: &Status, code: Code, needles: &[&str], what: &str) {
    let details: Vec<String> = details_of(s).into_iter().map(|d| d.message).collect();
    let text = format!("{} {}", s.message(), details.join(" "));
    eprintln!("{what}: {:?}: {text}", s.code());
    assert_eq!(s.code(), code, "{what}: {text}");
    for n in needles {
        assert!(text.contains(n), "{what}: message does not name {n:?}: {text}");
    }
}

fn status_of(e: ClientError) -> Status {
    match e {
        ClientError::Status(s) => s,
        other => panic!("expected an error status, got {other}"),
    }
}

/// An AtomicBroadcast stream: a sender of envelopes and the stream of responses.
async fn broadcast_stream(
    net: &TestNet,
) -> (
    mpsc::UnboundedSender<Envelope>,
    tonic::Streaming<BroadcastResponse>,
) {
    let (tx, rx) = mpsc::unbounded();
    let resp = net
        .broadcast_client(0)
        .await
        .unwrap()
        .broadcast(rx)
        .await
        .unwrap()
        .into_inner();
    (tx, resp)
}

async fn next_response(resp: &mut tonic::Streaming<BroadcastResponse>) -> BroadcastResponse {
    tokio::time::timeout(Duration::from_secs(10), resp.message())
        .await
        .expect("the orderer answers within 10 s")
        .expect("the broadcast stream stays open")
        .expect("one response per envelope")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_is_refused_at_every_door() {
    let b = Bench::start().await;
    let garbage = SignedProposal {
        proposal_bytes: Bytes::from_static(GARBAGE),
        signature: Bytes::from_static(b"not a signature"),
    };

    let before = b.snapshot().await;
    let s = b.raw_evaluate(garbage.clone()).await;
    assert_refused(
        &s,
        Code::InvalidArgument,
        &["malformed proposal", "proposal"],
        "Evaluate",
    );
    let s = b.raw_endorse(garbage).await;
    assert_refused(&s, Code::InvalidArgument, &["malformed proposal"], "Endorse");
    let req = SubmitRequest {
        transaction_id: String::new(),
        channel_id: CH.into(),
        prepared_transaction: Some(Envelope {
            payload: Bytes::from_static(GARBAGE),
            signature: Bytes::from_static(b"not a signature"),
        }),
    };
    let s = b
        .raw
        .clone()
        .submit(req)
        .await
        .expect_err("submit must be refused");
    assert_refused(&s, Code::InvalidArgument, &["malformed payload"], "Submit");
    b.nothing_changed(&before, "malformed gateway requests").await;
    b.still_serving("malformed gateway requests").await;

    // Straight to the orderer: an envelope whose payload is garbage is refused, the stream stays open
    // and the next, valid envelope on it is ordered and commits.
    let before = b.snapshot().await;
    let (tx, mut resp) = broadcast_stream(&b.net).await;
    tx.unbounded_send(Envelope {
        payload: Bytes::from_static(GARBAGE),
        signature: Bytes::from_static(b"not a signature"),
    })
    .unwrap();
    let r = next_response(&mut resp).await;
    assert_eq!(
        r.status,
        FabricStatus::BadRequest as i32,
        "broadcast of garbage: {r:?}"
    );
    assert!(
        r.info.contains("payload") && r.info.contains("does not decode"),
        "{r:?}"
    );
    b.nothing_changed(&before, "a garbage envelope broadcast").await;
    let p = b
        .prepared(&["CreateAsset", "after-garbage", "red", "1", "Synthetic Owner", "1"])
        .await;
    tx.unbounded_send(sign_envelope(p.envelope.clone(), b.gw.signer()))
        .unwrap();
    let r = next_response(&mut resp).await;
    assert_eq!(
        r.status,
        FabricStatus::Success as i32,
        "valid envelope after garbage: {r:?}"
    );
    let (code, _) = b.gw.commit_status(CH, &p.tx_id).await.unwrap();
    assert_eq!(code, TxValidationCode::Valid);
}

/// Sends raw bytes as gRPC messages (no protobuf encoding), decodes BroadcastResponses.
#[derive(Clone, Copy, Default)]
struct RawBytesCodec;

impl Codec for RawBytesCodec {
    type Encode = Bytes;
    type Decode = BroadcastResponse;
    type Encoder = RawBytesCodec;
    type Decoder = RawBytesCodec;
    fn encoder(&mut self) -> Self::Encoder {
        *self
    }
    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for RawBytesCodec {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytesCodec {
    type Item = BroadcastResponse;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<BroadcastResponse>, Status> {
        BroadcastResponse::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_garbage_on_a_broadcast_stream_gets_an_error_status() {
    let b = Bench::start().await;
    // One valid envelope (control: the raw codec works and the stream is live), then a gRPC message
    // that is not an Envelope at all.
    let p = b
        .prepared(&[
            "CreateAsset",
            "before-garbage",
            "red",
            "1",
            "Synthetic Owner",
            "1",
        ])
        .await;
    let valid = sign_envelope(p.envelope.clone(), b.gw.signer()).encode_to_vec();
    let mut grpc = tonic::client::Grpc::new(b.net.orderer_channel(0).await.unwrap());
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/orderer.AtomicBroadcast/Broadcast");
    let frames = futures::stream::iter(vec![Bytes::from(valid), Bytes::from_static(GARBAGE)]);
    let resp = grpc
        .streaming(tonic::Request::new(frames), path, RawBytesCodec)
        .await
        .unwrap();
    let mut stream = resp.into_inner();
    let mut got = Vec::new();
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.message()).await {
            Err(_) => panic!("the orderer neither answered nor closed the stream"),
            Ok(Ok(Some(r))) => got.push(r),
            Ok(Ok(None)) => break None,
            Ok(Err(s)) => break Some(s),
        }
    };
    assert_eq!(
        got.first().map(|r| r.status),
        Some(FabricStatus::Success as i32),
        "the valid envelope before the garbage: {got:?}"
    );
    // Fabric's orderer ends the stream with the receive error (grpc-go: INTERNAL "failed to unmarshal");
    // an OK end with no response for the message leaves the client unable to tell what happened to it.
    match end {
        Some(s) => {
            assert!(
                matches!(s.code(), Code::Internal | Code::InvalidArgument),
                "undecodable Broadcast message: {s:?}"
            );
            assert_refused(&s, s.code(), &["decode"], "undecodable Broadcast message");
        }
        None => assert!(
            got.iter()
                .skip(1)
                .any(|r| r.status == FabricStatus::BadRequest as i32),
            "an undecodable Broadcast message got no error: the stream ended with grpc-status OK after \
             the responses {got:?}"
        ),
    }
    let (code, block) = b.gw.commit_status(CH, &p.tx_id).await.unwrap();
    assert_eq!(code, TxValidationCode::Valid);
    tokio::time::sleep(SETTLE).await;
    let after = b.snapshot().await;
    assert_eq!(
        after.heights,
        vec![block + 1; 2],
        "only the valid envelope was committed"
    );
    b.still_serving("raw garbage on a broadcast stream").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_and_forged_tx_ids_are_refused() {
    let b = Bench::start().await;
    b.prepared(&["CreateAsset", "sig-1", "white", "1", "Synthetic Owner", "1"])
        .await;
    let call = ["CreateAsset", "sig-2", "white", "1", "Synthetic Owner", "1"];

    // A proposal whose creator signature does not verify.
    let before = b.snapshot().await;
    let mut p = b.proposal(&call);
    p.signed.signature = flip_last_byte(&p.signed.signature).into();
    let s = b.raw_evaluate(p.signed.clone()).await;
    assert_refused(
        &s,
        Code::PermissionDenied,
        &["signature does not verify", "Org1MSP"],
        "Evaluate",
    );
    let s = status_of(b.gw.endorse(CH, &p, &[]).await.unwrap_err());
    assert_refused(
        &s,
        Code::PermissionDenied,
        &["signature does not verify", "Org1MSP"],
        "Endorse",
    );
    b.nothing_changed(&before, "a badly signed proposal").await;
    b.still_serving("a badly signed proposal").await;

    // A transaction id that is not hex(SHA-256(nonce ‖ creator)): another nonce, correctly signed.
    let before = b.snapshot().await;
    let p = b.proposal(&call);
    let signed = rewrite_proposal(&p.signed, b.gw.signer(), |_, sh| {
        sh.nonce = Bytes::from_static(b"another nonce, same tx id");
    })
    .unwrap();
    let s = b.raw_evaluate(signed.clone()).await;
    assert_refused(
        &s,
        Code::InvalidArgument,
        &[&p.tx_id, "nonce", "creator"],
        "Evaluate",
    );
    let forged = NewProposal {
        signed,
        tx_id: p.tx_id.clone(),
    };
    let s = status_of(b.gw.endorse(CH, &forged, &[]).await.unwrap_err());
    assert_refused(
        &s,
        Code::InvalidArgument,
        &[&p.tx_id, "does not match"],
        "Endorse",
    );
    b.nothing_changed(&before, "a forged transaction id").await;
    b.still_serving("a forged transaction id").await;

    // A prepared transaction whose envelope signature does not verify.
    let before = b.snapshot().await;
    let p = b.prepared(&call).await;
    let mut env = sign_envelope(p.envelope.clone(), b.gw.signer());
    env.signature = flip_last_byte(&env.signature).into();
    let s = status_of(b.gw.submit_envelope(CH, &p.tx_id, env).await.unwrap_err());
    assert_refused(&s, Code::PermissionDenied, &["signature", "Org1MSP"], "Submit");
    b.nothing_changed(&before, "a badly signed transaction").await;
    b.still_serving("a badly signed transaction").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_transaction_ids_are_refused_or_committed_as_duplicates() {
    let b = Bench::start().await;
    b.gw.submit_transaction(
        CH,
        "basic",
        &args(&["CreateAsset", "replay-1", "white", "1", "Synthetic Owner", "1"]),
        &BTreeMap::new(),
    )
    .await
    .unwrap();
    let first = b.proposal(&["UpdateAsset", "replay-1", "replayed", "2", "Synthetic Owner", "2"]);
    let prepared = b.gw.endorse(CH, &first, &[]).await.unwrap();
    let signed = sign_envelope(prepared.envelope.clone(), b.gw.signer());
    b.gw.submit_envelope(CH, &first.tx_id, signed.clone())
        .await
        .unwrap();
    let (code, first_block) = b.gw.commit_status(CH, &first.tx_id).await.unwrap();
    assert_eq!(code, TxValidationCode::Valid);
    // A later version, which a replay that took effect would overwrite.
    b.gw.submit_transaction(
        CH,
        "basic",
        &args(&["UpdateAsset", "replay-1", "latest", "3", "Synthetic Owner", "3"]),
        &BTreeMap::new(),
    )
    .await
    .unwrap();
    let latest = b.net.query(0, &["ReadAsset", "replay-1"]).await.unwrap();
    assert!(latest.contains("latest"));

    // The committed transaction's proposal, endorsed again: refused by the endorser.
    let before = b.snapshot().await;
    let s = status_of(b.gw.endorse(CH, &first, &[]).await.unwrap_err());
    assert_refused(
        &s,
        Code::InvalidArgument,
        &["duplicate transaction id", &first.tx_id],
        "Endorse",
    );
    b.nothing_changed(&before, "a replayed proposal").await;

    // Its signed envelope, submitted again: the gateway and the orderer accept it (neither keeps a tx
    // index, as in Fabric); every peer commits it as DUPLICATE_TXID in the next block, with no effect.
    b.gw.submit_envelope(CH, &first.tx_id, signed).await.unwrap();
    let h = before.heights[0];
    b.net.wait_height(h + 1, Duration::from_secs(10)).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    let after = b.snapshot().await;
    assert_eq!(
        after.heights,
        vec![h + 1; 2],
        "the replay is in exactly one new block"
    );
    assert_eq!(after.assets, before.assets, "the replay changed state");
    for i in 0..2 {
        let block = b.net.deliver(i, h, h).await.unwrap().remove(0);
        assert_eq!(tx_ids(&block), vec![first.tx_id.clone()], "peer {i} block {h}");
        assert_eq!(
            tx_codes(&block),
            vec![TxValidationCode::DuplicateTxid],
            "peer {i} block {h}"
        );
    }
    // The first commit is the one that counts.
    assert_eq!(
        b.gw.commit_status(CH, &first.tx_id).await.unwrap(),
        (TxValidationCode::Valid, first_block)
    );
    for i in 0..2 {
        assert_eq!(
            b.net.query(i, &["ReadAsset", "replay-1"]).await.unwrap(),
            latest,
            "peer {i}"
        );
    }
    b.still_serving("replays").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_from_an_unknown_ca_are_refused() {
    let b = Bench::start().await;
    // Same org name, domain and MSP id as Org1, and a CA with the same name as Org1's, but another key:
    // the refusal must name the certificate, the CA and the MSP.
    let impostor = b.net.impostor(0, "User1").unwrap();
    let gw = b
        .net
        .gateway_as(0, b.net.impostor(0, "User1").unwrap())
        .await
        .unwrap();
    let unknown_ca = [
        "CN=User1@org1.test.local",
        "CN=ca.org1.test.local of MSP Org1MSP",
        "does not verify against that CA",
    ];
    let before = b.snapshot().await;

    let e = gw
        .evaluate(CH, "basic", &args(&["GetAllAssets"]), &BTreeMap::new())
        .await;
    assert_refused(
        &status_of(e.unwrap_err()),
        Code::PermissionDenied,
        &unknown_ca,
        "Evaluate",
    );
    let p = gw.proposal(
        CH,
        "basic",
        &args(&[
            "CreateAsset",
            "impostor-1",
            "black",
            "1",
            "Synthetic Impostor",
            "1",
        ]),
        &BTreeMap::new(),
    );
    let e = gw.endorse(CH, &p, &[]).await.unwrap_err();
    assert_refused(&status_of(e), Code::PermissionDenied, &unknown_ca, "Endorse");

    // A transaction endorsed for a real user, then re-signed by the impostor as its creator.
    let real = b
        .prepared(&["CreateAsset", "impostor-2", "black", "1", "Synthetic Owner", "1"])
        .await;
    let env = with_creator(&real.envelope, &impostor).unwrap();
    let e =
        b.gw.submit_envelope(CH, &real.tx_id, env.clone())
            .await
            .unwrap_err();
    assert_refused(&status_of(e), Code::PermissionDenied, &unknown_ca, "Submit");
    let (tx, mut resp) = broadcast_stream(&b.net).await;
    tx.unbounded_send(env).unwrap();
    let r = next_response(&mut resp).await;
    assert_eq!(r.status, FabricStatus::Forbidden as i32, "Broadcast: {r:?}");
    assert!(unknown_ca.iter().all(|n| r.info.contains(n)), "Broadcast: {r:?}");

    b.nothing_changed(&before, "an unknown CA's user").await;
    b.still_serving("an unknown CA's user").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_over_absolute_max_bytes_is_refused_at_submit() {
    let b = Bench::start().await;
    // Control: a big transaction under the limit commits.
    let color = "c".repeat(60 * 1024);
    let p = b
        .prepared(&["CreateAsset", "big-ok", &color, "1", "Synthetic Owner", "1"])
        .await;
    let env = sign_envelope(p.envelope.clone(), b.gw.signer());
    let size = env.payload.len() + env.signature.len();
    assert!(size < MAX_BYTES as usize, "control envelope is {size} bytes");
    b.gw.submit_envelope(CH, &p.tx_id, env).await.unwrap();
    assert_eq!(
        b.gw.commit_status(CH, &p.tx_id).await.unwrap().0,
        TxValidationCode::Valid
    );

    let before = b.snapshot().await;
    let color = "c".repeat(300 * 1024);
    let p = b
        .prepared(&["CreateAsset", "big-refused", &color, "1", "Synthetic Owner", "1"])
        .await;
    let env = sign_envelope(p.envelope.clone(), b.gw.signer());
    let size = env.payload.len() + env.signature.len();
    assert!(size > MAX_BYTES as usize);
    let e = b.gw.submit_envelope(CH, &p.tx_id, env).await.unwrap_err();
    let s = status_of(e);
    assert_refused(
        &s,
        Code::Aborted,
        &[
            "REQUEST_ENTITY_TOO_LARGE",
            &size.to_string(),
            &MAX_BYTES.to_string(),
        ],
        "Submit",
    );
    assert!(
        details_of(&s)
            .iter()
            .any(|d| d.msp_id == "OrdererMSP" && d.message.contains("REQUEST_ENTITY_TOO_LARGE")),
        "the error details name the orderer: {:?}",
        details_of(&s)
    );
    b.nothing_changed(&before, "an oversized envelope").await;
    for i in 0..2 {
        assert_eq!(
            b.net.query(i, &["AssetExists", "big-refused"]).await.unwrap(),
            "false"
        );
    }
    b.still_serving("an oversized envelope").await;
}
