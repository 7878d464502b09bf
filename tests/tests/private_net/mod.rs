//! Shared steps of the private data tests (`private_*.rs`): a network running the `private` contract
//! (Fabric's asset-transfer-private-data), its write functions fed through transient data, reads as
//! each org's `User1`, the `carechain peer pvtdata missing` CLI, and waiting helpers. Every value is
//! synthetic.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use carechain_gateway::client::{ClientError, Committed};
use carechain_proto::common::Block;
use carechain_tests::{NetSpec, TestNet, args};
use serde_json::{Value, json};

/// The chaincode.
pub const CC: &str = "private";
/// Endorsement policy the sample deploys with.
pub const POLICY: &str = "OR('Org1MSP.peer','Org2MSP.peer')";
/// The shared collection.
pub const ASSETS: &str = "assetCollection";

/// The sample's `collections_config.json` (Org1MSP and Org2MSP are the only members).
pub fn sample_collections() -> Value {
    serde_json::from_str(include_str!("../../../chaincode/private/collections_config.json")).unwrap()
}

/// The sample's collections with `assetCollection` changed by `edit`.
pub fn collections_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut c = sample_collections();
    let asset = c
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|x| x["name"] == ASSETS)
        .unwrap();
    edit(asset);
    c
}

/// Starts `orgs` (one peer each) and `orderers`, and deploys `private` with `collections`.
pub async fn start(orgs: &[&str], orderers: usize, collections: Value) -> TestNet {
    let spec = NetSpec {
        orgs: orgs.iter().map(|o| o.to_string()).collect(),
        orderers,
        ..NetSpec::default()
    };
    let net = TestNet::start(spec).await.expect("network starts");
    net.deploy_with_collections(CC, 1, Some(POLICY), collections)
        .await
        .unwrap_or_else(|e| panic!("deploying {CC}: {e:#}\n{}", net.logs()));
    net
}

/// A transient map with one field holding `value` (JSON text, sent byte for byte).
pub fn transient(field: &str, value: &str) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([(field.to_string(), value.as_bytes().to_vec())])
}

/// The `asset_properties` of a new asset.
pub fn asset(id: &str, color: &str, value: u64) -> String {
    json!({"objectType": "asset", "assetID": id, "color": color, "size": 5, "appraisedValue": value})
        .to_string()
}

/// Any other transient input (`{"assetID":…}` and the like).
pub fn input(v: Value) -> String {
    v.to_string()
}

/// The bytes the contract stores in the owner's org collection (and a buyer must agree to exactly).
pub fn details(id: &str, value: u64) -> String {
    format!(r#"{{"assetID":"{id}","appraisedValue":{value}}}"#)
}

/// Submits a `private` write function as org `i`'s `User1` through its own gateway.
pub async fn write(
    net: &TestNet,
    i: usize,
    function: &str,
    field: &str,
    input: &str,
) -> Result<Committed, ClientError> {
    let gw = net.gateway(i, "User1").await.unwrap();
    gw.submit_transaction(
        &net.spec.channel,
        CC,
        &args(&[function]),
        &transient(field, input),
    )
    .await
}

/// Like [`write`], failing the test with every log on error.
pub async fn must_write(net: &TestNet, i: usize, function: &str, field: &str, input: &str) -> Committed {
    write(net, i, function, field, input)
        .await
        .unwrap_or_else(|e| panic!("{function} as org {i}: {e}\n{}", net.logs()))
}

/// Evaluates a `private` query on org `i`'s peer as its `User1`.
pub async fn read(net: &TestNet, i: usize, call: &[&str]) -> Result<String, ClientError> {
    let gw = net.gateway(i, "User1").await.unwrap();
    let out = gw
        .evaluate(&net.spec.channel, CC, &args(call), &BTreeMap::new())
        .await?;
    Ok(String::from_utf8(out).unwrap())
}

/// A public `basic` write, which also makes one block.
pub async fn public_write(net: &TestNet, id: &str, color: &str) -> Committed {
    let gw = net.gateway(0, "User1").await.unwrap();
    gw.submit_transaction(
        &net.spec.channel,
        "basic",
        &args(&["CreateAsset", id, color, "1", "Synthetic Owner", "1"]),
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("public write {id}: {e}\n{}", net.logs()))
}

/// Polls `check` every 200 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `carechain peer pvtdata missing` run as the real binary against peer `i`, as its org's admin.
pub fn missing_cli(net: &TestNet, i: usize) -> String {
    let n = net.node("peer", i);
    let out = std::process::Command::new(carechain_tests::net::binary().unwrap())
        .args(["peer", "pvtdata", "missing", "--channel", &net.spec.channel])
        .arg("--address")
        .arg(n.address.to_string())
        .arg("--msp-dir")
        .arg(&n.admin_msp)
        .args(["--msp-id", &n.msp_id])
        .arg("--tls-ca")
        .arg(&n.tls_ca)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pvtdata missing failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The data directory of a node.
pub fn data_dir(net: &TestNet, kind: &str, i: usize) -> PathBuf {
    net.root.path().join("data").join(&net.node(kind, i).name)
}

/// Every block of the channel from orderer `i`'s Deliver, as org 0's `User1`.
pub async fn orderer_blocks(net: &TestNet, i: usize) -> Vec<Block> {
    let signer = net.user(0, "User1").unwrap();
    carechain::channelops::fetch_blocks(
        &net.node("orderer", i).address.to_string(),
        &net.client_tls("orderer", i).unwrap(),
        &signer,
        &net.spec.channel,
        0,
        None,
        carechain::channelops::NodeKind::Orderer,
    )
    .await
    .unwrap()
}

/// Wipes peer `i`'s ledger and joins it again from the genesis block, so it replays and re-validates
/// every block from 1 (a new peer of its org catching up).
pub async fn rejoin_from_scratch(net: &mut TestNet, i: usize) {
    net.kill9("peer", i);
    std::fs::remove_dir_all(data_dir(net, "peer", i)).unwrap();
    net.start_node("peer", i).unwrap();
    net.admin("peer", i)
        .await
        .unwrap()
        .join(net.genesis.clone(), None)
        .await
        .unwrap();
}

/// SHA-256.
pub fn sha256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

/// Blocks `0..height` of peer `peer`'s DeliverWithPrivateData, requested by `User1` of org `as_org`:
/// each block with the private write sets the peer holds and the requester's org may see.
pub async fn deliver_with_private_data(
    net: &TestNet,
    peer: usize,
    as_org: usize,
) -> Vec<carechain_proto::protos::BlockAndPrivateData> {
    use carechain_proto::protos::deliver_client::DeliverClient;
    use carechain_proto::protos::deliver_response::Type;
    let height = net.height(peer).await.unwrap();
    let ch = carechain_transport::connect(
        &net.node("peer", peer).address.to_string(),
        &net.client_tls("peer", peer).unwrap(),
    )
    .await
    .unwrap();
    let req = peer_core::txbuild::seek_envelope(
        &net.user(as_org, "User1").unwrap(),
        &net.spec.channel,
        0,
        Some(height - 1),
        false,
    );
    let mut stream = DeliverClient::new(ch)
        .max_decoding_message_size(100 * 1024 * 1024)
        .deliver_with_private_data(futures::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(msg) = stream.message().await.unwrap() {
        match msg.r#type {
            Some(Type::BlockAndPrivateData(b)) => out.push(b),
            Some(Type::Status(s)) => {
                assert_eq!(s, carechain_proto::common::Status::Success as i32);
                break;
            }
            other => panic!("unexpected deliver response {other:?}"),
        }
    }
    assert_eq!(out.len() as u64, height);
    out
}

/// Number of nodes of `kind` (`orderer` or `peer`).
pub fn count(net: &TestNet, kind: &str) -> usize {
    if kind == "orderer" {
        net.orderers.len()
    } else {
        net.peers.len()
    }
}
