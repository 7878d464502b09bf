//! Shared fixtures for the records contract tests: synthetic organizations, identities, pseudonyms, salts
//! and FHIR resources, and a mock network that remembers every submit response and event so tests can scan
//! them for PHI. Every name, date, code and value here is synthetic test data.

#![allow(dead_code)]

use chaincode_api::testing::{MockContext, synthetic_caller};
use chaincode_api::{Caller, ContractError, Role, Timestamp};
use chaincode_records::RecordsContract;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const HOSPITAL_A: &str = "HospitalAMSP";
pub const HOSPITAL_B: &str = "HospitalBMSP";
pub const LAB: &str = "LabMSP";
pub const INSURER: &str = "InsurerMSP";
pub const RESEARCH: &str = "ResearchMSP";

/// 2024-01-01T00:00:00Z, MockContext's first timestamp.
pub const START: i64 = 1_704_067_200;

/// Pseudonyms: P1 at hospital A, P2 the same patient at hospital B, P3 another patient at hospital A.
pub const P1: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaa0001";
pub const P2: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbb0002";
pub const P3: &str = "cccccccccccccccccccccccccccc0003";
pub const R1: &str = "11111111111111111111111111110001";
pub const R2: &str = "11111111111111111111111111110002";
pub const R3: &str = "11111111111111111111111111110003";
pub const L1: &str = "1ab1ab1ab1ab1ab1ab1ab1ab1ab10001";
pub const C1: &str = "c0c0c0c0c0c0c0c0c0c0c0c0c0c00001";
pub const C2: &str = "c0c0c0c0c0c0c0c0c0c0c0c0c0c00002";
pub const C3: &str = "c0c0c0c0c0c0c0c0c0c0c0c0c0c00003";

/// Binding salts (held by the patient), record salts, research token.
pub const BIND_SALT: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
pub const BIND_SALT_B: &str = "5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b";
pub const BIND_SALT_3: &str = "5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c";
pub const DELEGATE_SALT: &str = "de1e9a7ede1e9a7ede1e9a7ede1e9a7ede1e9a7ede1e9a7ede1e9a7ede1e9a7e";
pub const SALT1: &str = "0101010101010101010101010101010101010101010101010101010101010101";
pub const SALT2: &str = "0202020202020202020202020202020202020202020202020202020202020202";
pub const SALT3: &str = "0303030303030303030303030303030303030303030303030303030303030303";
pub const TOKEN: &str = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";

/// Strings that exist only in PHI (or in secrets): none may ever reach public state, an event or a submit
/// response.
pub const PHI: &[&str] = &[
    "Synthetic Patient 0001",
    "Patient 0001",
    "SYN-MRN-0001",
    "1929-03-14",
    "03601",
    "1 Synthetic Way",
    "Synthetic City",
    "Synthetic glucose",
    "5.4 mmol/L",
    "Synthetic heart rate",
    "Synthetic CBC",
    "Synthetic conclusion",
    "2024-03-01T09:30",
    "Synthetic Patient 0003",
];

pub fn doctor(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Client, &format!("Synthetic Doctor {msp}")).with_attr("role", "doctor")
}
pub fn other_doctor(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Client, &format!("Synthetic Doctor Two {msp}")).with_attr("role", "doctor")
}
pub fn nurse(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Client, &format!("Synthetic Nurse {msp}")).with_attr("role", "nurse")
}
pub fn admin(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Admin, &format!("Synthetic Admin {msp}"))
}
/// An admin enrolled with a clinical attribute: still an admin.
pub fn admin_with_doctor_attr(msp: &str) -> Caller {
    admin(msp).with_attr("role", "doctor")
}
pub fn compliance(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Client, &format!("Synthetic Compliance {msp}"))
        .with_attr("role", "compliance_officer")
}
pub fn insurer() -> Caller {
    synthetic_caller(INSURER, Role::Client, "Synthetic Claims Adjuster").with_attr("role", "insurer")
}
pub fn analyst() -> Caller {
    synthetic_caller(RESEARCH, Role::Client, "Synthetic Analyst").with_attr("role", "analyst")
}
pub fn lab_admin() -> Caller {
    synthetic_caller(LAB, Role::Admin, "Synthetic Lab Admin")
}
/// The patient behind P1 and P2 (certificate issued by hospital A's CA).
pub fn patient() -> Caller {
    synthetic_caller(HOSPITAL_A, Role::Client, "Synthetic Patient Cert 0001").with_attr("role", "patient")
}
/// Another patient (P3).
pub fn patient3() -> Caller {
    synthetic_caller(HOSPITAL_A, Role::Client, "Synthetic Patient Cert 0003").with_attr("role", "patient")
}
/// A relative the patient names as delegate.
pub fn relative() -> Caller {
    synthetic_caller(HOSPITAL_A, Role::Client, "Synthetic Relative 0001").with_attr("role", "patient")
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256(salt bytes ‖ text).
pub fn salted(salt: &str, text: &[u8]) -> String {
    let salt: Vec<u8> = (0..salt.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&salt[i..i + 2], 16).expect("hex salt"))
        .collect();
    hex(&Sha256::new().chain_update(&salt).chain_update(text).finalize())
}

pub fn synthetic_patient(name: &str) -> Value {
    json!({"resourceType": "Patient", "identifier": [{"system": "urn:synthetic:mrn", "value": "SYN-MRN-0001"}],
        "name": [{"text": name}], "gender": "female", "birthDate": "1929-03-14",
        "address": [{"line": ["1 Synthetic Way"], "city": "Synthetic City", "postalCode": "03601"}]})
}

pub fn observation(category: &str, value: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
        "subject": {"reference": "Patient/SYN-MRN-0001"},
        "effectiveDateTime": "2024-03-01T09:30:00Z", "valueString": value})
}

pub fn lab_report() -> Value {
    json!({"resourceType": "DiagnosticReport", "status": "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
        "code": {"text": "Synthetic CBC panel"}, "effectiveDateTime": "2024-03-02T08:00:00Z",
        "conclusion": "Synthetic conclusion: within synthetic limits"})
}

/// A treatment consent provision for `actor` (a FHIR Reference).
pub fn provision(actor: Value, purposes: &[&str], classes: &[&str], start: &str, end: Option<&str>) -> Value {
    let mut p = json!({"type": "permit", "period": {"start": start},
        "actor": [{"reference": actor}],
        "action": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}],
        "purpose": purposes.iter().map(|c| json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": c})).collect::<Vec<_>>()});
    if let Some(end) = end {
        p["period"]["end"] = json!(end);
    }
    if !classes.is_empty() {
        p["class"] = json!(classes.iter().map(|c| json!({"code": c})).collect::<Vec<_>>());
    }
    p
}

pub fn practitioner(caller: &Caller) -> Value {
    json!({"type": "Practitioner", "identifier": {"system": "urn:carechain:x509-id", "value": caller.id}})
}

pub fn organization(msp: &str) -> Value {
    json!({"reference": format!("Organization/{msp}")})
}

/// A research consent (action `use`, purpose HRESCH) for the research org, all categories unless `classes`.
pub fn research_provision(classes: &[&str]) -> Value {
    let mut p = provision(organization(RESEARCH), &["HRESCH"], classes, "2020-01-01", None);
    p["action"] = json!([{"coding": [{"code": "use"}]}]);
    p
}

/// A mock peer that is a member of every collection, recording every submit response and event.
pub struct Net {
    pub ctx: MockContext,
    pub responses: Vec<(String, Vec<u8>)>,
    pub events: Vec<(String, Vec<u8>)>,
}

impl Net {
    pub fn new() -> Net {
        let mut ctx = MockContext::new().with_channel("care");
        for h in [HOSPITAL_A, HOSPITAL_B] {
            ctx = ctx
                .with_collection(&format!("records_{h}"), true)
                .with_collection(&format!("labreports_{LAB}_{h}"), true);
        }
        Net {
            ctx,
            responses: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Submits `args` as `caller` with transient `(name, value)` pairs; returns the JSON payload.
    pub fn submit(
        &mut self,
        caller: Caller,
        args: &[&str],
        transient: &[(&str, &str)],
    ) -> Result<Value, ContractError> {
        self.ctx.set_caller(caller);
        for (name, value) in transient {
            self.ctx.set_transient(name, value.as_bytes());
        }
        let result = self.ctx.submit(&RecordsContract, args);
        if let Ok(payload) = &result {
            self.responses.push((args[0].to_string(), payload.clone()));
            if let Some(event) = self.ctx.event() {
                self.events.push((event.name.clone(), event.payload.clone()));
            }
        }
        result.map(|b| serde_json::from_slice(&b).expect("JSON payload"))
    }

    pub fn evaluate(
        &mut self,
        caller: Caller,
        args: &[&str],
        transient: &[(&str, &str)],
    ) -> Result<Value, ContractError> {
        self.ctx.set_caller(caller);
        for (name, value) in transient {
            self.ctx.set_transient(name, value.as_bytes());
        }
        self.ctx
            .evaluate(&RecordsContract, args)
            .map(|b| serde_json::from_slice(&b).expect("JSON payload"))
    }

    pub fn set_time(&mut self, seconds: i64) {
        self.ctx.set_timestamp(Timestamp::new(seconds, 0));
    }

    pub fn public(&self, key: &str) -> Option<Value> {
        self.ctx
            .state(key)
            .map(|v| serde_json::from_slice(v).expect("JSON state"))
    }

    pub fn private(&self, collection: &str, key: &str) -> Option<Value> {
        self.ctx
            .private_state(collection, key)
            .map(|v| serde_json::from_slice(v).expect("JSON private"))
    }

    pub fn last_event(&self) -> (String, Value) {
        let e = self.ctx.event().expect("an event");
        (
            e.name.clone(),
            serde_json::from_slice(&e.payload).expect("JSON event"),
        )
    }

    /// Every public key and value, every event and every submit response is free of `secrets`.
    pub fn assert_clean(&self, secrets: &[&str]) {
        let check = |what: &str, bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            for s in secrets {
                assert!(!text.contains(s), "{what} contains {s:?}: {text}");
            }
        };
        for key in self.ctx.keys() {
            check("a public key", key.as_bytes());
            check(
                &format!("public value of {key:?}"),
                self.ctx.state(key).expect("value"),
            );
        }
        for (name, payload) in &self.events {
            check(&format!("event {name}"), payload);
        }
        for (function, payload) in &self.responses {
            check(&format!("response of submitted {function}"), payload);
        }
    }
}

pub fn binding(p: &str, salt: &str) -> String {
    json!({ p: salt }).to_string()
}

/// Registers `p` at `hospital` for `holder`'s certificate with binding salt `salt`.
pub fn register_as(
    net: &mut Net,
    hospital: &str,
    p: &str,
    holder: &Caller,
    salt: &str,
    name: &str,
) -> Result<Value, ContractError> {
    let link = json!({"certId": holder.id, "salt": salt}).to_string();
    let patient = synthetic_patient(name).to_string();
    net.submit(
        doctor(hospital),
        &["RegisterPatient", p],
        &[("patient", &patient), ("link", &link)],
    )
}

/// P1 at hospital A for [`patient`].
pub fn registered() -> Net {
    let mut net = Net::new();
    register_as(
        &mut net,
        HOSPITAL_A,
        P1,
        &patient(),
        BIND_SALT,
        "Synthetic Patient 0001",
    )
    .expect("register P1");
    net
}

pub fn add_record(
    net: &mut Net,
    by: Caller,
    p: &str,
    id: &str,
    resource: &Value,
    salt: &str,
) -> Result<Value, ContractError> {
    net.submit(
        by,
        &["AddRecord", p, id],
        &[("resource", &resource.to_string()), ("salt", salt)],
    )
}

/// [`registered`] plus record R1 (laboratory) added by hospital A's doctor.
pub fn with_record() -> Net {
    let mut net = registered();
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R1,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT1,
    )
    .expect("add R1");
    net
}

/// The patient grants consent `id` on `p` with `provision`.
pub fn grant(net: &mut Net, p: &str, id: &str, provision: &Value) -> Result<Value, ContractError> {
    let b = binding(p, BIND_SALT);
    net.submit(
        patient(),
        &["GrantConsent", p, id, &provision.to_string()],
        &[("binding", &b)],
    )
}

/// Hospital B's doctor may access laboratory records of P1 for treatment, 2024 to 2024-06-30.
pub fn doctor_b_consent() -> Value {
    provision(
        practitioner(&doctor(HOSPITAL_B)),
        &["TREAT"],
        &["laboratory"],
        "2024-01-01",
        Some("2024-06-30"),
    )
}

pub fn request(net: &mut Net, by: Caller, record: &str, purpose: &str) -> Value {
    net.submit(by, &["RequestAccess", record, purpose], &[])
        .expect("RequestAccess succeeds (allowed or denied)")
}

pub fn list_accesses(net: &mut Net, p: &str) -> Vec<Value> {
    let b = binding(p, BIND_SALT);
    let list = net
        .evaluate(patient(), &["ListAccesses", p], &[("binding", &b)])
        .expect("list");
    list["accesses"].as_array().expect("array").clone()
}

/// Asserts an error with `status` whose message contains every fragment.
pub fn assert_err<T: std::fmt::Debug>(result: Result<T, ContractError>, status: i32, fragments: &[&str]) {
    let err = result.expect_err("expected an error");
    assert_eq!(err.status(), status, "{err}");
    for f in fragments {
        assert!(
            err.message().contains(f),
            "message {:?} lacks {f:?}",
            err.message()
        );
    }
}

pub fn composite(parts: &[&str]) -> String {
    let mut key = String::from("\u{0}");
    for p in parts {
        key.push_str(p);
        key.push('\u{0}');
    }
    key
}
