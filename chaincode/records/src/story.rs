//! The healthcare records story as data, for `carechain demo` and for tests.
//!
//! The demo runs these steps through real gateways (each submit is one proposal: endorse → order → validate;
//! each evaluate one query); the crate's tests run the same list against `MockContext`, so script and contract
//! cannot drift apart. Every name, date and value is synthetic ("Synthetic Patient 0001"). Random values a
//! real client would draw (pseudonym, ids, salts, research token) are derived from a `seed` the demo passes
//! (e.g. the current time), so the story can run again on the same channel.
//!
//! Some arguments are only known at run time (the grant id `RequestAccess` returns, the hash a lab report
//! got): a step may capture (`Step::capture`) a field of its JSON response into a variable, and later arguments
//! mention it as `{name}`; [`fill`] substitutes them.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::ids::hex;

/// Who performs a step; the demo maps each to an enrolled user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// `drsmith@hospitala`: client of hospital A, `role=doctor`.
    DoctorA,
    /// `drpatel@hospitalb`: client of hospital B, `role=doctor`.
    DoctorB,
    /// `nurse.garcia@hospitalb`: client of hospital B, `role=nurse`.
    NurseB,
    /// `patient0001@hospitala`: client of hospital A, `role=patient`.
    Patient,
    /// `Admin@hospitala`: NodeOU admin of hospital A.
    HospitalAAdmin,
    /// A network administrator: NodeOU admin of an org with no clinical role (`Admin@insurer`).
    NetworkAdmin,
    /// An insurer user, `role=insurer` (`claims@insurer`).
    Insurer,
    /// A research analyst, `role=analyst` (`analyst1@research`).
    Analyst,
    /// `labadmin@lab`: NodeOU admin of the lab.
    LabAdmin,
    /// `compliance@hospitalb`: `role=compliance_officer` of hospital B.
    ComplianceB,
}

/// What a step should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Success (status 200).
    Ok,
    /// A submitted `RequestAccess` that succeeds (status 200) with `"decision": "deny"`: audited, outcome 8.
    Denied,
    /// Refusal with this status (403, 404, 409…).
    Refused(i32),
}

/// One step of the story.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What the step shows.
    pub title: String,
    /// Who does it.
    pub actor: Actor,
    /// `true`: submit a transaction; `false`: evaluate.
    pub submit: bool,
    /// Fabric args, function name first; `{name}` marks a captured variable.
    pub args: Vec<String>,
    /// Transient input (name, bytes).
    pub transient: Vec<(String, Vec<u8>)>,
    /// Orgs whose peers should endorse (submit) or answer (evaluate); empty = any.
    pub orgs: Vec<String>,
    /// `(variable, response field)` to remember from the JSON response.
    pub capture: Option<(String, String)>,
    /// The chaincode event a successful submit sets.
    pub event: Option<String>,
    /// Expected outcome.
    pub expect: Expect,
}

impl Step {
    /// The variable this step's response defines, if it captures one and the field is a string.
    pub fn captured(&self, payload: &[u8]) -> Option<(String, String)> {
        let (var, field) = self.capture.as_ref()?;
        let value: Value = serde_json::from_slice(payload).ok()?;
        Some((var.clone(), value.get(field)?.as_str()?.to_string()))
    }
}

/// Replaces every `{name}` in `args` with the captured value.
pub fn fill(args: &[String], vars: &BTreeMap<String, String>) -> Vec<String> {
    args.iter()
        .map(|arg| {
            vars.iter()
                .fold(arg.clone(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v))
        })
        .collect()
}

/// The consortium's MSP ids.
#[derive(Debug, Clone)]
pub struct Orgs {
    /// The patient's hospital.
    pub hospital_a: String,
    /// The other hospital.
    pub hospital_b: String,
    /// The lab.
    pub lab: String,
    /// The research org (recipient of research consent).
    pub research: String,
}

/// Certificate ids (`Caller::id`, as the peer derives it) the story needs.
#[derive(Debug, Clone)]
pub struct People {
    /// The patient's certificate id (bound at registration).
    pub patient: String,
    /// Hospital B's doctor (named in the consent).
    pub doctor_b: String,
}

/// The client-side random values, derived from the seed.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// Patient pseudonym.
    pub pseudonym: String,
    /// Binding salt handed to the patient.
    pub binding_salt: String,
    /// Record ids: the lab result, the vital signs, the lab report.
    pub records: [String; 3],
    /// Consent ids: treatment (doctor B), expired (hospital B), research.
    pub consents: [String; 3],
    /// Record salts.
    pub salts: [String; 3],
    /// Research token.
    pub token: String,
}

fn derived(seed: &str, label: &str, len: usize) -> String {
    let digest = Sha256::new()
        .chain_update(seed.as_bytes())
        .chain_update([0])
        .chain_update(label.as_bytes())
        .finalize();
    let full = hex(&digest);
    full.get(..len).unwrap_or(&full).to_string()
}

impl Secrets {
    /// Values for `seed`.
    pub fn from_seed(seed: &str) -> Secrets {
        let three = |label: &str, len: usize| [1, 2, 3].map(|n| derived(seed, &format!("{label}{n}"), len));
        Secrets {
            pseudonym: derived(seed, "pseudonym", 32),
            binding_salt: derived(seed, "binding", 64),
            records: three("record", 32),
            consents: three("consent", 32),
            salts: three("salt", 64),
            token: derived(seed, "token", 32),
        }
    }
}

/// Synthetic FHIR Patient: aged 90+ at the records' dates, ZIP in a restricted three-digit area.
pub fn synthetic_patient() -> Value {
    json!({"resourceType": "Patient", "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}]},
        "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "value": "SYN-MRN-0001"}],
        "name": [{"family": "Synthetic", "given": ["Patient 0001"]}], "gender": "female", "birthDate": "1929-03-14",
        "address": [{"line": ["1 Synthetic Way"], "city": "Synthetic City", "postalCode": "03601"}]})
}

/// A synthetic Observation in `category` with a value.
pub fn synthetic_observation(category: &str, loinc: &str, value: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}], "text": "Synthetic observation"},
        "effectiveDateTime": "2024-03-01T09:30:00Z", "valueString": value})
}

/// A synthetic DiagnosticReport (lab), as the lab submits it.
pub fn synthetic_lab_report() -> Value {
    json!({"resourceType": "DiagnosticReport", "status": "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}], "text": "Synthetic CBC panel"},
        "effectiveDateTime": "2024-03-02T08:00:00Z", "conclusion": "Synthetic conclusion: within synthetic limits"})
}

struct Builder<'a> {
    steps: Vec<Step>,
    orgs: &'a Orgs,
    people: &'a People,
    s: Secrets,
    binding: String,
}

impl Builder<'_> {
    fn push(&mut self, actor: Actor, title: &str, args: &[&str], submit: bool, expect: Expect) -> &mut Step {
        let endorse = submit || args.first() == Some(&"ReadRecord");
        let orgs = if endorse {
            vec![self.orgs.hospital_a.clone()]
        } else {
            Vec::new()
        };
        self.steps.push(Step {
            title: title.into(),
            actor,
            submit,
            args: args.iter().map(|a| a.to_string()).collect(),
            transient: Vec::new(),
            orgs,
            capture: None,
            event: None,
            expect,
        });
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }

    fn submit(&mut self, actor: Actor, title: &str, args: &[&str], expect: Expect) -> &mut Step {
        self.push(actor, title, args, true, expect)
    }

    fn query(&mut self, actor: Actor, title: &str, args: &[&str], expect: Expect) -> &mut Step {
        self.push(actor, title, args, false, expect)
    }

    /// A patient step carrying the binding proof.
    fn patient(&mut self, title: &str, args: &[&str], submit: bool) -> &mut Step {
        let binding = self.binding.clone();
        self.push(Actor::Patient, title, args, submit, Expect::Ok)
            .with("binding", binding)
    }
}

impl Step {
    fn with(&mut self, name: &str, value: impl Into<Vec<u8>>) -> &mut Step {
        self.transient.push((name.into(), value.into()));
        self
    }
    fn event(&mut self, name: &str) -> &mut Step {
        self.event = Some(name.into());
        self
    }
    fn capture(&mut self, var: &str, field: &str) -> &mut Step {
        self.capture = Some((var.into(), field.into()));
        self
    }
}

fn provision(actor: Value, action: &str, purpose: &str, class: Option<&str>, end: &str) -> String {
    let mut p = json!({"type": "permit", "period": {"start": "2020-01-01", "end": end}, "actor": [{"reference": actor}],
        "action": [{"coding": [{"system": crate::fhir::CONSENT_ACTION, "code": action}]}],
        "purpose": [{"system": crate::fhir::ACT_REASON, "code": purpose}]});
    if let Some(class) = class {
        p["class"] = json!([{"code": class}]);
    }
    p.to_string()
}

/// The whole story: registration, a doctor of the other hospital denied then allowed (and the grant useless
/// to anyone else), administrators, an insurer and an analyst denied, an expired consent, revocation, the
/// patient's access list and the compliance officer's, research consent with a de-identified event, a lab
/// report that stays preliminary with one signature and becomes final with both, and erasure.
pub fn records_story(orgs: &Orgs, people: &People, seed: &str) -> Vec<Step> {
    let s = Secrets::from_seed(seed);
    let binding = json!({ s.pseudonym.clone(): s.binding_salt }).to_string();
    let mut b = Builder {
        steps: Vec::new(),
        orgs,
        people,
        s,
        binding,
    };
    register(&mut b);
    consent_and_access(&mut b);
    research_and_lab(&mut b);
    erasure(&mut b);
    b.steps
}

fn register(b: &mut Builder<'_>) {
    let (p, r1) = (b.s.pseudonym.clone(), b.s.records[0].clone());
    let link = json!({"certId": b.people.patient, "salt": b.s.binding_salt}).to_string();
    let salt = b.s.salts[0].clone();
    b.submit(
        Actor::DoctorA,
        "Hospital A registers Synthetic Patient 0001 under a random pseudonym",
        &["RegisterPatient", &p],
        Expect::Ok,
    )
    .with("patient", synthetic_patient().to_string())
    .with("link", link)
    .event("PatientRegistered");
    let glucose = synthetic_observation("laboratory", "2339-0", "Synthetic glucose 5.4 mmol/L");
    b.submit(
        Actor::DoctorA,
        "Hospital A adds a lab result (content private, salted hash public)",
        &["AddRecord", &p, &r1],
        Expect::Ok,
    )
    .with("resource", glucose.to_string())
    .with("salt", salt)
    .event("RecordAdded");
}

fn consent_and_access(b: &mut Builder<'_>) {
    use Actor::*;
    use Expect::{Denied, Ok, Refused};
    let (p, r1, [c1, _, _]) = (
        b.s.pseudonym.clone(),
        b.s.records[0].clone(),
        b.s.consents.clone(),
    );
    let access = ["RequestAccess", r1.as_str(), "TREAT"];
    b.submit(
        DoctorB,
        "Hospital B's doctor asks without consent: denied and audited",
        &access,
        Denied,
    )
    .event("AccessAudited");
    let doctor = json!({"type": "Practitioner", "identifier": {"system": crate::fhir::CERT_ID_SYSTEM, "value": b.people.doctor_b}});
    let treat = provision(doctor, "access", "TREAT", Some("laboratory"), "2099-12-31");
    b.patient(
        "The patient grants hospital B's doctor access to lab results for treatment",
        &["GrantConsent", &p, &c1, &treat],
        true,
    )
    .event("ConsentGranted");
    b.submit(
        DoctorB,
        "The doctor asks again: allowed, audited, grant issued",
        &access,
        Ok,
    )
    .capture("grant", "grant");
    b.query(
        DoctorB,
        "The doctor reads the record with the grant (evaluate on hospital A's peer)",
        &["ReadRecord", "{grant}", &r1],
        Ok,
    );
    b.query(
        DoctorA,
        "Another doctor cannot use that grant",
        &["ReadRecord", "{grant}", &r1],
        Refused(403),
    );
    denials_and_lists(b);
}

fn denials_and_lists(b: &mut Builder<'_>) {
    use Actor::*;
    use Expect::{Denied, Ok};
    let (p, r1, [c1, c2, _]) = (
        b.s.pseudonym.clone(),
        b.s.records[0].clone(),
        b.s.consents.clone(),
    );
    let access = ["RequestAccess", r1.as_str(), "TREAT"];
    b.submit(
        HospitalAAdmin,
        "Hospital A's admin asks: denied and audited",
        &access,
        Denied,
    );
    b.submit(
        NetworkAdmin,
        "A network admin asks: denied and audited",
        &access,
        Denied,
    );
    b.submit(
        Insurer,
        "An insurer asks for payment: denied and audited",
        &["RequestAccess", &r1, "HPAYMT"],
        Denied,
    );
    b.submit(
        Analyst,
        "An analyst asks for research: denied and audited",
        &["RequestAccess", &r1, "HRESCH"],
        Denied,
    );
    let org_b = json!({"reference": format!("Organization/{}", b.orgs.hospital_b)});
    let expired = provision(org_b, "access", "TREAT", None, "2021-12-31");
    b.patient(
        "The patient records a consent for hospital B whose period ended in 2021",
        &["GrantConsent", &p, &c2, &expired],
        true,
    );
    b.submit(
        NurseB,
        "Hospital B's nurse asks under the ended consent: denied",
        &access,
        Denied,
    );
    b.patient(
        "The patient revokes the doctor's consent",
        &["RevokeConsent", &c1],
        true,
    )
    .event("ConsentRevoked");
    b.submit(
        DoctorB,
        "The doctor asks after revocation: denied",
        &access,
        Denied,
    );
    b.patient(
        "The patient lists every access, denied ones included",
        &["ListAccesses", &p],
        false,
    );
    b.query(
        ComplianceB,
        "Hospital B's compliance officer lists its staff's accesses",
        &["ListAccessesByOrg"],
        Ok,
    );
    b.query(
        Patient,
        "The consent's history: granted, then revoked",
        &["ConsentHistory", &c1],
        Ok,
    );
}

fn research_and_lab(b: &mut Builder<'_>) {
    use Actor::*;
    use Expect::{Ok, Refused};
    let (p, [_, r2, l1], c3) = (
        b.s.pseudonym.clone(),
        b.s.records.clone(),
        b.s.consents[2].clone(),
    );
    let research_org = json!({"reference": format!("Organization/{}", b.orgs.research)});
    let research = provision(research_org, "use", "HRESCH", None, "2099-12-31");
    let token = json!({"token": b.s.token}).to_string();
    b.patient(
        "The patient consents to research with a random research token",
        &["GrantConsent", &p, &c3, &research],
        true,
    )
    .with("research", token);
    let vitals = synthetic_observation("vital-signs", "8867-4", "Synthetic heart rate 72/min");
    let (salt2, salt3) = (b.s.salts[1].clone(), b.s.salts[2].clone());
    b.submit(
        DoctorA,
        "A new record now emits a de-identified entry (age band 90+, ZIP3 000)",
        &["AddRecord", &p, &r2],
        Ok,
    )
    .with("resource", vitals.to_string())
    .with("salt", salt2)
    .event("DeidentifiedEntry");
    b.submit(
        LabAdmin,
        "The lab admin authors a lab report: preliminary (endorsed by hospital A's peer)",
        &["CreateLabReport", &p, &l1],
        Ok,
    )
    .with("resource", synthetic_lab_report().to_string())
    .with("salt", salt3)
    .capture("reportHash", "hash")
    .event("DeidentifiedEntry");
    let sign = ["SignLabReport", l1.as_str(), "{reportHash}"];
    b.submit(DoctorA, "A doctor cannot countersign", &sign, Refused(403));
    b.submit(LabAdmin, "The lab admin cannot sign twice", &sign, Refused(403));
    b.query(
        DoctorA,
        "One signature: the report is still preliminary",
        &["RecordInfo", &l1],
        Ok,
    );
    let both = vec![b.orgs.lab.clone(), b.orgs.hospital_a.clone()];
    let step = b
        .submit(
            HospitalAAdmin,
            "Hospital A's admin countersigns: final",
            &sign,
            Ok,
        )
        .event("LabReportFinalized");
    step.orgs = both;
    b.query(
        DoctorA,
        "Both signatures: the report is final",
        &["RecordInfo", &l1],
        Ok,
    );
}

fn erasure(b: &mut Builder<'_>) {
    let (p, r1) = (b.s.pseudonym.clone(), b.s.records[0].clone());
    b.patient(
        "The patient erases their data: private data and salts purged",
        &["ErasePatient", &p],
        true,
    )
    .event("PatientErased");
    b.submit(
        Actor::DoctorB,
        "Access after erasure fails",
        &["RequestAccess", &r1, "TREAT"],
        Expect::Refused(404),
    );
    b.query(
        Actor::DoctorB,
        "What remains: an erased pseudonym",
        &["ReadPatient", &p],
        Expect::Ok,
    );
}
