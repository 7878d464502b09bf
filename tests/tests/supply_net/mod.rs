//! Shared by the supply integration tests: the supply channel's four orgs (manufacturer, distributor, two
//! hospitals) with the `supply` contract deployed exactly as `network/network.yaml` deploys it (policy and
//! `chaincode/supply/collections_config.json`), the named users the drug story needs, the story's actors
//! mapped to them, and clients for the peers' DeliverWithPrivateData. All identities and data are synthetic.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_crypto::msp::SigningIdentity;
use carechain_gateway::client::{ClientError, Committed, GatewayClient};
use carechain_proto::protos::BlockAndPrivateData;
use carechain_proto::protos::deliver_client::DeliverClient;
use carechain_proto::protos::deliver_response::Type as DeliverType;
use carechain_tests::{NamedUser, NetSpec, TestNet, args};
use chaincode_supply::story::{Actor, Orgs, Step};
use serde_json::{Value, json};

/// The chaincode.
pub const CC: &str = "supply";
/// The channel.
pub const CH: &str = "supply";
/// How long a step may wait for every peer to commit on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// Org indexes in the test network.
pub const MANUFACTURER: usize = 0;
/// The distributor.
pub const DISTRIBUTOR: usize = 1;
/// The hospital pharmacy of the story.
pub const HOSPITAL_A: usize = 2;
/// A hospital that trades with no one in the story: the third org.
pub const HOSPITAL_B: usize = 3;

/// The story's three trading orgs.
pub fn orgs() -> Orgs {
    Orgs {
        manufacturer: "ManufacturerMSP".into(),
        distributor: "DistributorMSP".into(),
        hospital: "HospitalAMSP".into(),
    }
}

/// Which org and user play `actor`.
pub fn player(actor: Actor) -> (usize, &'static str) {
    match actor {
        Actor::ManufacturerAdmin => (MANUFACTURER, "Admin"),
        Actor::Manufacturer => (MANUFACTURER, "User1"),
        Actor::Distributor => (DISTRIBUTOR, "User1"),
        Actor::HospitalClerk => (HOSPITAL_A, "User1"),
        Actor::Pharmacist => (HOSPITAL_A, "pharmacist"),
        Actor::Certifier => (DISTRIBUTOR, "inspector"),
    }
}

/// The `supply` entry of the supply channel in `network/network.yaml`: (policy, collections JSON).
fn deployed_definition() -> (Option<String>, Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../network/network.yaml");
    let spec = carechain::launcher::spec::NetworkSpec::load(&path).expect("network.yaml");
    let cc = spec
        .channels
        .iter()
        .find(|c| c.name == CH)
        .and_then(|c| c.chaincodes.iter().find(|cc| cc.name == CC))
        .expect("supply on channel supply in network.yaml");
    let collections = match &cc.collections {
        Some(p) => {
            let text = std::fs::read_to_string(spec.dir.join(p)).expect("collections file");
            serde_json::from_str(&text).expect("collections JSON")
        }
        None => json!([]),
    };
    (cc.policy.clone(), collections)
}

/// Starts the network and deploys `supply` as the default network does.
pub async fn start() -> TestNet {
    let spec = NetSpec {
        orgs: ["Manufacturer", "Distributor", "HospitalA", "HospitalB"]
            .map(String::from)
            .to_vec(),
        channel: CH.into(),
        batch_timeout: "100ms".into(),
        absolute_max_bytes: 10 * 1024 * 1024,
        users: vec![
            NamedUser::client("HospitalA", "pharmacist", &[("role", "pharmacist")]),
            NamedUser::client("Distributor", "inspector", &[("role", "certifier")]),
        ],
        ..NetSpec::default()
    };
    let net = TestNet::start(spec).await.expect("network starts");
    let (policy, collections) = deployed_definition();
    net.deploy_with_collections(CC, 1, policy.as_deref(), collections)
        .await
        .unwrap_or_else(|e| panic!("deploy supply: {e:#}\n{}", net.logs()));
    net
}

/// Every peer's height.
pub async fn heights(net: &TestNet) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..net.peers.len() {
        out.push(net.height(i).await.expect("height"));
    }
    out
}

/// Submits, then waits until every peer has committed the transaction's block.
pub async fn submit(
    net: &TestNet,
    gw: &GatewayClient,
    call: &[&str],
    transient: &BTreeMap<String, Vec<u8>>,
) -> Result<Committed, ClientError> {
    let c = gw.submit_transaction(CH, CC, &args(call), transient).await?;
    net.wait_height(c.block + 1, WAIT)
        .await
        .unwrap_or_else(|e| panic!("peers did not commit block {}: {e:#}", c.block));
    Ok(c)
}

/// Evaluates and parses the JSON result.
pub async fn query(gw: &GatewayClient, call: &[&str]) -> Result<Value, ClientError> {
    let bytes = gw.evaluate(CH, CC, &args(call), &BTreeMap::new()).await?;
    Ok(serde_json::from_slice(&bytes).expect("JSON result"))
}

/// Asserts a refusal whose text names every fragment; returns the text.
pub fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>, fragments: &[&str], what: &str) -> String {
    let err = match result {
        Ok(v) => panic!("{what}: expected a refusal, got {v:?}"),
        Err(e) => e.to_string(),
    };
    eprintln!("{what}: refused: {err}");
    for f in fragments {
        assert!(err.contains(f), "{what}: the error does not say {f:?}: {err}");
    }
    err
}

/// What one story step produced.
pub enum Outcome {
    /// A committed transaction (result JSON, block).
    Committed(Value, u64),
    /// A query result.
    Answer(Value),
    /// A refusal (its text).
    Refused(String),
}

/// Runs one story step as its actor; a refused step must change no peer's height.
pub async fn play(net: &TestNet, step: &Step) -> Outcome {
    let (org, user) = player(step.actor);
    let gw = net.gateway(org, user).await.expect("gateway");
    let call: Vec<&str> = step.args.iter().map(String::as_str).collect();
    let transient: BTreeMap<String, Vec<u8>> = step.transient.iter().cloned().collect();
    if !step.submit {
        let bytes = gw.evaluate(CH, CC, &args(&call), &transient).await;
        return match bytes {
            Ok(b) => Outcome::Answer(serde_json::from_slice(&b).expect("JSON answer")),
            Err(e) => Outcome::Refused(e.to_string()),
        };
    }
    let before = heights(net).await;
    match submit(net, &gw, &call, &transient).await {
        Ok(c) => Outcome::Committed(serde_json::from_slice(&c.result).expect("JSON result"), c.block),
        Err(e) => {
            assert_eq!(
                heights(net).await,
                before,
                "{}: a refusal moved a peer",
                step.title
            );
            Outcome::Refused(e.to_string())
        }
    }
}

/// Block `number` with the private data `signer`'s org may see, from peer `peer`'s
/// DeliverWithPrivateData service.
pub async fn block_with_private_data(
    net: &TestNet,
    peer: usize,
    signer: &SigningIdentity,
    number: u64,
) -> BlockAndPrivateData {
    let ch = carechain_transport::connect(
        &net.peers[peer].address.to_string(),
        &net.client_tls("peer", peer).expect("tls"),
    )
    .await
    .expect("connect");
    let mut client = DeliverClient::new(ch).max_decoding_message_size(100 * 1024 * 1024);
    let req = peer_core::txbuild::seek_envelope(signer, CH, number, Some(number), false);
    let mut stream = client
        .deliver_with_private_data(futures::stream::iter(vec![req]))
        .await
        .expect("deliver")
        .into_inner();
    let mut found = None;
    while let Some(msg) = stream.message().await.expect("deliver stream") {
        match msg.r#type {
            Some(DeliverType::BlockAndPrivateData(b)) => found = Some(b),
            Some(DeliverType::Status(_)) => break,
            other => panic!("unexpected deliver response {other:?}"),
        }
    }
    found.expect("the block")
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}
