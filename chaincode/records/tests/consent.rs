//! Consents: FHIR R4 shape, grant and revoke by the patient only, key-level policies, history, rule
//! validation. Synthetic data.

mod common;

use chaincode_api::Role;
use common::*;
use serde_json::json;

#[test]
fn a_granted_consent_is_a_fhir_r4_consent_guarded_by_the_hospitals_peers() {
    let mut net = with_record();
    let updated_before = net.public(&composite(&["patient", P1])).expect("P1")["updated"].clone();
    let consent = grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["status"], "active");
    assert_eq!(consent["scope"]["coding"][0]["code"], "patient-privacy");
    assert_eq!(consent["category"][0]["coding"][0]["code"], "59284-0");
    assert_eq!(consent["patient"]["reference"], format!("Patient/{P1}"));
    assert_eq!(consent["performer"][0]["reference"], format!("Patient/{P1}"));
    assert_eq!(
        consent["organization"][0]["reference"],
        "Organization/HospitalAMSP"
    );
    assert_eq!(consent["provision"]["type"], "permit");
    assert_eq!(
        consent["provision"]["actor"][0]["role"]["coding"][0]["code"],
        "IRCP"
    );
    assert_eq!(
        consent["provision"]["actor"][0]["reference"]["identifier"]["value"],
        doctor(HOSPITAL_B).id
    );
    assert_eq!(consent["provision"]["purpose"][0]["code"], "TREAT");
    assert_eq!(consent["provision"]["class"][0]["code"], "laboratory");
    assert_eq!(net.public(&composite(&["consent", C1])), Some(consent.clone()));
    assert_eq!(
        net.ctx.state(&composite(&["consent~patient", P1, C1])),
        Some(C1.as_bytes())
    );
    let policy = net
        .ctx
        .committed_endorsement(&composite(&["consent", C1]))
        .expect("key-level policy");
    assert_eq!(
        (policy.orgs.clone(), policy.role),
        (vec![HOSPITAL_A.to_string()], Role::Peer)
    );
    // Granting rewrites the patient entry, whose policy requires hospital A's peer: no other org can forge it.
    assert!(
        net.ctx
            .last_tx()
            .writes
            .contains_key(&composite(&["patient", P1]))
    );
    assert_ne!(
        net.public(&composite(&["patient", P1])).expect("P1")["updated"],
        updated_before
    );
    assert_eq!(net.last_event().0, "ConsentGranted");
}

#[test]
fn only_the_patient_revokes_and_the_history_keeps_every_version() {
    let mut net = with_record();
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    let b = binding(P1, BIND_SALT);
    assert_err(
        net.submit(doctor(HOSPITAL_B), &["RevokeConsent", C1], &[("binding", &b)]),
        403,
        &["neither the patient"],
    );
    assert_err(
        net.submit(admin(HOSPITAL_A), &["RevokeConsent", C1], &[("binding", &b)]),
        403,
        &["administrator"],
    );
    let revoked = net
        .submit(patient(), &["RevokeConsent", C1], &[("binding", &b)])
        .expect("revoke");
    assert_eq!(revoked["status"], "inactive");
    assert_eq!(
        net.last_event(),
        (
            "ConsentRevoked".into(),
            json!({"id": C1, "patient": P1, "status": "inactive"})
        )
    );
    assert_err(
        net.submit(patient(), &["RevokeConsent", C1], &[("binding", &b)]),
        409,
        &["already inactive"],
    );
    assert!(
        net.public(&composite(&["consent", C1])).is_some(),
        "revoking never deletes"
    );
    let history = net
        .evaluate(insurer(), &["ConsentHistory", C1], &[])
        .expect("history");
    let statuses: Vec<&str> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|h| h["consent"]["status"].as_str().expect("s"))
        .collect();
    assert_eq!(statuses, ["inactive", "active"], "newest first");
    assert!(history[0]["txId"].is_string() && history[0]["timestamp"].is_string());
    assert_err(
        net.evaluate(insurer(), &["ConsentHistory", C2], &[]),
        404,
        &["does not exist"],
    );
    let listed = net
        .evaluate(doctor(HOSPITAL_B), &["ListConsents", P1], &[])
        .expect("list");
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert_eq!(
        net.evaluate(doctor(HOSPITAL_B), &["ReadConsent", C1], &[])
            .expect("read")["status"],
        "inactive"
    );
}

#[test]
fn grant_rules() {
    let mut net = with_record();
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    assert_err(
        grant(&mut net, P1, C1, &doctor_b_consent()),
        409,
        &["already exists"],
    );
    assert_err(
        grant(&mut net, P3, C2, &doctor_b_consent()),
        404,
        &["not registered"],
    );
    let cases = [
        (json!({"type": "permit"}), "period is required"),
        (
            provision(
                json!({"reference": "Organization/Bad MSP!"}),
                &["TREAT"],
                &[],
                "2024-01-01",
                None,
            ),
            "actor reference",
        ),
        (
            provision(
                json!({"reference": "Patient/x"}),
                &["TREAT"],
                &[],
                "2024-01-01",
                None,
            ),
            "actor reference",
        ),
        (
            provision(organization(HOSPITAL_B), &["MARKETING"], &[], "2024-01-01", None),
            "purpose must be one of",
        ),
        (
            provision(organization(HOSPITAL_B), &[], &[], "2024-01-01", None),
            "at least one",
        ),
        (
            provision(organization(HOSPITAL_B), &["TREAT"], &[], "yesterday", None),
            "not a FHIR date",
        ),
        (
            provision(
                organization(HOSPITAL_B),
                &["TREAT"],
                &[],
                "2024-06-01",
                Some("2024-01-01"),
            ),
            "ends before it starts",
        ),
        (
            provision(
                organization(HOSPITAL_B),
                &["TREAT"],
                &["lab oratory"],
                "2024-01-01",
                None,
            ),
            "class code",
        ),
    ];
    for (provision, fragment) in cases {
        assert_err(grant(&mut net, P1, C2, &provision), 400, &[fragment]);
    }
    let mut bad_action = doctor_b_consent();
    bad_action["action"] = json!([{"coding": [{"code": "sell"}]}]);
    assert_err(
        grant(&mut net, P1, C2, &bad_action),
        400,
        &["action must be one of"],
    );
    let mut nested_permit = doctor_b_consent();
    nested_permit["provision"] = json!([{"type": "permit"}]);
    assert_err(
        grant(&mut net, P1, C2, &nested_permit),
        400,
        &["must be of type deny"],
    );
    let mut unknown = doctor_b_consent();
    unknown["dataPeriod"] = json!({"start": "2024-01-01"});
    assert_err(grant(&mut net, P1, C2, &unknown), 400, &["unknown field"]);
    let research = research_provision(&[]);
    assert_err(
        grant(&mut net, P1, C2, &research),
        400,
        &["transient field \"research\""],
    );
    let b = binding(P1, BIND_SALT);
    let bad_token = json!({"token": "123"}).to_string();
    assert_err(
        net.submit(
            patient(),
            &["GrantConsent", P1, C2, &research.to_string()],
            &[("binding", &b), ("research", &bad_token)],
        ),
        400,
        &["research token must be 32"],
    );
    assert!(
        net.public(&composite(&["consent", C2])).is_none(),
        "refused grants write nothing"
    );
}

#[test]
fn a_research_consent_stores_the_token_privately() {
    let mut net = with_record();
    let b = binding(P1, BIND_SALT);
    let token = json!({"token": TOKEN}).to_string();
    let consent = net
        .submit(
            patient(),
            &["GrantConsent", P1, C3, &research_provision(&[]).to_string()],
            &[("binding", &b), ("research", &token)],
        )
        .expect("research consent");
    assert_eq!(consent["scope"]["coding"][0]["code"], "research");
    assert_eq!(
        net.private("records_HospitalAMSP", &composite(&["research", P1])),
        Some(json!({"token": TOKEN}))
    );
    net.assert_clean(&[TOKEN]);
    // A second registration at another hospital gets the token with SetResearchToken.
    register_as(
        &mut net,
        HOSPITAL_B,
        P2,
        &patient(),
        BIND_SALT_B,
        "Synthetic Patient 0001",
    )
    .expect("P2");
    let b2 = binding(P2, BIND_SALT_B);
    assert_err(
        net.submit(patient(), &["SetResearchToken", P2], &[("binding", &b2)]),
        400,
        &["transient field \"research\""],
    );
    net.submit(
        patient(),
        &["SetResearchToken", P2],
        &[("binding", &b2), ("research", &token)],
    )
    .expect("token at B");
    assert_eq!(
        net.private("records_HospitalBMSP", &composite(&["research", P2])),
        Some(json!({"token": TOKEN}))
    );
    assert_err(
        net.submit(
            doctor(HOSPITAL_B),
            &["SetResearchToken", P2],
            &[("binding", &b2), ("research", &token)],
        ),
        403,
        &["neither"],
    );
}
