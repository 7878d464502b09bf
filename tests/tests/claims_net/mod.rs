//! Shared by the claims integration tests: a care network of two hospitals and two insurers with the
//! `claims` contract deployed exactly as `network/network.yaml` deploys it (its endorsement policy and
//! `chaincode/claims/collections_config.json`), the named users the stories need, synthetic FHIR claim
//! documents, and a submit that waits until every peer has committed. `InsurerB` is on the channel but
//! shares no collection with anyone: it plays "another insurer". All identities and data are synthetic.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_gateway::client::{ClientError, Committed, GatewayClient};
use carechain_tests::{NamedUser, NetSpec, TestNet, args};
use serde_json::{Value, json};

/// The chaincode.
pub const CC: &str = "claims";
/// The channel.
pub const CH: &str = "care";
/// How long a step may wait for every peer to commit on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// Org indexes in the test network.
pub const HOSPITAL_A: usize = 0;
/// HospitalB.
pub const HOSPITAL_B: usize = 1;
/// The insurer of the default network.
pub const INSURER: usize = 2;
/// Another insurer: on the channel, in no claims collection.
pub const INSURER_B: usize = 3;

/// MSP ids.
pub const HOSPITAL_A_MSP: &str = "HospitalAMSP";
/// MSP id of HospitalB.
pub const HOSPITAL_B_MSP: &str = "HospitalBMSP";
/// MSP id of the insurer.
pub const INSURER_MSP: &str = "InsurerMSP";

/// Named users: (org, name, role attribute).
const USERS: &[(&str, &str, &str)] = &[
    ("HospitalA", "billing", "billing"),
    ("HospitalA", "drsmith", "doctor"),
    // HospitalA's CA can put any attribute in its own users' certificates; it must not make them an
    // insurer of anyone else's claims.
    ("HospitalA", "rogue", "claims_adjuster"),
    ("HospitalB", "billing", "billing"),
    ("Insurer", "adjuster", "claims_adjuster"),
    ("Insurer", "claims", "insurer"),
    ("InsurerB", "adjuster", "claims_adjuster"),
];

/// The `claims` entry of `channel` in `network/network.yaml`: (policy, collections JSON).
pub fn deployed_definition(channel: &str, chaincode: &str) -> (Option<String>, Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../network/network.yaml");
    let spec = carechain::launcher::spec::NetworkSpec::load(&path).expect("network.yaml");
    let ch = spec
        .channels
        .iter()
        .find(|c| c.name == channel)
        .unwrap_or_else(|| panic!("channel {channel} in network.yaml"));
    let cc = ch
        .chaincodes
        .iter()
        .find(|c| c.name == chaincode)
        .unwrap_or_else(|| panic!("{chaincode} on channel {channel} in network.yaml"));
    let collections = match &cc.collections {
        Some(p) => {
            let text = std::fs::read_to_string(spec.dir.join(p)).expect("collections file");
            serde_json::from_str(&text).expect("collections JSON")
        }
        None => json!([]),
    };
    (cc.policy.clone(), collections)
}

/// Starts the network and deploys `claims` as the default network does.
pub async fn start() -> TestNet {
    let spec = NetSpec {
        orgs: ["HospitalA", "HospitalB", "Insurer", "InsurerB"]
            .map(String::from)
            .to_vec(),
        channel: CH.into(),
        batch_timeout: "100ms".into(),
        max_message_count: 200,
        users: USERS
            .iter()
            .map(|(org, name, role)| NamedUser::client(org, name, &[("role", role)]))
            .collect(),
        ..NetSpec::default()
    };
    let net = TestNet::start(spec).await.expect("network starts");
    let (policy, collections) = deployed_definition(CH, CC);
    net.deploy_with_collections(CC, 1, policy.as_deref(), collections)
        .await
        .unwrap_or_else(|e| panic!("deploy claims: {e:#}\n{}", net.logs()));
    net
}

/// A transient map with one JSON field.
pub fn transient(name: &str, value: &Value) -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([(name.to_string(), value.to_string().into_bytes())])
}

/// Submits, then waits until every peer has committed the transaction's block, so the next step may ask
/// any peer.
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

/// Asserts a refusal whose text (message and error details) names every fragment; returns the text.
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

/// One billed item: (sequence, code, date, quantity, unit price, net); codes are synthetic CPT-style.
pub fn item(seq: u32, code: &str, date: &str, quantity: u32, unit: &str, net: &str) -> Value {
    json!({
        "sequence": seq,
        "diagnosisSequence": [1],
        "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
        "servicedDate": date,
        "quantity": {"value": quantity},
        "unitPrice": {"value": unit, "currency": "USD"},
        "net": {"value": net, "currency": "USD"}
    })
}

/// Claim details: a synthetic diagnosis, `items`, `total` in USD.
pub fn details(items: Vec<Value>, total: &str) -> Value {
    json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J18.9"}]}}],
        "item": items,
        "total": {"value": total, "currency": "USD"}
    })
}

/// A one-item claim for `code` on `date`, 100.00 USD.
pub fn simple_claim(code: &str, date: &str) -> Value {
    details(vec![item(1, code, date, 1, "100.00", "100.00")], "100.00")
}

/// The insurer's coverage id for a patient.
pub fn coverage_id(patient: &str) -> String {
    format!("COV-{patient}")
}

/// Registers coverage for `patient` for 2024 as the insurer's claims user.
pub async fn cover(net: &TestNet, insurer: usize, patient: &str) {
    let gw = net.gateway(insurer, "claims").await.unwrap();
    submit(
        net,
        &gw,
        &[
            "RegisterCoverage",
            &coverage_id(patient),
            patient,
            "2024-01-01",
            "2024-12-31",
        ],
        &BTreeMap::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("register coverage for {patient}: {e}"));
}

/// `SubmitClaim` arguments billing the insurer's coverage of `patient`.
pub fn submit_args(id: &str, patient: &str) -> Vec<String> {
    ["SubmitClaim", id, INSURER_MSP, &coverage_id(patient), patient]
        .map(String::from)
        .to_vec()
}
