//! Registration, the certificate binding, delegates and linking two hospitals' registrations. Synthetic data.

mod common;

use chaincode_api::Role;
use common::*;
use serde_json::json;

#[test]
fn registration_publishes_only_a_pseudonym_and_a_salted_commitment() {
    let net = registered();
    let record = net
        .public(&composite(&["patient", P1]))
        .expect("public registry entry");
    assert_eq!(record["pseudonym"], P1);
    assert_eq!(record["organization"], HOSPITAL_A);
    assert_eq!(record["status"], "active");
    let expected = salted(BIND_SALT, patient().id.as_bytes());
    assert_eq!(
        record["controllers"],
        json!([{"kind": "patient", "commitment": expected, "added": "2024-01-01T00:00:00.000000000Z"}])
    );
    let policy = net
        .ctx
        .committed_endorsement(&composite(&["patient", P1]))
        .expect("key-level policy");
    assert_eq!(
        (policy.orgs.clone(), policy.role),
        (vec![HOSPITAL_A.to_string()], Role::Peer)
    );

    let private = net
        .private("records_HospitalAMSP", &composite(&["patient", P1]))
        .expect("private entry");
    assert_eq!(private["certId"], patient().id);
    assert_eq!(private["bindingSalt"], BIND_SALT);
    assert_eq!(
        private["resource"]["id"], P1,
        "the contract sets the FHIR id to the pseudonym"
    );
    assert_eq!(
        private["resource"]["managingOrganization"]["reference"],
        "Organization/HospitalAMSP"
    );
    assert_eq!(private["resource"]["name"][0]["text"], "Synthetic Patient 0001");
    assert_eq!(net.events[0].0, "PatientRegistered");
    net.assert_clean(&[PHI, &[BIND_SALT, patient().id.as_str()]].concat());
}

#[test]
fn registration_rules() {
    let mut net = registered();
    assert_err(
        register_as(
            &mut net,
            HOSPITAL_A,
            P1,
            &patient(),
            BIND_SALT,
            "Synthetic Patient 0001",
        ),
        409,
        &["already registered"],
    );
    let link = json!({"certId": patient().id, "salt": BIND_SALT}).to_string();
    let body = synthetic_patient("Synthetic Patient 0003").to_string();
    let transient = [("patient", body.as_str()), ("link", link.as_str())];
    for (who, fragment) in [
        (patient(), "role=doctor or role=nurse or role=registrar"),
        (admin(HOSPITAL_A), "administrators never handle PHI"),
        (insurer(), "has role=insurer"),
    ] {
        assert_err(
            net.submit(who, &["RegisterPatient", P3], &transient),
            403,
            &[fragment],
        );
    }
    assert_err(
        net.submit(
            doctor(HOSPITAL_A),
            &["RegisterPatient", "SYN-MRN-0003"],
            &transient,
        ),
        400,
        &["pseudonym must be 32 lowercase hex"],
    );
    assert_err(
        net.submit(doctor(HOSPITAL_A), &["RegisterPatient", P3], &[("link", &link)]),
        400,
        &["transient field \"patient\""],
    );
    assert_err(
        net.submit(
            doctor(HOSPITAL_A),
            &["RegisterPatient", P3],
            &[("patient", &body)],
        ),
        400,
        &["transient field \"link\""],
    );
    let short = json!({"certId": "x", "salt": "abcd"}).to_string();
    assert_err(
        net.submit(
            doctor(HOSPITAL_A),
            &["RegisterPatient", P3],
            &[("patient", &body), ("link", &short)],
        ),
        400,
        &["binding salt must be 64"],
    );
    let obs = observation("laboratory", "x").to_string();
    assert_err(
        net.submit(
            doctor(HOSPITAL_A),
            &["RegisterPatient", P3],
            &[("patient", &obs), ("link", &link)],
        ),
        400,
        &["resourceType Patient"],
    );
    assert!(
        net.public(&composite(&["patient", P3])).is_none(),
        "refused registrations write nothing"
    );
    // A registrar may register; a nurse too.
    let registrar = chaincode_api::testing::synthetic_caller(HOSPITAL_B, Role::Client, "Synthetic Registrar")
        .with_attr("role", "registrar");
    net.submit(registrar, &["RegisterPatient", P3], &transient)
        .expect("registrar registers at hospital B");
    assert_eq!(
        net.public(&composite(&["patient", P3])).expect("entry")["organization"],
        HOSPITAL_B
    );
}

#[test]
fn the_binding_proof_needs_the_salt_and_the_bound_certificate() {
    let mut net = with_record();
    let consent = doctor_b_consent().to_string();
    let args = ["GrantConsent", P1, C1, consent.as_str()];
    assert_err(
        net.submit(patient(), &args, &[]),
        403,
        &["must prove", "transient field \"binding\""],
    );
    let wrong = binding(P1, BIND_SALT_B);
    assert_err(
        net.submit(patient(), &args, &[("binding", &wrong)]),
        403,
        &["neither the patient nor a delegate"],
    );
    let right = binding(P1, BIND_SALT);
    assert_err(
        net.submit(patient3(), &args, &[("binding", &right)]),
        403,
        &["neither the patient nor a delegate"],
    );
    assert_err(
        net.submit(doctor(HOSPITAL_A), &args, &[("binding", &right)]),
        403,
        &["neither the patient nor a delegate"],
    );
    let same_cert_no_role =
        chaincode_api::testing::synthetic_caller(HOSPITAL_A, Role::Client, "Synthetic Patient Cert 0001");
    assert_err(
        net.submit(same_cert_no_role, &args, &[("binding", &right)]),
        403,
        &["needs attribute role=patient"],
    );
    let same_cert_admin =
        chaincode_api::testing::synthetic_caller(HOSPITAL_A, Role::Admin, "Synthetic Patient Cert 0001");
    assert_err(
        net.submit(same_cert_admin, &args, &[("binding", &right)]),
        403,
        &["administrator"],
    );
    assert_err(
        net.submit(patient(), &args, &[("binding", "not json")]),
        400,
        &["binding"],
    );
    net.submit(patient(), &args, &[("binding", &right)])
        .expect("the patient proves the binding");
}

#[test]
fn delegates_are_named_by_commitment_and_may_consent_but_not_erase() {
    let mut net = with_record();
    let commitment = salted(DELEGATE_SALT, relative().id.as_bytes());
    let b = binding(P1, BIND_SALT);
    let d = binding(P1, DELEGATE_SALT);
    assert_err(
        net.submit(relative(), &["AddDelegate", P1, &commitment], &[("binding", &d)]),
        403,
        &["neither the patient"],
    );
    net.submit(patient(), &["AddDelegate", P1, &commitment], &[("binding", &b)])
        .expect("patient names a delegate");
    assert_err(
        net.submit(patient(), &["AddDelegate", P1, &commitment], &[("binding", &b)]),
        409,
        &["already acts"],
    );
    let consent = doctor_b_consent().to_string();
    let granted = net
        .submit(
            relative(),
            &["GrantConsent", P1, C1, &consent],
            &[("binding", &d)],
        )
        .expect("delegate grants");
    assert_eq!(granted["performer"][0]["type"], "RelatedPerson");
    assert_eq!(
        granted["performer"][0]["identifier"]["value"],
        commitment.as_str()
    );
    net.evaluate(relative(), &["ListAccesses", P1], &[("binding", &d)])
        .expect("delegate lists accesses");
    assert_err(
        net.submit(relative(), &["ErasePatient", P1], &[("binding", &d)]),
        403,
        &["only the patient may"],
    );
    assert_err(
        net.submit(
            relative(),
            &["AddDelegate", P1, &"ab".repeat(32)],
            &[("binding", &d)],
        ),
        403,
        &["only the patient may"],
    );
    net.submit(
        patient(),
        &["RemoveDelegate", P1, &commitment],
        &[("binding", &b)],
    )
    .expect("removed");
    assert_err(
        net.submit(relative(), &["RevokeConsent", C1], &[("binding", &d)]),
        403,
        &["neither the patient"],
    );
    assert_err(
        net.submit(
            patient(),
            &["RemoveDelegate", P1, &commitment],
            &[("binding", &b)],
        ),
        404,
        &["not a delegate"],
    );
    let own = salted(BIND_SALT, patient().id.as_bytes());
    assert_err(
        net.submit(patient(), &["RemoveDelegate", P1, &own], &[("binding", &b)]),
        404,
        &["not a delegate"],
    );
}

#[test]
fn the_patient_links_registrations_at_two_hospitals() {
    let mut net = with_record();
    register_as(
        &mut net,
        HOSPITAL_B,
        P2,
        &patient(),
        BIND_SALT_B,
        "Synthetic Patient 0001",
    )
    .expect("register P2 at B");
    register_as(
        &mut net,
        HOSPITAL_A,
        P3,
        &patient3(),
        BIND_SALT_3,
        "Synthetic Patient 0003",
    )
    .expect("another patient");
    let both = json!({P1: BIND_SALT, P2: BIND_SALT_B}).to_string();
    let one = binding(P1, BIND_SALT);
    assert_err(
        net.submit(patient(), &["LinkPatients", P1, P2], &[("binding", &one)]),
        403,
        &[P2],
    );
    let other = json!({P1: BIND_SALT, P3: BIND_SALT_3}).to_string();
    assert_err(
        net.submit(patient(), &["LinkPatients", P1, P3], &[("binding", &other)]),
        403,
        &["neither the patient nor a delegate of cccc"],
    );
    assert_err(
        net.submit(patient(), &["LinkPatients", P1, P1], &[("binding", &both)]),
        400,
        &["itself"],
    );
    let linked = net
        .submit(patient(), &["LinkPatients", P1, P2], &[("binding", &both)])
        .expect("link");
    assert_eq!(linked["pseudonyms"], json!([P1, P2]));
    assert_eq!(
        net.public(&composite(&["patient", P1])).expect("P1")["linked"],
        json!([P2])
    );
    assert_eq!(
        net.public(&composite(&["patient", P2])).expect("P2")["linked"],
        json!([P1])
    );
    assert_err(
        net.submit(patient(), &["LinkPatients", P2, P1], &[("binding", &both)]),
        409,
        &["already linked"],
    );

    // A consent under P2 (hospital B's registration) covers P1's records (hospital A).
    let b2 = binding(P2, BIND_SALT_B);
    let consent = doctor_b_consent().to_string();
    net.submit(
        patient(),
        &["GrantConsent", P2, C1, &consent],
        &[("binding", &b2)],
    )
    .expect("grant under P2");
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_B), R1, "TREAT")["decision"],
        "permit"
    );
    // Records and accesses of both registrations are listed from either pseudonym.
    add_record(
        &mut net,
        doctor(HOSPITAL_B),
        P2,
        R2,
        &observation("vital-signs", "Synthetic heart rate 72/min"),
        SALT2,
    )
    .expect("B's record");
    let records = net
        .evaluate(doctor(HOSPITAL_B), &["ListRecords", P2], &[])
        .expect("list")["records"]
        .clone();
    let ids: Vec<&str> = records
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, [R2, R1]);
    let accesses = net
        .evaluate(patient(), &["ListAccesses", P2], &[("binding", &b2)])
        .expect("list")["accesses"]
        .clone();
    assert_eq!(accesses.as_array().expect("array").len(), 1);
    net.assert_clean(PHI);
}
