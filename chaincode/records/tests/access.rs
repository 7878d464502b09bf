//! Audited access: denied without consent (audited, outcome 8), allowed after a grant (audited, outcome 0,
//! grant usable in ReadRecord by its holder only), denied after revocation or after the period, denied for
//! administrators, insurers and analysts; the patient's and the compliance officer's lists. Synthetic data.

mod common;

use common::*;
use serde_json::{Value, json};

fn audit(net: &Net, answer: &Value) -> Value {
    let id = answer["audit"].as_str().expect("audit id");
    net.public(&composite(&["audit", id]))
        .expect("audit event committed")
}

#[test]
fn without_consent_the_doctor_is_denied_and_the_denial_is_audited() {
    let mut net = with_record();
    let answer = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    assert_eq!(answer["decision"], "deny");
    assert_eq!(answer["outcome"], "8");
    assert!(answer.get("grant").is_none());
    let event = audit(&net, &answer);
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(event["type"]["code"], "110110");
    assert_eq!(event["action"], "R");
    assert_eq!(event["outcome"], "8");
    assert_eq!(event["recorded"], "2024-01-01T00:00:02.000000000Z");
    assert!(
        event["outcomeDesc"]
            .as_str()
            .expect("desc")
            .contains("no active consent permits access of laboratory records for TREAT")
    );
    assert_eq!(
        event["agent"][0]["who"]["identifier"]["value"],
        doctor(HOSPITAL_B).id
    );
    assert_eq!(
        event["agent"][0]["who"]["identifier"]["assigner"]["reference"],
        "Organization/HospitalBMSP"
    );
    assert_eq!(event["agent"][0]["requestor"], true);
    assert!(
        event["agent"][0].get("policy").is_none(),
        "no consent authorised it"
    );
    assert_eq!(event["agent"][0]["purposeOfUse"][0]["coding"][0]["code"], "TREAT");
    assert_eq!(event["entity"][0]["what"]["identifier"]["value"], R1);
    assert_eq!(event["entity"][1]["what"]["reference"], format!("Patient/{P1}"));
    assert_eq!(event["source"]["site"], "care");
    assert_eq!(net.last_event().0, "AccessAudited");
    let would_be = chaincode_records::ids::derive_id("grant", &net.ctx.last_tx().tx_id);
    assert_eq!(
        answer["audit"],
        chaincode_records::ids::derive_id("audit", &net.ctx.last_tx().tx_id)
    );
    assert!(
        net.private("records_HospitalAMSP", &composite(&["grant", &would_be]))
            .is_none(),
        "no grant when denied"
    );
}

#[test]
fn after_the_patient_grants_the_doctor_is_allowed_audited_and_can_read_once_committed() {
    let mut net = with_record();
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    let answer = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    assert_eq!(
        (answer["decision"].as_str(), answer["outcome"].as_str()),
        (Some("permit"), Some("0"))
    );
    let event = audit(&net, &answer);
    assert_eq!(event["outcome"], "0");
    assert_eq!(event["agent"][0]["policy"], json!([format!("Consent/{C1}")]));
    let grant_id = answer["grant"].as_str().expect("grant id").to_string();
    let stored = net
        .private("records_HospitalAMSP", &composite(&["grant", &grant_id]))
        .expect("grant in the record's collection");
    assert_eq!(stored["who"], doctor(HOSPITAL_B).id);
    assert_eq!(stored["records"], json!([R1]));
    assert_eq!(stored["audit"], event["id"]);
    assert_eq!(stored["expires"], answer["expires"]);
    assert_eq!(
        answer["expires"], "2024-01-01T00:15:03.000000000Z",
        "15 minutes after the request's timestamp"
    );

    let read = net
        .evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[])
        .expect("read");
    assert_eq!(read["resource"]["valueString"], "Synthetic glucose 5.4 mmol/L");
    assert_eq!(read["hash"], read["record"]["hash"]);
    assert_eq!(
        read["hash"],
        salted(
            read["salt"].as_str().expect("salt"),
            chaincode_records::hashing::canonical_json(&read["resource"]).as_bytes()
        )
    );
    assert!(net.ctx.last_tx().writes.is_empty(), "ReadRecord writes nothing");
    // Usable again within its validity (an evaluate cannot consume it), by its holder only.
    net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[])
        .expect("read again");
    assert_err(
        net.evaluate(other_doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[]),
        403,
        &["issued to another identity"],
    );
    assert_err(
        net.evaluate(doctor(HOSPITAL_A), &["ReadRecord", &grant_id, R1], &[]),
        403,
        &["issued to another identity"],
    );
    assert_err(
        net.evaluate(admin(HOSPITAL_A), &["ReadRecord", &grant_id, R1], &[]),
        403,
        &["administrators never receive PHI"],
    );
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R2,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT2,
    )
    .expect("R2");
    assert_err(
        net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R2], &[]),
        403,
        &["covers other records"],
    );
    let unknown = format!("grant-{}", "0".repeat(32));
    assert_err(
        net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", &unknown, R1], &[]),
        404,
        &["does not exist in collection records_HospitalAMSP"],
    );
    assert_err(
        net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", "audit-1", R1], &[]),
        400,
        &["grant id"],
    );
    net.set_time(START + 3 + 15 * 60);
    net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[])
        .expect("still valid at its last second");
    net.set_time(START + 4 + 15 * 60);
    assert_err(
        net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[]),
        403,
        &["request access again"],
    );
    net.set_time(START);
    assert_err(
        net.evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[]),
        403,
        &["valid from"],
    );
    net.assert_clean(PHI);
}

#[test]
fn reading_needs_a_peer_of_the_records_collection() {
    let mut net = with_record();
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    let grant_id = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT")["grant"]
        .as_str()
        .expect("grant")
        .to_string();
    let mut outsider = net.ctx.clone().with_collection("records_HospitalAMSP", false);
    outsider.set_caller(doctor(HOSPITAL_B));
    let err = outsider
        .evaluate(
            &chaincode_records::RecordsContract,
            &["ReadRecord", &grant_id, R1],
        )
        .expect_err("not a member");
    assert_eq!(err.status(), 403, "{err}");
}

#[test]
fn after_revocation_or_after_the_period_the_doctor_is_denied() {
    let mut net = with_record();
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_B), R1, "TREAT")["decision"],
        "permit"
    );
    let b = binding(P1, BIND_SALT);
    net.submit(patient(), &["RevokeConsent", C1], &[("binding", &b)])
        .expect("revoke");
    let after_revoke = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    assert_eq!(after_revoke["decision"], "deny");
    assert!(
        after_revoke["reason"]
            .as_str()
            .expect("reason")
            .contains(&format!("consent {C1} is inactive"))
    );

    let mut net = with_record();
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant, ends 2024-06-30");
    net.set_time(1_719_791_999); // 2024-06-30T23:59:59Z: the end date is inclusive
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_B), R1, "TREAT")["decision"],
        "permit"
    );
    net.set_time(1_719_792_000); // 2024-07-01T00:00:00Z
    let expired = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    assert_eq!(expired["decision"], "deny");
    assert!(
        expired["reason"]
            .as_str()
            .expect("reason")
            .contains("its period has ended")
    );
    let future = provision(
        practitioner(&doctor(HOSPITAL_B)),
        &["TREAT"],
        &[],
        "2030-01-01",
        None,
    );
    grant(&mut net, P1, C2, &future).expect("future consent");
    assert!(
        request(&mut net, doctor(HOSPITAL_B), R1, "TREAT")["reason"]
            .as_str()
            .expect("r")
            .contains("has not started")
    );
}

#[test]
fn consent_matching_rules() {
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
    // An organization-wide consent for hospital B, treatment, any category.
    grant(
        &mut net,
        P1,
        C1,
        &provision(organization(HOSPITAL_B), &["TREAT"], &[], "2024-01-01", None),
    )
    .expect("org consent");
    assert_eq!(
        request(&mut net, nurse(HOSPITAL_B), R2, "TREAT")["decision"],
        "permit",
        "any practitioner of the org"
    );
    assert_eq!(
        request(&mut net, nurse(HOSPITAL_B), R2, "HPAYMT")["decision"],
        "deny",
        "purpose must match"
    );
    assert_eq!(
        request(&mut net, nurse("HospitalCMSP"), R2, "TREAT")["decision"],
        "deny",
        "actor must match"
    );
    // A practitioner consent limited to laboratory records.
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
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_B), R2, "TREAT")["decision"],
        "deny",
        "category must match"
    );
    let both = json!([R1, R2]).to_string();
    let answer = net
        .submit(doctor(HOSPITAL_B), &["RequestAccess", &both, "TREAT"], &[])
        .expect("two records");
    assert_eq!(answer["decision"], "deny", "every record must be permitted");
    assert_eq!(
        audit(&net, &answer)["entity"].as_array().expect("entities").len(),
        3
    );
    // A nested deny excludes one purpose-category pair; a top-level deny wins over any permit.
    let mut net = with_record();
    let mut with_exception = provision(
        organization(HOSPITAL_B),
        &["TREAT", "ETREAT"],
        &[],
        "2024-01-01",
        None,
    );
    with_exception["provision"] =
        json!([{"type": "deny", "purpose": [{"code": "ETREAT"}], "class": [{"code": "laboratory"}]}]);
    grant(&mut net, P1, C1, &with_exception).expect("grant with exception");
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_B), R1, "TREAT")["decision"],
        "permit"
    );
    let denied = request(&mut net, doctor(HOSPITAL_B), R1, "ETREAT");
    assert_eq!(denied["decision"], "deny");
    assert!(denied["reason"].as_str().expect("r").contains("nested deny"));
    let mut deny = provision(
        practitioner(&doctor(HOSPITAL_B)),
        &["TREAT"],
        &[],
        "2024-01-01",
        None,
    );
    deny["type"] = json!("deny");
    grant(&mut net, P1, C2, &deny).expect("deny consent");
    let denied = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    assert!(
        denied["reason"]
            .as_str()
            .expect("r")
            .contains(&format!("consent {C2} denies it"))
    );
    assert_eq!(
        request(&mut net, nurse(HOSPITAL_B), R1, "TREAT")["decision"],
        "permit",
        "the deny names only the doctor"
    );
}

#[test]
fn administrators_insurers_and_analysts_are_denied_and_audited_even_with_consent() {
    let mut net = with_record();
    grant(
        &mut net,
        P1,
        C1,
        &provision(
            organization(HOSPITAL_A),
            &["TREAT", "HPAYMT", "ETREAT"],
            &[],
            "2024-01-01",
            None,
        ),
    )
    .expect("grant A");
    grant(
        &mut net,
        P1,
        C2,
        &provision(organization(INSURER), &["HPAYMT"], &[], "2024-01-01", None),
    )
    .expect("grant insurer");
    let cases = [
        (admin(HOSPITAL_A), "TREAT", "administrators never receive PHI"),
        (
            admin_with_doctor_attr(HOSPITAL_A),
            "TREAT",
            "administrators never receive PHI",
        ),
        (
            admin(INSURER),
            "TREAT",
            "administrator (NodeOU admin) of InsurerMSP",
        ),
        (lab_admin(), "TREAT", "administrators never receive PHI"),
        (insurer(), "HPAYMT", "role attribute is insurer"),
        (analyst(), "HRESCH", "role attribute is analyst"),
        (
            compliance(HOSPITAL_A),
            "TREAT",
            "role attribute is compliance_officer",
        ),
    ];
    for (who, purpose, reason) in cases {
        let answer = request(&mut net, who.clone(), R1, purpose);
        assert_eq!(answer["decision"], "deny", "{}", who.subject);
        let event = audit(&net, &answer);
        assert_eq!(event["outcome"], "8");
        assert!(
            event["outcomeDesc"].as_str().expect("d").contains(reason),
            "{}: {}",
            who.subject,
            event["outcomeDesc"]
        );
        assert_eq!(event["agent"][0]["who"]["identifier"]["value"], who.id);
    }
    assert_eq!(
        request(&mut net, doctor(HOSPITAL_A), R1, "TREAT")["decision"],
        "permit"
    );
}

#[test]
fn the_patient_lists_every_access_and_compliance_lists_its_org() {
    let mut net = with_record();
    request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("grant");
    request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    request(&mut net, admin(HOSPITAL_A), R1, "TREAT");
    request(&mut net, nurse(HOSPITAL_B), R1, "TREAT");
    request(&mut net, insurer(), R1, "HPAYMT");
    let accesses = list_accesses(&mut net, P1);
    let outcomes: Vec<(&str, &str)> = accesses
        .iter()
        .map(|a| {
            (
                a["agent"][0]["who"]["display"].as_str().expect("who"),
                a["outcome"].as_str().expect("o"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("Synthetic Doctor HospitalBMSP", "8"),
            ("Synthetic Doctor HospitalBMSP", "0"),
            ("Synthetic Admin HospitalAMSP", "8"),
            ("Synthetic Nurse HospitalBMSP", "8"),
            ("Synthetic Claims Adjuster", "8"),
        ]
    );
    assert_err(
        net.evaluate(patient(), &["ListAccesses", P1], &[]),
        403,
        &["must prove"],
    );
    assert_err(
        net.evaluate(
            doctor(HOSPITAL_B),
            &["ListAccesses", P1],
            &[("binding", &binding(P1, BIND_SALT))],
        ),
        403,
        &["neither"],
    );

    let first = net
        .evaluate(compliance(HOSPITAL_B), &["ListAccessesByOrg", "2"], &[])
        .expect("page 1");
    assert_eq!(first["organization"], HOSPITAL_B);
    assert_eq!(first["accesses"].as_array().expect("a").len(), 2);
    let bookmark = first["bookmark"].as_str().expect("bookmark").to_string();
    assert!(!bookmark.is_empty());
    let second = net
        .evaluate(
            compliance(HOSPITAL_B),
            &["ListAccessesByOrg", "2", &bookmark],
            &[],
        )
        .expect("page 2");
    let rest = second["accesses"].as_array().expect("a");
    assert_eq!(rest.len(), 1);
    assert_eq!(
        rest[0]["agent"][0]["who"]["display"],
        "Synthetic Nurse HospitalBMSP"
    );
    assert_eq!(second["bookmark"], "");
    let a = net
        .evaluate(compliance(HOSPITAL_A), &["ListAccessesByOrg"], &[])
        .expect("hospital A");
    assert_eq!(
        a["accesses"].as_array().expect("a").len(),
        1,
        "only hospital A's admin"
    );
    assert_err(
        net.evaluate(
            compliance(HOSPITAL_A),
            &["ListAccessesByOrg", "2", &bookmark],
            &[],
        ),
        400,
        &["another organization"],
    );
    assert_err(
        net.evaluate(doctor(HOSPITAL_B), &["ListAccessesByOrg"], &[]),
        403,
        &["compliance_officer"],
    );
    assert_err(
        net.evaluate(compliance(HOSPITAL_B), &["ListAccessesByOrg", "0"], &[]),
        400,
        &["page size"],
    );
}

#[test]
fn request_rules() {
    let mut net = with_record();
    assert_err(
        net.submit(doctor(HOSPITAL_B), &["RequestAccess", R3, "TREAT"], &[]),
        404,
        &["does not exist"],
    );
    assert_err(
        net.submit(doctor(HOSPITAL_B), &["RequestAccess", R1, "MARKETING"], &[]),
        400,
        &["purpose"],
    );
    assert_err(
        net.submit(doctor(HOSPITAL_B), &["RequestAccess", "[]", "TREAT"], &[]),
        400,
        &["1 to 20"],
    );
    let twice = json!([R1, R1]).to_string();
    assert_err(
        net.submit(doctor(HOSPITAL_B), &["RequestAccess", &twice, "TREAT"], &[]),
        400,
        &["named twice"],
    );
    register_as(
        &mut net,
        HOSPITAL_A,
        P3,
        &patient3(),
        BIND_SALT_3,
        "Synthetic Patient 0003",
    )
    .expect("P3");
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P3,
        R3,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT3,
    )
    .expect("R3");
    let mixed = json!([R1, R3]).to_string();
    assert_err(
        net.submit(doctor(HOSPITAL_B), &["RequestAccess", &mixed, "TREAT"], &[]),
        400,
        &["another patient or collection"],
    );
    let before = net.ctx.keys().len();
    assert!(
        net.ctx.keys().iter().all(|k| !k.contains("audit")) && before > 0,
        "refused requests audit nothing"
    );
}
