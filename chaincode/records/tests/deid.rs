//! De-identified research events: only with an active HRESCH consent and a research token; Safe Harbor age
//! bands (90+), ZIP3 (restricted prefixes → 000), sex, year, category, random token. Synthetic data.

mod common;

use common::*;
use serde_json::{Value, json};

/// Registers P3 at hospital A with `birth_date` and `zip`, research consent (optionally limited to
/// `classes`) and the research token.
fn research_patient(birth_date: &str, zip: &str, classes: &[&str]) -> Net {
    let mut net = Net::new();
    let body =
        json!({"resourceType": "Patient", "name": [{"text": "Synthetic Patient 0003"}], "gender": "male",
        "birthDate": birth_date, "address": [{"postalCode": zip}]})
        .to_string();
    let link = json!({"certId": patient3().id, "salt": BIND_SALT_3}).to_string();
    net.submit(
        doctor(HOSPITAL_A),
        &["RegisterPatient", P3],
        &[("patient", &body), ("link", &link)],
    )
    .expect("register");
    let b = binding(P3, BIND_SALT_3);
    let token = json!({"token": TOKEN}).to_string();
    let research = research_provision(classes).to_string();
    net.submit(
        patient3(),
        &["GrantConsent", P3, C3, &research],
        &[("binding", &b), ("research", &token)],
    )
    .expect("research consent");
    net
}

fn write(net: &mut Net, id: &str, category: &str, date: &str) -> (String, Value) {
    let mut obs = observation(category, "Synthetic glucose 5.4 mmol/L");
    obs["effectiveDateTime"] = json!(date);
    add_record(net, doctor(HOSPITAL_A), P3, id, &obs, SALT1).expect("add record");
    net.last_event()
}

#[test]
fn a_record_of_a_research_patient_emits_exactly_the_safe_harbor_fields() {
    let mut net = research_patient("1929-01-10", "03601", &[]);
    let (name, payload) = write(&mut net, R1, "laboratory", "2024-03-01T09:30:00Z");
    assert_eq!(name, "DeidentifiedEntry");
    assert_eq!(
        payload,
        json!({"category": "laboratory", "year": 2024, "ageBand": "90+", "sex": "male", "zip3": "000", "researchToken": TOKEN}),
        "age 95 → 90+, ZIP 03601 (restricted 036) → 000"
    );
    for phi in [
        "Synthetic Patient 0003",
        "1929",
        "03601",
        P3,
        R1,
        "Synthetic glucose",
    ] {
        assert!(!payload.to_string().contains(phi), "event leaks {phi}");
    }
}

#[test]
fn zip_and_age_follow_safe_harbor() {
    let mut net = research_patient("1960-07-01", "10001", &[]);
    let (_, before_birthday) = write(&mut net, R1, "laboratory", "2024-06-30");
    assert_eq!(before_birthday["zip3"], "100", "ZIP 10001 → 100");
    assert_eq!(
        before_birthday["ageBand"], "60-64",
        "63 the day before the 64th birthday"
    );
    let (_, on_birthday) = write(&mut net, R2, "laboratory", "2025-07-01");
    assert_eq!(on_birthday["ageBand"], "65-69", "65 on the birthday");
    let mut net = research_patient("1929-01-10", "10001", &[]);
    assert_eq!(
        write(&mut net, R1, "laboratory", "2010-03-01").1["ageBand"],
        "80-84",
        "age at the record's date"
    );
    assert_eq!(
        write(&mut net, R2, "laboratory", "2019-03-01").1["ageBand"],
        "90+"
    );
}

#[test]
fn only_with_research_consent_covering_the_category() {
    // No research consent: the ordinary event.
    let mut net = with_record();
    assert_eq!(net.events.last().map(|e| e.0.as_str()), Some("RecordAdded"));
    // A treatment consent is not a research consent.
    grant(
        &mut net,
        P1,
        C1,
        &provision(organization(RESEARCH), &["TREAT"], &[], "2020-01-01", None),
    )
    .expect("treat");
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R2,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT2,
    )
    .expect("R2");
    assert_eq!(net.last_event().0, "RecordAdded");
    // Research consent limited to laboratory: vital signs stay out.
    let mut net = research_patient("1929-01-10", "10001", &["laboratory"]);
    assert_eq!(write(&mut net, R1, "vital-signs", "2024-03-01").0, "RecordAdded");
    assert_eq!(
        write(&mut net, R2, "laboratory", "2024-03-01").0,
        "DeidentifiedEntry"
    );
    // Revoked: no more entries.
    let b = binding(P3, BIND_SALT_3);
    net.submit(patient3(), &["RevokeConsent", C3], &[("binding", &b)])
        .expect("revoke");
    assert_eq!(write(&mut net, R3, "laboratory", "2024-03-01").0, "RecordAdded");
}

#[test]
fn a_research_consent_whose_period_ended_emits_nothing() {
    let mut net = Net::new();
    register_as(
        &mut net,
        HOSPITAL_A,
        P1,
        &patient(),
        BIND_SALT,
        "Synthetic Patient 0001",
    )
    .expect("register");
    let mut research = research_provision(&[]);
    research["period"] = json!({"start": "2020-01-01", "end": "2023-12-31"});
    let b = binding(P1, BIND_SALT);
    let token = json!({"token": TOKEN}).to_string();
    net.submit(
        patient(),
        &["GrantConsent", P1, C3, &research.to_string()],
        &[("binding", &b), ("research", &token)],
    )
    .expect("old consent");
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R1,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT1,
    )
    .expect("R1");
    assert_eq!(net.last_event().0, "RecordAdded");
}

#[test]
fn a_linked_registration_without_a_token_emits_nothing_until_it_gets_one() {
    let mut net = research_patient("1929-01-10", "10001", &[]);
    let link = json!({"certId": patient3().id, "salt": BIND_SALT_B}).to_string();
    let body = synthetic_patient("Synthetic Patient 0003").to_string();
    net.submit(
        doctor(HOSPITAL_B),
        &["RegisterPatient", P2],
        &[("patient", &body), ("link", &link)],
    )
    .expect("at B");
    let both = json!({P3: BIND_SALT_3, P2: BIND_SALT_B}).to_string();
    net.submit(patient3(), &["LinkPatients", P3, P2], &[("binding", &both)])
        .expect("link");
    let obs = observation("laboratory", "Synthetic glucose 5.4 mmol/L");
    add_record(&mut net, doctor(HOSPITAL_B), P2, R1, &obs, SALT1).expect("record at B");
    assert_eq!(
        net.last_event().0,
        "RecordAdded",
        "the consent applies, but B holds no token"
    );
    let b2 = binding(P2, BIND_SALT_B);
    let token = json!({"token": TOKEN}).to_string();
    net.submit(
        patient3(),
        &["SetResearchToken", P2],
        &[("binding", &b2), ("research", &token)],
    )
    .expect("token at B");
    add_record(&mut net, doctor(HOSPITAL_B), P2, R2, &obs, SALT2).expect("record at B");
    let (name, payload) = net.last_event();
    assert_eq!(
        (name.as_str(), payload["researchToken"].as_str()),
        ("DeidentifiedEntry", Some(TOKEN))
    );
}

#[test]
fn a_lab_report_of_a_research_patient_emits_an_entry_too() {
    let mut net = research_patient("1929-01-10", "10001", &[]);
    net.submit(
        lab_admin(),
        &["CreateLabReport", P3, L1],
        &[("resource", &lab_report().to_string()), ("salt", SALT3)],
    )
    .expect("report");
    let (name, payload) = net.last_event();
    assert_eq!(name, "DeidentifiedEntry");
    assert_eq!(
        (payload["category"].as_str(), payload["year"].as_i64()),
        (Some("LAB"), Some(2024))
    );
    assert_eq!(
        (payload["ageBand"].as_str(), payload["zip3"].as_str()),
        (Some("90+"), Some("100"))
    );
}
