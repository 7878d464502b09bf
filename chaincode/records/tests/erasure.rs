//! Erasure: every private key of the patient is purged (demographics with the certificate link and binding
//! salt, research token, records and lab reports with their salts); what remains on the ledger is hashes and
//! audit entries under the pseudonym; later reads fail. Synthetic data.

mod common;

use common::*;
use serde_json::json;

/// P1 with a record, a lab report, a research token, a consent, a grant and two audit events.
fn full() -> (Net, String) {
    let mut net = with_record();
    net.submit(
        lab_admin(),
        &["CreateLabReport", P1, L1],
        &[("resource", &lab_report().to_string()), ("salt", SALT3)],
    )
    .expect("report");
    let b = binding(P1, BIND_SALT);
    let token = json!({"token": TOKEN}).to_string();
    net.submit(
        patient(),
        &["GrantConsent", P1, C3, &research_provision(&[]).to_string()],
        &[("binding", &b), ("research", &token)],
    )
    .expect("research consent");
    request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("consent");
    let grant_id = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT")["grant"]
        .as_str()
        .expect("grant")
        .to_string();
    (net, grant_id)
}

fn private_keys() -> Vec<(&'static str, String)> {
    vec![
        ("records_HospitalAMSP", composite(&["patient", P1])),
        ("records_HospitalAMSP", composite(&["research", P1])),
        ("records_HospitalAMSP", composite(&["record", R1])),
        ("labreports_LabMSP_HospitalAMSP", composite(&["record", L1])),
    ]
}

#[test]
fn the_patients_erasure_purges_everything_private_and_leaves_hashes_and_audit() {
    let (mut net, grant_id) = full();
    for (collection, key) in private_keys() {
        assert!(
            net.private(collection, &key).is_some(),
            "{key:?} exists before erasure"
        );
    }
    let meta_before = net.public(&composite(&["record", R1])).expect("meta");
    let b = binding(P1, BIND_SALT);
    let erased = net
        .submit(patient(), &["ErasePatient", P1], &[("binding", &b)])
        .expect("erase");
    assert_eq!(
        erased,
        json!({"pseudonym": P1, "status": "erased", "purgedRecords": 2})
    );
    for (collection, key) in private_keys() {
        assert!(net.private(collection, &key).is_none(), "{key:?} is gone");
        assert!(
            net.ctx.purged().contains(&(collection.to_string(), key.clone())),
            "{key:?} was purged, history included"
        );
    }
    let record = net
        .public(&composite(&["patient", P1]))
        .expect("the pseudonym stays");
    assert_eq!(record["status"], "erased");
    assert_eq!(
        record["controllers"],
        json!([]),
        "no commitment links a certificate any more"
    );
    assert!(record["erased"].is_string());
    assert_eq!(
        net.public(&composite(&["record", R1])),
        Some(meta_before),
        "an unlinkable salted hash remains"
    );
    assert_eq!(list_audit_keys(&net), 2, "audit entries stay under the pseudonym");
    assert_eq!(net.last_event(), ("PatientErased".into(), erased));

    assert_err(
        net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[]),
        404,
        &["erased"],
    );
    assert_err(
        net.submit(doctor(HOSPITAL_B), &["RequestAccess", R1, "TREAT"], &[]),
        404,
        &["erased"],
    );
    assert_err(
        add_record(
            &mut net,
            doctor(HOSPITAL_A),
            P1,
            R2,
            &observation("laboratory", "x"),
            SALT2,
        ),
        404,
        &["erased"],
    );
    assert_err(grant(&mut net, P1, C2, &doctor_b_consent()), 404, &["erased"]);
    assert_err(
        net.submit(patient(), &["ErasePatient", P1], &[("binding", &b)]),
        409,
        &["already erased"],
    );
    assert_err(
        net.evaluate(patient(), &["ListAccesses", P1], &[("binding", &b)]),
        403,
        &["neither the patient"],
    );
    net.assert_clean(&[PHI, &[BIND_SALT, SALT1, SALT3, TOKEN, patient().id.as_str()]].concat());
}

fn list_audit_keys(net: &Net) -> usize {
    net.ctx
        .keys()
        .iter()
        .filter(|k| k.starts_with("\u{0}audit~patient\u{0}"))
        .count()
}

#[test]
fn the_hospital_admin_erases_only_on_the_patients_request() {
    let (mut net, _) = full();
    assert_err(
        net.submit(admin(HOSPITAL_A), &["ErasePatient", P1], &[]),
        403,
        &["only on the patient's request"],
    );
    let b = binding(P1, BIND_SALT);
    assert_err(
        net.submit(doctor(HOSPITAL_A), &["RequestErasure", P1], &[("binding", &b)]),
        403,
        &["neither"],
    );
    net.submit(patient(), &["RequestErasure", P1], &[("binding", &b)])
        .expect("request");
    assert_eq!(net.last_event().0, "ErasureRequested");
    assert_err(
        net.submit(patient(), &["RequestErasure", P1], &[("binding", &b)]),
        409,
        &["already requested"],
    );
    assert_err(
        net.submit(admin(HOSPITAL_B), &["ErasePatient", P1], &[]),
        403,
        &["only an administrator of HospitalAMSP"],
    );
    assert_err(
        net.submit(doctor(HOSPITAL_A), &["ErasePatient", P1], &[]),
        403,
        &["must prove"],
    );
    net.submit(admin(HOSPITAL_A), &["ErasePatient", P1], &[])
        .expect("admin erases on request");
    for (collection, key) in private_keys() {
        assert!(net.private(collection, &key).is_none(), "{key:?} is gone");
    }
}

#[test]
fn erasing_one_registration_leaves_the_linked_one() {
    let mut net = with_record();
    register_as(
        &mut net,
        HOSPITAL_B,
        P2,
        &patient(),
        BIND_SALT_B,
        "Synthetic Patient 0001",
    )
    .expect("P2");
    add_record(
        &mut net,
        doctor(HOSPITAL_B),
        P2,
        R2,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT2,
    )
    .expect("R2");
    let both = json!({P1: BIND_SALT, P2: BIND_SALT_B}).to_string();
    net.submit(patient(), &["LinkPatients", P1, P2], &[("binding", &both)])
        .expect("link");
    grant(
        &mut net,
        P1,
        C1,
        &provision(organization(HOSPITAL_A), &["TREAT"], &[], "2024-01-01", None),
    )
    .expect("consent under P1");
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_A), R2, "TREAT")["decision"],
        "permit",
        "P1's consent covers P2's record"
    );
    let b = binding(P1, BIND_SALT);
    net.submit(patient(), &["ErasePatient", P1], &[("binding", &b)])
        .expect("erase P1");
    assert!(
        net.private("records_HospitalBMSP", &composite(&["record", R2]))
            .is_some(),
        "hospital B's data is untouched"
    );
    assert_eq!(
        net.public(&composite(&["patient", P2])).expect("P2")["status"],
        "active"
    );
    let records = net
        .evaluate(doctor(HOSPITAL_B), &["ListRecords", P2], &[])
        .expect("list")["records"]
        .clone();
    assert_eq!(
        records.as_array().expect("a").len(),
        1,
        "the erased registration drops out of the group"
    );
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_A), R2, "TREAT")["decision"],
        "deny",
        "consents of the erased registration no longer apply"
    );
}
