//! The healthcare records contract end to end (issue 8) on a multi-process network: three Raft
//! orderers and the peers of HospitalA, HospitalB, Lab, Insurer and Research, with `records` deployed
//! as the default network deploys it (policy OR(HospitalA, HospitalB, Lab peers), the four PHI
//! collections). `chaincode_records::story` runs through the gateways as the named users it names:
//!
//! - a doctor of hospital B without consent is denied and audited; after the patient's grant, allowed,
//!   audited and able to read the record (an evaluate on hospital A's peer); after revocation, and
//!   under a consent whose period ended, denied;
//! - hospital A's admin, a network admin (Insurer's admin), an insurer and an analyst are denied;
//! - the patient's access list shows every attempt in order, denied ones included, each by its
//!   requester's certificate id;
//! - a lab report stays preliminary with the lab's signature alone, a countersignature endorsed by the
//!   hospital's peer only commits as ENDORSEMENT_POLICY_FAILURE, and both signatures make it final;
//! - erasure: afterwards neither member peer (hospital A, the lab) holds the patient's private data
//!   (served write sets while running, private state and stored write sets in the stopped peers' ledgers),
//!   while a control patient's data is still there; the public ledger keeps the erased registry entry,
//!   the record hashes (whose salts are gone) and the audit entries;
//! - PHI canaries never appear in a block, a submit's chaincode response, or the stores of the peers that
//!   are members of none of the patient's collections (hospital B, Insurer, Research) and of the
//!   orderers, nor in any node's log; the member peers' databases, read entry by entry, no longer hold
//!   it (`carechain_tests::scan`).
//!
//! Every name and value is synthetic.

#![allow(clippy::unwrap_used)]

mod records_net;

use std::collections::BTreeMap;

use carechain_gateway::client::{ClientError, Committed};
use carechain_proto::protos::TxValidationCode;
use carechain_tests::TestNet;
use chaincode_records::keys;
use chaincode_records::story::{self, Actor, Expect, Orgs, People, Secrets, Step};
use peer_core::summary::BlockSummary;
use records_net::private::{PrivateStore, served, wait_served};
use records_net::{CC, CH, bytes, cert_id, chaincode_status, privacy, submit};
use serde_json::{Value, json};

const ORGS: [&str; 5] = ["HospitalA", "HospitalB", "Lab", "Insurer", "Research"];
const A: usize = 0;
const B: usize = 1;
const LAB: usize = 2;
const INSURER: usize = 3;
const RESEARCH: usize = 4;
const SEED: &str = "synthetic-records-e2e";

/// A second patient of hospital A, never erased: the control that the probes do see private data.
const CONTROL_P: &str = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c002";
const CONTROL_R: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c002";
const CONTROL_SALT: &str = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c002";
const CONTROL_NAME: &str = "Synthetic Control 0002";
const CONTROL_VALUE: &str = "Synthetic control value 0002";

fn msp(i: usize) -> String {
    format!("{}MSP", ORGS[i])
}

/// The enrolled user behind each actor of the story: (org index, user name).
fn who(actor: Actor) -> (usize, &'static str) {
    match actor {
        Actor::DoctorA => (A, "drsmith"),
        Actor::DoctorB => (B, "drpatel"),
        Actor::NurseB => (B, "nurse.garcia"),
        Actor::Patient => (A, "patient0001"),
        Actor::HospitalAAdmin => (A, "Admin"),
        Actor::NetworkAdmin => (INSURER, "Admin"),
        Actor::Insurer => (INSURER, "claims"),
        Actor::Analyst => (RESEARCH, "analyst1"),
        Actor::LabAdmin => (LAB, "labadmin"),
        Actor::ComplianceB => (B, "compliance"),
    }
}

/// The story patient's PHI, and the secrets that must never reach the ledger and must die with the
/// patient's data (binding salt, record salts).
fn canaries(s: &Secrets) -> Vec<String> {
    let mut c: Vec<String> = [
        "Patient 0001",
        "SYN-MRN-0001",
        "1929-03-14",
        "1 Synthetic Way",
        "Synthetic City",
        "Synthetic glucose",
        "5.4 mmol/L",
        "Synthetic heart rate",
        "Synthetic CBC",
        "Synthetic conclusion",
        "2024-03-01T09:30",
        "2024-03-02T08:00",
    ]
    .map(String::from)
    .to_vec();
    c.push(s.binding_salt.clone());
    c.extend(s.salts.iter().cloned());
    c
}

/// One run of the story: what each step answered and which transactions committed.
struct Run<'a> {
    net: &'a TestNet,
    steps: Vec<Step>,
    vars: BTreeMap<String, String>,
    answers: Vec<Value>,
    committed: BTreeMap<usize, Committed>,
}

impl Run<'_> {
    /// Runs step `i` as its actor and checks the promised outcome; returns the JSON answer (null for a
    /// refusal).
    async fn step(&mut self, i: usize) -> Value {
        let step = self.steps[i].clone();
        let (org, user) = who(step.actor);
        let gw = self.net.gateway(org, user).await.unwrap();
        let args = story::fill(&step.args, &self.vars);
        let transient: BTreeMap<String, Vec<u8>> = step.transient.iter().cloned().collect();
        let result = if step.submit {
            submit(self.net, &gw, &args, &transient, &step.orgs)
                .await
                .map(|c| {
                    let r = c.result.clone();
                    self.committed.insert(i, c);
                    r
                })
        } else {
            gw.evaluate_on(CH, CC, &bytes(&args), &transient, &step.orgs)
                .await
        };
        let answer = self.outcome(&step, result);
        if let Some((var, value)) = step.captured(answer.to_string().as_bytes()) {
            self.vars.insert(var, value);
        }
        answer
    }

    fn outcome(&self, step: &Step, result: Result<Vec<u8>, ClientError>) -> Value {
        let title = &step.title;
        match (step.expect, result) {
            (Expect::Ok, Ok(payload)) => serde_json::from_slice(&payload).unwrap(),
            (Expect::Denied, Ok(payload)) => {
                let v: Value = serde_json::from_slice(&payload).unwrap();
                assert_eq!(v["decision"], "deny", "{title}: {v}");
                assert_eq!(v["outcome"], "8", "{title}: {v}");
                assert!(v.get("grant").is_none(), "{title}: no grant on a denial");
                v
            }
            (Expect::Refused(status), Err(e)) => {
                assert_eq!(chaincode_status(&e), Some(status), "{title}: {e}");
                Value::Null
            }
            (expect, result) => panic!(
                "{title}: expected {expect:?}, got {result:?}\n{}",
                self.net.logs()
            ),
        }
    }

    fn index(&self, title_start: &str) -> usize {
        self.steps
            .iter()
            .position(|s| s.title.starts_with(title_start))
            .unwrap_or_else(|| panic!("no story step {title_start:?}"))
    }

    fn answer(&self, title_start: &str) -> &Value {
        &self.answers[self.index(title_start)]
    }

    fn cert(&self, actor: Actor) -> String {
        let (org, user) = who(actor);
        cert_id(&self.net.user(org, user).unwrap())
    }
}

/// Hospital A registers the control patient with one record (endorsed on A's peer).
async fn register_control(net: &TestNet) {
    let doctor = net.gateway(A, "drsmith").await.unwrap();
    let patient = json!({"resourceType": "Patient", "name": [{"text": CONTROL_NAME}], "gender": "male",
        "birthDate": "1950-07-04"});
    let link = json!({"certId": cert_id(&net.user(A, "patient0002").unwrap()), "salt": CONTROL_SALT});
    let transient = BTreeMap::from([
        ("patient".to_string(), patient.to_string().into_bytes()),
        ("link".to_string(), link.to_string().into_bytes()),
    ]);
    let at_a = [msp(A)];
    let args = ["RegisterPatient", CONTROL_P].map(String::from);
    submit(net, &doctor, &args, &transient, &at_a).await.unwrap();
    let mut record = story::synthetic_observation("laboratory", "2339-0", CONTROL_VALUE);
    record["effectiveDateTime"] = json!("2023-05-05T10:00:00Z");
    let transient = BTreeMap::from([
        ("resource".to_string(), record.to_string().into_bytes()),
        ("salt".to_string(), CONTROL_SALT.as_bytes().to_vec()),
    ]);
    let args = ["AddRecord", CONTROL_P, CONTROL_R].map(String::from);
    submit(net, &doctor, &args, &transient, &at_a).await.unwrap();
}

/// The lab's signature alone, then a countersignature endorsed by hospital A's peer only: the report's
/// key policy needs both orgs' peers, so validation rejects it and the report stays preliminary.
async fn countersign_on_one_org_is_invalid(run: &Run<'_>, report: &str) {
    let admin = run.net.gateway(A, "Admin").await.unwrap();
    let hash = &run.vars["reportHash"];
    let args = ["SignLabReport", report, hash].map(String::from);
    let err = submit(run.net, &admin, &args, &BTreeMap::new(), &[msp(A)])
        .await
        .unwrap_err();
    let ClientError::Commit { code, .. } = err else {
        panic!("expected an invalid commit, got {err}");
    };
    assert_eq!(code, TxValidationCode::EndorsementPolicyFailure);
    let info = admin
        .evaluate(
            CH,
            CC,
            &bytes(&["RecordInfo".into(), report.into()]),
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["labReport"]["status"], "preliminary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_story_on_a_multi_process_network() {
    let mut net = records_net::start(&ORGS, 3).await;
    let orgs = Orgs {
        hospital_a: msp(A),
        hospital_b: msp(B),
        lab: msp(LAB),
        research: msp(RESEARCH),
    };
    let people = People {
        patient: cert_id(&net.user(A, "patient0001").unwrap()),
        doctor_b: cert_id(&net.user(B, "drpatel").unwrap()),
    };
    let secrets = Secrets::from_seed(SEED);
    let mut run = Run {
        net: &net,
        steps: story::records_story(&orgs, &people, SEED),
        vars: BTreeMap::new(),
        answers: Vec::new(),
        committed: BTreeMap::new(),
    };
    register_control(&net).await;
    let lab_report = secrets.records[2].clone();
    for i in 0..run.steps.len() {
        let title = run.steps[i].title.clone();
        if title.starts_with("Hospital A's admin countersigns") {
            countersign_on_one_org_is_invalid(&run, &lab_report).await;
        }
        if title.starts_with("The patient erases") {
            // Before erasure both member peers serve the patient's private data (the probe works).
            wait_served(&net, A, &["Synthetic glucose", "Synthetic CBC", CONTROL_VALUE]).await;
            wait_served(&net, LAB, &["Synthetic CBC"]).await;
        }
        let answer = run.step(i).await;
        run.answers.push(answer);
    }
    check_events(&run).await;
    check_access_decisions(&run);
    check_access_list(&run);
    check_lab_report(&run);
    check_erasure(&run, &secrets).await;
    let responses: Vec<(String, Vec<u8>)> = run
        .committed
        .iter()
        .map(|(i, c)| (run.steps[*i].title.clone(), c.result.clone()))
        .collect();
    drop(run);

    let phi = canaries(&secrets);
    let control = [CONTROL_NAME, CONTROL_VALUE, CONTROL_SALT].map(String::from);
    let all = [phi.as_slice(), &control].concat();
    privacy::ledger_is_clean(&net, &responses, &all, &secrets.pseudonym).await;
    members_serve_no_phi(&net, &phi).await;
    records_net::stop_all(&mut net);
    // Hospital B is a member of none of the patient's collections (records_HospitalAMSP and
    // labreports_LabMSP_HospitalAMSP); Insurer and Research of no PHI collection at all.
    privacy::stores_are_clean(&net, &[B, INSURER, RESEARCH], &all);
    privacy::databases_hold(&net, A, &phi, &control);
    privacy::databases_hold(&net, LAB, &phi, &[]);
    members_hold_no_keys(&net, &secrets, &phi);
}

/// Every submitted step committed with the event the story promises.
async fn check_events(run: &Run<'_>) {
    let mut events: BTreeMap<String, String> = BTreeMap::new();
    for b in run.net.blocks(A).await.unwrap() {
        for tx in BlockSummary::from_block(&b).txs {
            if let Some(e) = tx.event {
                events.insert(tx.tx_id, e.event_name);
            }
        }
    }
    for (i, c) in &run.committed {
        let step = &run.steps[*i];
        let name = events.get(&c.tx_id).map(String::as_str);
        assert!(name.is_some(), "{}: committed with an event", step.title);
        if let Some(want) = &step.event {
            assert_eq!(name, Some(want.as_str()), "{}", step.title);
        }
        if step.args[0] == "RequestAccess" {
            assert_eq!(name, Some("AccessAudited"), "{}: audited", step.title);
        }
    }
}

/// Denied without consent, allowed with it (and the record readable), denied after revocation and under
/// an ended consent; administrators and non-clinical users denied.
fn check_access_decisions(run: &Run<'_>) {
    let allowed = run.answer("The doctor asks again");
    assert_eq!(allowed["decision"], "permit", "{allowed}");
    assert_eq!(allowed["outcome"], "0");
    assert!(allowed["grant"].is_string());
    let read = run.answer("The doctor reads the record");
    assert_eq!(read["resource"]["valueString"], "Synthetic glucose 5.4 mmol/L");
    for denied in [
        "Hospital B's doctor asks without consent",
        "Hospital A's admin asks",
        "A network admin asks",
        "An insurer asks",
        "An analyst asks",
        "Hospital B's nurse asks under the ended consent",
        "The doctor asks after revocation",
    ] {
        let i = run.index(denied);
        assert!(
            run.committed.contains_key(&i),
            "{denied}: a committed transaction"
        );
        assert_eq!(run.answers[i]["decision"], "deny", "{denied}");
    }
    let revoked = run.answer("The doctor asks after revocation");
    assert_ne!(revoked["reason"], allowed["reason"]);
}

/// The patient's list holds every request so far, in order, denied ones included, each by its requester.
fn check_access_list(run: &Run<'_>) {
    let list_at = run.index("The patient lists every access");
    let accesses = run.answers[list_at]["accesses"].as_array().unwrap().clone();
    let requests: Vec<usize> = (0..list_at)
        .filter(|&i| run.steps[i].args[0] == "RequestAccess")
        .collect();
    assert_eq!(accesses.len(), requests.len(), "every attempt is listed");
    for (entry, &i) in accesses.iter().zip(&requests) {
        let step = &run.steps[i];
        assert_eq!(entry["id"], run.answers[i]["audit"], "{}", step.title);
        let outcome = if step.expect == Expect::Ok { "0" } else { "8" };
        assert_eq!(entry["outcome"], outcome, "{}", step.title);
        let agent = entry["agent"][0].to_string();
        assert!(
            agent.contains(&run.cert(step.actor)),
            "{}: the requester's certificate id in {agent}",
            step.title
        );
    }
    let by_org = run.answer("Hospital B's compliance officer")["accesses"]
        .as_array()
        .unwrap()
        .len();
    let b_requests = requests
        .iter()
        .filter(|&&i| who(run.steps[i].actor).0 == B)
        .count();
    assert_eq!(by_org, b_requests, "hospital B's staff's requests");
}

/// One signature leaves the report preliminary; both make it final.
fn check_lab_report(run: &Run<'_>) {
    let one = &run.answer("One signature")["labReport"];
    assert_eq!(one["status"], "preliminary");
    assert_eq!(one["provenance"]["signature"].as_array().unwrap().len(), 1);
    let both = &run.answer("Both signatures")["labReport"];
    assert_eq!(both["status"], "final");
    assert_eq!(both["provenance"]["signature"].as_array().unwrap().len(), 2);
    assert_eq!(both["signedHash"], one["signedHash"]);
}

/// After erasure: the registry entry is erased, hashes and audit entries remain, and no member peer
/// holds the patient's private data, while the control patient's data is untouched.
async fn check_erasure(run: &Run<'_>, secrets: &Secrets) {
    let net = run.net;
    let p = &secrets.pseudonym;
    let erased = run.answer("What remains");
    assert_eq!(erased["status"], "erased");
    assert_eq!(
        erased["controllers"],
        json!([]),
        "the certificate commitments are gone"
    );
    let none = BTreeMap::new();
    let gw = net.gateway(A, "drsmith").await.unwrap();
    let info = gw
        .evaluate(
            CH,
            CC,
            &bytes(&["RecordInfo".into(), secrets.records[0].clone()]),
            &none,
        )
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["patient"], p.as_str());
    assert_eq!(info["hash"].as_str().unwrap().len(), 64, "the salted hash stays");
    let compliance = net.gateway(B, "compliance").await.unwrap();
    let list = compliance
        .evaluate(CH, CC, &bytes(&["ListAccessesByOrg".into()]), &none)
        .await
        .unwrap();
    let list: Value = serde_json::from_slice(&list).unwrap();
    let before = run.answer("Hospital B's compliance officer")["accesses"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        list["accesses"].as_array().unwrap().len(),
        before,
        "the audit entries stay (the refused request after erasure wrote nothing)"
    );
    let patient = net.gateway(A, "patient0001").await.unwrap();
    let binding = json!({ p.clone(): secrets.binding_salt }).to_string();
    let err = patient
        .evaluate(
            CH,
            CC,
            &bytes(&["ListAccesses".into(), p.clone()]),
            &BTreeMap::from([("binding".to_string(), binding.into_bytes())]),
        )
        .await
        .unwrap_err();
    assert!(chaincode_status(&err).is_some_and(|s| s >= 400), "{err}");
}

/// Neither member peer serves the patient's private write sets any more (hospital A still serves the
/// control patient's).
async fn members_serve_no_phi(net: &TestNet, phi: &[String]) {
    for (i, control) in [(A, true), (LAB, false)] {
        let sets = served(net, i, "User1").await;
        for c in phi {
            assert!(
                !sets.iter().any(|s| records_net::private::holds(s, c)),
                "peer {i} still serves {c}"
            );
        }
        let has_control = sets.iter().any(|s| records_net::private::holds(s, CONTROL_VALUE));
        assert_eq!(has_control, control, "peer {i}: the control patient's record");
    }
}

/// With the network stopped, neither member ledger holds the patient's private keys or any private value
/// or stored write set carrying their PHI or salts; hospital A's still holds the control patient's.
fn members_hold_no_keys(net: &TestNet, secrets: &Secrets, phi: &[String]) {
    let records_a = keys::records_collection(&msp(A));
    let lab_a = keys::lab_collection(&msp(LAB), &msp(A));
    let p = &secrets.pseudonym;
    let gone = [
        (records_a.clone(), keys::patient(p).unwrap()),
        (records_a.clone(), keys::research(p).unwrap()),
        (records_a.clone(), keys::record(&secrets.records[0]).unwrap()),
        (records_a.clone(), keys::record(&secrets.records[1]).unwrap()),
        (lab_a.clone(), keys::record(&secrets.records[2]).unwrap()),
    ];
    for (i, control) in [(A, true), (LAB, false)] {
        let store = PrivateStore::read(net, i, &[records_a.clone(), lab_a.clone()]);
        for (coll, key) in &gone {
            assert!(!store.has_key(coll, key), "peer {i} still holds {coll} {key:?}");
        }
        for c in phi {
            assert!(!store.holds(c), "peer {i}'s ledger still holds {c}");
        }
        let kept = store.has_key(&records_a, &keys::patient(CONTROL_P).unwrap())
            && store.holds(CONTROL_NAME)
            && store.holds(CONTROL_VALUE);
        assert_eq!(kept, control, "peer {i}: the control patient's data");
    }
}
