//! Driving the `records` contract for the analytics tests: the consortium network (HospitalA, HospitalB,
//! Lab, Research, Insurer, so MSP ids match the collections config), synthetic patients registered at
//! hospital A, research consents with random-looking tokens, records, revocations. Every name, date and
//! value is synthetic.

use std::collections::BTreeMap;
use std::time::Duration;

use carechain_gateway::client::{ClientError, GatewayClient};
use carechain_proto::protos::TxValidationCode;
use carechain_tests::{NamedUser, NetSpec, TestNet};
use chaincode_records::fhir::{ACT_REASON, CONSENT_ACTION};
use serde_json::json;

/// The records chaincode.
pub const CC: &str = "records";
/// The channel.
pub const CH: &str = "care";
/// Org indexes in the network.
pub const A: usize = 0;
pub const RESEARCH: usize = 3;
pub const INSURER: usize = 4;
const ORGS: [&str; 5] = ["HospitalA", "HospitalB", "Lab", "Research", "Insurer"];
const POLICY: &str = "OR('HospitalAMSP.peer','HospitalBMSP.peer','LabMSP.peer')";

/// A synthetic patient of hospital A.
#[derive(Clone, Debug)]
pub struct Patient {
    /// Index (1-based) used to derive every id.
    pub n: u64,
    /// Enrolled user (role=patient) at hospital A.
    pub user: String,
    /// FHIR birthDate.
    pub birth: &'static str,
    /// FHIR gender.
    pub gender: &'static str,
    /// US ZIP code.
    pub zip: &'static str,
    /// Whether the patient consents to research.
    pub research: bool,
}

impl Patient {
    /// A synthetic patient.
    pub fn new(n: u64, birth: &'static str, gender: &'static str, zip: &'static str, research: bool) -> Self {
        Patient {
            n,
            user: format!("patient{n:04}"),
            birth,
            gender,
            zip,
            research,
        }
    }
    /// Pseudonym.
    pub fn p(&self) -> String {
        format!("{:032x}", 0xa000_0000 + self.n)
    }
    fn salt(&self) -> String {
        format!("{:064x}", 0x5a17_0000 + self.n)
    }
    fn consent(&self) -> String {
        format!("{:032x}", 0xc000_0000 + self.n)
    }
    fn token(&self) -> String {
        format!("{:032x}", 0x7e7e_0000_0000_u64 + self.n)
    }
    fn binding(&self) -> String {
        json!({ self.p(): self.salt() }).to_string()
    }
}

/// The network: five orgs, one orderer, `records` deployed as the default network deploys it, a doctor
/// of hospital A, the patients' users, an analyst at Research and an insurer.
pub async fn network(patients: &[Patient]) -> TestNet {
    let mut users = vec![
        NamedUser::client("HospitalA", "drsmith", &[("role", "doctor")]),
        NamedUser::client("Research", "analyst1", &[("role", "analyst")]),
        NamedUser::client("Insurer", "claims", &[("role", "insurer")]),
    ];
    users.extend(
        patients
            .iter()
            .map(|p| NamedUser::client("HospitalA", &p.user, &[("role", "patient")])),
    );
    let spec = NetSpec {
        orgs: ORGS.iter().map(|o| o.to_string()).collect(),
        orderers: 1,
        channel: CH.into(),
        batch_timeout: "100ms".into(),
        users,
        ..NetSpec::default()
    };
    let net = TestNet::start(spec).await.expect("network starts");
    let collections: serde_json::Value =
        serde_json::from_str(include_str!("../../../chaincode/records/collections_config.json")).unwrap();
    net.deploy_with_collections(CC, 1, Some(POLICY), collections)
        .await
        .unwrap_or_else(|e| panic!("deploy records: {e:#}\n{}", net.logs()));
    net
}

/// Endorses on hospital A's peer, submits, waits for the commit; an invalid commit is an error.
pub async fn submit(
    gw: &GatewayClient,
    args: &[String],
    transient: &[(&str, String)],
) -> Result<u64, ClientError> {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let transient: BTreeMap<String, Vec<u8>> = transient
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    let p = gw.proposal(CH, CC, &args, &transient);
    let prepared = gw.endorse(CH, &p, &["HospitalAMSP".to_string()]).await?;
    gw.submit(&prepared).await?;
    let (code, block) = gw.commit_status(CH, &prepared.tx_id).await?;
    if code != TxValidationCode::Valid {
        return Err(ClientError::Commit {
            tx_id: prepared.tx_id,
            code,
            block,
        });
    }
    Ok(block)
}

fn cert_id(net: &TestNet, user: &str) -> String {
    hex::encode(carechain_crypto::sha256(
        net.user(A, user).unwrap().certificate_der(),
    ))
}

/// Hospital A registers the patient; a research patient then consents to research with a token.
pub async fn enroll(net: &TestNet, pt: &Patient) {
    let doctor = net.gateway(A, "drsmith").await.unwrap();
    let patient = json!({"resourceType": "Patient",
        "name": [{"family": "Synthetic", "given": [format!("Patient {:04}", pt.n)]}],
        "gender": pt.gender, "birthDate": pt.birth,
        "address": [{"line": ["1 Synthetic Way"], "city": "Synthetic City", "postalCode": pt.zip}]});
    let link = json!({"certId": cert_id(net, &pt.user), "salt": pt.salt()});
    submit(
        &doctor,
        &["RegisterPatient".into(), pt.p()],
        &[("patient", patient.to_string()), ("link", link.to_string())],
    )
    .await
    .unwrap_or_else(|e| panic!("register {}: {e}", pt.user));
    if !pt.research {
        return;
    }
    let provision = json!({"type": "permit", "period": {"start": "2020-01-01", "end": "2099-12-31"},
        "actor": [{"reference": {"reference": "Organization/ResearchMSP"}}],
        "action": [{"coding": [{"system": CONSENT_ACTION, "code": "use"}]}],
        "purpose": [{"system": ACT_REASON, "code": "HRESCH"}]});
    let me = net.gateway(A, &pt.user).await.unwrap();
    submit(
        &me,
        &["GrantConsent".into(), pt.p(), pt.consent(), provision.to_string()],
        &[
            ("binding", pt.binding()),
            ("research", json!({"token": pt.token()}).to_string()),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("research consent of {}: {e}", pt.user));
}

/// Hospital A's doctor writes record number `r` of the patient in `category`; returns its block.
pub async fn record(net: &TestNet, pt: &Patient, r: u64, category: &str) -> u64 {
    let doctor = net.gateway(A, "drsmith").await.unwrap();
    let observation = json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}], "text": "Synthetic observation"},
        "effectiveDateTime": "2024-03-01T09:30:00Z", "valueString": format!("Synthetic value {r}")});
    let id = format!("{:032x}", (pt.n << 20) + r);
    let salt = format!("{:064x}", (pt.n << 24) + r);
    submit(
        &doctor,
        &["AddRecord".into(), pt.p(), id],
        &[("resource", observation.to_string()), ("salt", salt)],
    )
    .await
    .unwrap_or_else(|e| panic!("record {r} of {}: {e}", pt.user))
}

/// The patient revokes their research consent.
pub async fn revoke(net: &TestNet, pt: &Patient) -> u64 {
    let me = net.gateway(A, &pt.user).await.unwrap();
    submit(
        &me,
        &["RevokeConsent".into(), pt.consent()],
        &[("binding", pt.binding())],
    )
    .await
    .unwrap_or_else(|e| panic!("revoke of {}: {e}", pt.user))
}

/// How long a step may wait on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);
