//! No PHI ever reaches public state, an event or the response of a submitted transaction: every function is
//! driven once and every public key and value, every event payload and every submit response is scanned for
//! the synthetic PHI strings and the secrets (binding salts, record salts, the patient's certificate id, the
//! research token, which may appear only in the de-identified event). Synthetic data.

mod common;

use common::*;
use serde_json::json;

#[test]
fn no_phi_or_secret_in_public_state_events_or_submit_responses() {
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
    register_as(
        &mut net,
        HOSPITAL_B,
        P2,
        &patient(),
        BIND_SALT_B,
        "Synthetic Patient 0001",
    )
    .expect("register at B");
    let both = json!({P1: BIND_SALT, P2: BIND_SALT_B}).to_string();
    net.submit(patient(), &["LinkPatients", P1, P2], &[("binding", &both)])
        .expect("link");
    let b = binding(P1, BIND_SALT);
    let commitment = salted(DELEGATE_SALT, relative().id.as_bytes());
    net.submit(patient(), &["AddDelegate", P1, &commitment], &[("binding", &b)])
        .expect("delegate");
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R1,
        &observation("laboratory", "Synthetic glucose 5.4 mmol/L"),
        SALT1,
    )
    .expect("R1");
    request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("consent");
    let granted = request(&mut net, doctor(HOSPITAL_B), R1, "TREAT");
    let grant_id = granted["grant"].as_str().expect("grant").to_string();
    let read = net
        .evaluate(doctor(HOSPITAL_B), &["ReadRecord", &grant_id, R1], &[])
        .expect("evaluate discloses");
    assert!(
        read.to_string().contains("Synthetic glucose 5.4 mmol/L"),
        "only the evaluate carries PHI"
    );
    for who in [admin(HOSPITAL_A), admin(INSURER), insurer(), analyst()] {
        request(&mut net, who, R1, "TREAT");
    }
    let token = json!({"token": TOKEN}).to_string();
    net.submit(
        patient(),
        &["GrantConsent", P1, C3, &research_provision(&[]).to_string()],
        &[("binding", &b), ("research", &token)],
    )
    .expect("research consent");
    net.submit(
        patient(),
        &["SetResearchToken", P2],
        &[("binding", &binding(P2, BIND_SALT_B)), ("research", &token)],
    )
    .expect("token B");
    add_record(
        &mut net,
        doctor(HOSPITAL_A),
        P1,
        R2,
        &observation("vital-signs", "Synthetic heart rate 72/min"),
        SALT2,
    )
    .expect("R2");
    assert_eq!(net.last_event().0, "DeidentifiedEntry");
    let report = net
        .submit(
            lab_admin(),
            &["CreateLabReport", P1, L1],
            &[("resource", &lab_report().to_string()), ("salt", SALT3)],
        )
        .expect("lab report");
    let hash = report["hash"].as_str().expect("hash").to_string();
    net.submit(admin(HOSPITAL_A), &["SignLabReport", L1, &hash], &[])
        .expect("countersign");
    net.submit(patient(), &["RevokeConsent", C1], &[("binding", &b)])
        .expect("revoke");
    net.submit(patient(), &["RequestErasure", P1], &[("binding", &b)])
        .expect("request erasure");
    net.submit(admin(HOSPITAL_A), &["ErasePatient", P1], &[])
        .expect("erase");

    let (patient_id, relative_id) = (patient().id, relative().id);
    let secrets = [
        BIND_SALT,
        BIND_SALT_B,
        DELEGATE_SALT,
        SALT1,
        SALT2,
        SALT3,
        patient_id.as_str(),
        relative_id.as_str(),
    ];
    net.assert_clean(&[PHI, &secrets].concat());
    // The research token appears only in de-identified events, never in state or a response.
    let mut state_and_responses = Net::new();
    state_and_responses.ctx = net.ctx.clone();
    state_and_responses.responses = net.responses.clone();
    state_and_responses.assert_clean(&[TOKEN]);
    let with_token: Vec<&str> = net
        .events
        .iter()
        .filter(|(_, p)| String::from_utf8_lossy(p).contains(TOKEN))
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(with_token, ["DeidentifiedEntry", "DeidentifiedEntry"]);
    assert_eq!(net.responses.len(), 20, "every submit above was scanned");
}
