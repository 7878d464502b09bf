//! Shared by the records integration tests: a consortium network with the healthcare orgs (so MSP ids
//! match `chaincode/records/collections_config.json`), the named users the records story needs, the
//! `records` contract deployed as `network/network.yaml` deploys it, and a submit that endorses on named
//! orgs and waits until every peer has committed the transaction. All identities are synthetic.

#![allow(dead_code)]

pub mod privacy;
pub mod private;

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_crypto::msp::SigningIdentity;
use carechain_gateway::client::{ClientError, Committed, GatewayClient};
use carechain_proto::protos::TxValidationCode;
use carechain_tests::{NamedUser, NetSpec, TestNet};

/// The records chaincode name.
pub const CC: &str = "records";
/// The channel.
pub const CH: &str = "care";
/// The chaincode endorsement policy of the default network.
pub const POLICY: &str = "OR('HospitalAMSP.peer','HospitalBMSP.peer','LabMSP.peer')";
/// How long a step may wait for commits on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// The named users of the story (org, name, OU, role).
const USERS: &[(&str, &str, &str, &str)] = &[
    ("HospitalA", "drsmith", "client", "doctor"),
    ("HospitalA", "patient0001", "client", "patient"),
    ("HospitalA", "patient0002", "client", "patient"),
    ("HospitalB", "drpatel", "client", "doctor"),
    ("HospitalB", "nurse.garcia", "client", "nurse"),
    ("HospitalB", "compliance", "client", "compliance_officer"),
    ("Lab", "labadmin", "admin", "lab_admin"),
    ("Insurer", "claims", "client", "insurer"),
    ("Research", "analyst1", "client", "analyst"),
];

/// A network of `orgs` (a subset of HospitalA, HospitalB, Lab, Insurer, Research) with `orderers` Raft
/// orderers, the story's named users, and `records` deployed with the collections whose members are all
/// on the channel.
pub async fn start(orgs: &[&str], orderers: usize) -> TestNet {
    let users = USERS
        .iter()
        .filter(|(org, ..)| orgs.contains(org))
        .map(|(org, name, ou, role)| NamedUser {
            ou: (*ou).into(),
            ..NamedUser::client(org, name, &[("role", role)])
        })
        .collect();
    let spec = NetSpec {
        orgs: orgs.iter().map(|o| o.to_string()).collect(),
        orderers,
        channel: CH.into(),
        batch_timeout: "100ms".into(),
        users,
        ..NetSpec::default()
    };
    let net = TestNet::start(spec).await.expect("network starts");
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../../../chaincode/records/collections_config.json")).unwrap();
    let msps: Vec<String> = orgs.iter().map(|o| format!("{o}MSP")).collect();
    let collections: Vec<serde_json::Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            let name = c["name"].as_str().unwrap();
            name.split('_').skip(1).all(|m| msps.iter().any(|x| x == m))
        })
        .cloned()
        .collect();
    let policy = policy_for(&msps);
    net.deploy_with_collections(CC, 1, Some(&policy), serde_json::Value::Array(collections))
        .await
        .unwrap_or_else(|e| panic!("deploy records: {e:#}\n{}", net.logs()));
    net
}

/// The default network's policy, limited to the endorsing orgs present.
fn policy_for(msps: &[String]) -> String {
    if ["HospitalAMSP", "HospitalBMSP", "LabMSP"]
        .iter()
        .all(|m| msps.iter().any(|x| x == m))
    {
        return POLICY.into();
    }
    let peers: Vec<String> = msps
        .iter()
        .filter(|m| m.starts_with("Hospital") || *m == "LabMSP")
        .map(|m| format!("'{m}.peer'"))
        .collect();
    format!("OR({})", peers.join(","))
}

/// The certificate id a contract sees for `who` (`Caller::id`: hex SHA-256 of the certificate DER).
pub fn cert_id(who: &SigningIdentity) -> String {
    hex::encode(carechain_crypto::sha256(who.certificate_der()))
}

/// Strings as chaincode arguments.
pub fn bytes(args: &[String]) -> Vec<Vec<u8>> {
    args.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Endorses on `orgs` (all the policy needs when empty), submits, waits for the commit on the client's
/// peer (an invalid commit is an error), then until every running peer holds the block, so the next step
/// may run anywhere.
pub async fn submit(
    net: &TestNet,
    gw: &GatewayClient,
    args: &[String],
    transient: &BTreeMap<String, Vec<u8>>,
    orgs: &[String],
) -> Result<Committed, ClientError> {
    let p = gw.proposal(CH, CC, &bytes(args), transient);
    let prepared = gw.endorse(CH, &p, orgs).await?;
    gw.submit(&prepared).await?;
    let (code, block) = gw.commit_status(CH, &prepared.tx_id).await?;
    if code != TxValidationCode::Valid {
        return Err(ClientError::Commit {
            tx_id: prepared.tx_id,
            code,
            block,
        });
    }
    net.wait_height(block + 1, WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", net.logs()));
    Ok(Committed {
        tx_id: prepared.tx_id,
        result: prepared.result,
        block,
    })
}

/// The chaincode status a refused call reports (`chaincode response 403, …` in the gateway's error).
pub fn chaincode_status(e: &ClientError) -> Option<i32> {
    let text = e.to_string();
    let rest = &text[text.find("chaincode response ")? + "chaincode response ".len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Stops every node (kill -9), so their stores can be read.
pub fn stop_all(net: &mut TestNet) {
    for i in 0..net.orderers.len() {
        net.kill9("orderer", i);
    }
    for i in 0..net.peers.len() {
        net.kill9("peer", i);
    }
}
