//! Revoking a research consent names the patient's research token in `ConsentRevoked`, so the off-chain
//! analytics store (`carechain analytics sync`) can remove the patient's de-identified entries; revoking
//! any other consent keeps the event as it was. Synthetic data.

mod common;

use common::*;
use serde_json::json;

#[test]
fn revoking_a_research_consent_names_the_research_token() {
    let mut net = with_record();
    let b = binding(P1, BIND_SALT);
    let token = json!({"token": TOKEN}).to_string();
    net.submit(
        patient(),
        &["GrantConsent", P1, C3, &research_provision(&[]).to_string()],
        &[("binding", &b), ("research", &token)],
    )
    .expect("research consent");
    net.submit(patient(), &["RevokeConsent", C3], &[("binding", &b)])
        .expect("revoke");
    assert_eq!(
        net.last_event(),
        (
            "ConsentRevoked".into(),
            json!({"id": C3, "patient": P1, "status": "inactive", "researchToken": TOKEN})
        )
    );
}

#[test]
fn revoking_another_consent_carries_no_token() {
    let mut net = with_record();
    let b = binding(P1, BIND_SALT);
    let token = json!({"token": TOKEN}).to_string();
    net.submit(
        patient(),
        &["GrantConsent", P1, C3, &research_provision(&[]).to_string()],
        &[("binding", &b), ("research", &token)],
    )
    .expect("research consent");
    grant(&mut net, P1, C1, &doctor_b_consent()).expect("treatment consent");
    net.submit(patient(), &["RevokeConsent", C1], &[("binding", &b)])
        .expect("revoke");
    assert_eq!(
        net.last_event(),
        (
            "ConsentRevoked".into(),
            json!({"id": C1, "patient": P1, "status": "inactive"})
        )
    );
}
