//! Nothing clinical or financial reaches the shared ledger or the event stream: every public key and value
//! and every event payload is scanned for the amounts, codes and dates used in the (synthetic) details.

mod common;

use chaincode_api::testing::MockContext;
use common::*;
use serde_json::json;

/// Every string that appears only in private details.
const SECRETS: &[&str] = &[
    DIAGNOSIS_CODE,
    SERVICE_1,
    SERVICE_2,
    SERVICE_DATE,
    NET_1,
    NET_2,
    TOTAL,
    BENEFIT_1,
    "617.28",
    "123456",
    "1975.00",
    "-25.00",
    "2024-02-01",
    "SYN-EFT-0001",
    "Synthetic pended",
    "icd-10",
    "ama-assn",
    "USD",
];

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} contains {secret:?}: {text}");
    }
}

fn record_event(ctx: &MockContext, events: &mut Vec<(String, Vec<u8>)>) {
    let event = ctx.event().expect("every transition emits an event");
    events.push((event.name.clone(), event.payload.clone()));
}

#[test]
fn public_state_and_events_hold_no_details() {
    let mut ctx = covered();
    let mut events = Vec::new();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    record_event(&ctx, &mut events);
    queue(&mut ctx, INSURER_A, "CLM-0001").expect("queue");
    record_event(&ctx, &mut events);
    let mut adjudication = partial_adjudication();
    adjudication["disposition"] = json!("Synthetic pended item");
    adjudicate(&mut ctx, INSURER_A, "CLM-0001", &adjudication).expect("adjudicate");
    record_event(&ctx, &mut events);
    let payment = json!({"date": "2024-02-01", "identifier": {"value": "SYN-EFT-0001"}});
    run(
        &mut ctx,
        adjuster(INSURER_A),
        &["PayClaim", "CLM-0001"],
        Some(("payment", &payment)),
    )
    .expect("pay");
    record_event(&ctx, &mut events);
    let second = details(vec![item(1, SERVICE_1, SERVICE_DATE, 2, "617.28", NET_1)], NET_1);
    submit(&mut ctx, HOSPITAL_B, "CLM-0002", INSURER_A, PATIENT_2, &second).expect("submit");
    record_event(&ctx, &mut events);
    run(&mut ctx, billing(HOSPITAL_B), &["CancelClaim", "CLM-0002"], None).expect("cancel");
    record_event(&ctx, &mut events);

    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ClaimSubmitted",
            "ClaimQueued",
            "ClaimAdjudicated",
            "ClaimPaid",
            "ClaimSubmitted",
            "ClaimCancelled"
        ]
    );
    for (name, payload) in &events {
        assert_clean(name, payload);
        let record = parse(payload);
        assert!(
            record["id"].is_string() && record["status"].is_string(),
            "{name} carries the public record"
        );
    }
    for key in ctx.keys() {
        assert_clean("a public key", key.as_bytes());
        assert_clean(
            &format!("public value of {key:?}"),
            ctx.state(key).expect("value"),
        );
    }
    // The details are there, privately.
    let private = ctx
        .private_state(
            "claims_HospitalAMSP_InsurerAMSP",
            "\u{0}claimresponse\u{0}CLM-0001\u{0}",
        )
        .expect("private");
    let text = String::from_utf8_lossy(private);
    assert!(text.contains(BENEFIT_1) && text.contains("2024-02-01"), "{text}");
}

#[test]
fn the_public_record_has_exactly_the_ledger_fields() {
    let mut ctx = covered();
    let record = submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    let fields: Vec<&str> = record
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "coverage", "created", "id", "insurer", "patient", "provider", "status"
        ]
    );
    assert_eq!(ctx.state("\u{0}claim\u{0}CLM-0001\u{0}").map(parse), Some(record));
}
