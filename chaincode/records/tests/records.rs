//! Records: content in the hospital's collection, only metadata and a salted hash on the ledger. Synthetic data.

mod common;

use chaincode_api::Role;
use chaincode_records::hashing::canonical_json;
use common::*;
use serde_json::{Value, json};

#[test]
fn the_public_record_is_metadata_and_a_salted_hash_of_the_canonical_json() {
    let net = with_record();
    let meta = net.public(&composite(&["record", R1])).expect("public metadata");
    let fields: Vec<&str> = meta
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["category", "hash", "id", "issuer", "patient", "year"]);
    assert_eq!(
        (
            meta["id"].as_str(),
            meta["patient"].as_str(),
            meta["category"].as_str(),
            meta["year"].as_i64(),
            meta["issuer"].as_str()
        ),
        (
            Some(R1),
            Some(P1),
            Some("laboratory"),
            Some(2024),
            Some(HOSPITAL_A)
        )
    );
    let stored = net
        .private("records_HospitalAMSP", &composite(&["record", R1]))
        .expect("private record");
    assert_eq!(stored["salt"], SALT1, "the salt is kept with the private data");
    let resource = &stored["resource"];
    assert_eq!(resource["id"], R1);
    assert_eq!(
        resource["subject"]["reference"],
        format!("Patient/{P1}"),
        "a client-supplied MRN reference is replaced"
    );
    assert_eq!(resource["valueString"], "Synthetic glucose 5.4 mmol/L");
    let expected = salted(SALT1, canonical_json(resource).as_bytes());
    assert_eq!(meta["hash"], expected, "hash = SHA-256(salt ‖ canonical JSON)");
    let unsalted = hex(&<sha2::Sha256 as sha2::Digest>::digest(
        canonical_json(resource).as_bytes(),
    ));
    assert_ne!(meta["hash"], unsalted);
    let policy = net
        .ctx
        .committed_endorsement(&composite(&["record", R1]))
        .expect("policy");
    assert_eq!(
        (policy.orgs.clone(), policy.role),
        (vec![HOSPITAL_A.to_string()], Role::Peer)
    );
    assert_eq!(
        net.ctx.state(&composite(&["record~patient", P1, R1])),
        Some(R1.as_bytes())
    );
    assert_eq!(net.events.last().map(|e| e.0.as_str()), Some("RecordAdded"));
    net.assert_clean(&[PHI, &[SALT1]].concat());
}

#[test]
fn the_canonical_form_is_independent_of_key_order() {
    let mut a = with_record();
    let reordered: Value = serde_json::from_str(
        r#"{"valueString":"Synthetic glucose 5.4 mmol/L","effectiveDateTime":"2024-03-01T09:30:00Z","subject":{"reference":"Patient/SYN-MRN-0001"},
            "code":{"coding":[{"code":"2339-0","system":"http://loinc.org"}]},"category":[{"coding":[{"code":"laboratory","system":"http://terminology.hl7.org/CodeSystem/observation-category"}]}],
            "status":"final","resourceType":"Observation"}"#,
    )
    .expect("json");
    add_record(&mut a, doctor(HOSPITAL_A), P1, R2, &reordered, SALT1).expect("add");
    let mut b = with_record();
    add_record(
        &mut b,
        doctor(HOSPITAL_A),
        P1,
        R2,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT1,
    )
    .expect("add");
    assert_eq!(
        a.public(&composite(&["record", R2])),
        b.public(&composite(&["record", R2]))
    );
}

#[test]
fn who_may_add_records() {
    let mut net = registered();
    let obs = observation("laboratory", "Synthetic glucose 5.4 mmol/L");
    add_record(&mut net, nurse(HOSPITAL_A), P1, R1, &obs, SALT1).expect("a nurse of the hospital may");
    for (who, fragment) in [
        (doctor(HOSPITAL_B), "only staff of HospitalAMSP"),
        (admin(HOSPITAL_A), "administrators never handle PHI"),
        (
            admin_with_doctor_attr(HOSPITAL_A),
            "administrators never handle PHI",
        ),
        (patient(), "has role=patient"),
        (compliance(HOSPITAL_A), "has role=compliance_officer"),
    ] {
        assert_err(add_record(&mut net, who, P1, R2, &obs, SALT2), 403, &[fragment]);
    }
    assert!(net.public(&composite(&["record", R2])).is_none());
}

#[test]
fn bad_records_are_refused_and_change_nothing() {
    let mut net = with_record();
    let d = doctor(HOSPITAL_A);
    let obs = observation("laboratory", "Synthetic glucose 5.4 mmol/L");
    assert_err(
        add_record(&mut net, d.clone(), P1, R1, &obs, SALT2),
        409,
        &["already exists"],
    );
    assert_err(
        add_record(&mut net, d.clone(), P3, R2, &obs, SALT2),
        404,
        &["not registered"],
    );
    assert_err(
        add_record(&mut net, d.clone(), P1, R2, &obs, "0102"),
        400,
        &["record salt must be 64"],
    );
    assert_err(
        add_record(&mut net, d.clone(), P1, R2, &obs, &DELEGATE_SALT.to_uppercase()),
        400,
        &["lowercase hex"],
    );
    assert_err(
        add_record(&mut net, d.clone(), P1, "SYN-REC-1", &obs, SALT2),
        400,
        &["record id"],
    );
    assert_err(
        add_record(
            &mut net,
            d.clone(),
            P1,
            R2,
            &synthetic_patient("Synthetic Patient 0001"),
            SALT2,
        ),
        400,
        &["resourceType Observation or DiagnosticReport or DocumentReference"],
    );
    let mut uncategorised = obs.clone();
    uncategorised.as_object_mut().expect("object").remove("category");
    assert_err(
        add_record(&mut net, d.clone(), P1, R2, &uncategorised, SALT2),
        400,
        &["category[0].coding[0].code"],
    );
    let mut leaky = obs.clone();
    leaky["category"][0]["coding"][0]["code"] = json!("Synthetic Patient 0001 notes");
    assert_err(
        add_record(&mut net, d.clone(), P1, R2, &leaky, SALT2),
        400,
        &["category"],
    );
    assert_err(
        net.submit(d.clone(), &["AddRecord", P1, R2], &[("salt", SALT2)]),
        400,
        &["transient field \"resource\""],
    );
    assert_err(
        net.submit(
            d.clone(),
            &["AddRecord", P1, R2],
            &[("resource", &obs.to_string())],
        ),
        400,
        &["transient field \"salt\""],
    );
    assert_err(
        net.submit(
            d.clone(),
            &["AddRecord", P1, R2],
            &[("resource", "[1]"), ("salt", SALT2)],
        ),
        400,
        &["JSON object"],
    );
    let huge = json!({"resourceType": "Observation", "note": "x".repeat(300 * 1024)}).to_string();
    assert_err(
        net.submit(d, &["AddRecord", P1, R2], &[("resource", &huge), ("salt", SALT2)]),
        400,
        &["at most"],
    );
    assert!(net.public(&composite(&["record", R2])).is_none());
    assert!(
        net.private("records_HospitalAMSP", &composite(&["record", R2]))
            .is_none()
    );
}

#[test]
fn the_year_comes_from_the_clinical_date_or_the_transaction() {
    let mut net = registered();
    let mut doc = json!({"resourceType": "DocumentReference", "status": "current",
        "category": [{"coding": [{"code": "clinical-note"}]}], "date": "2019-07-04T10:00:00Z",
        "content": [{"attachment": {"title": "Synthetic note"}}]});
    add_record(&mut net, doctor(HOSPITAL_A), P1, R1, &doc, SALT1).expect("document");
    assert_eq!(
        net.public(&composite(&["record", R1])).expect("meta")["year"],
        2019
    );
    doc.as_object_mut().expect("object").remove("date");
    add_record(&mut net, doctor(HOSPITAL_A), P1, R2, &doc, SALT2).expect("undated document");
    assert_eq!(
        net.public(&composite(&["record", R2])).expect("meta")["year"],
        2024,
        "transaction year"
    );
}

#[test]
fn anyone_reads_public_metadata_and_lists_a_patients_records() {
    let mut net = with_record();
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R2,
        &observation("vital-signs", "Synthetic heart rate 72/min"),
        SALT2,
    )
    .expect("R2");
    let info = net.evaluate(insurer(), &["RecordInfo", R1], &[]).expect("info");
    assert_eq!(info["hash"].as_str().map(str::len), Some(64));
    let list = net.evaluate(analyst(), &["ListRecords", P1], &[]).expect("list");
    let categories: Vec<&str> = list["records"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["category"].as_str().expect("c"))
        .collect();
    assert_eq!(categories, ["laboratory", "vital-signs"]);
    assert_err(
        net.evaluate(insurer(), &["RecordInfo", R3], &[]),
        404,
        &["does not exist"],
    );
    let patient = net
        .evaluate(insurer(), &["ReadPatient", P1], &[])
        .expect("registry entry");
    assert_eq!(patient["status"], "active");
}
