//! The claim lifecycle: submit → queue → adjudicate → pay, cancellation, the state machine, history, events
//! and the key-level endorsement policies. All data is synthetic.

mod common;

use chaincode_api::testing::MockContext;
use chaincode_api::{KeyEndorsement, Role, create_composite_key};
use common::*;
use serde_json::{Value, json};

fn claim_key(id: &str) -> String {
    create_composite_key("claim", &[id]).expect("key")
}

fn details_of(ctx: &mut MockContext, caller: chaincode_api::Caller, id: &str) -> Value {
    query(ctx, caller, &["ReadClaimDetails", id]).expect("details")
}

#[test]
fn submit_queue_adjudicate_partially_and_pay() {
    let mut ctx = covered();
    let submitted = submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(
        (
            submitted["provider"].as_str(),
            submitted["insurer"].as_str(),
            submitted["patient"].as_str()
        ),
        (Some(HOSPITAL_A), Some(INSURER_A), Some(PATIENT_1))
    );
    assert_eq!(
        submitted["created"], "2024-01-01T00:00:04.000000000Z",
        "the fifth transaction's timestamp"
    );
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("ClaimSubmitted"));

    let queued = queue(&mut ctx, INSURER_A, "CLM-0001").expect("queue");
    assert_eq!(queued["status"], "queued");
    assert!(queued["queued"].is_string());
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("ClaimQueued"));

    let adjudicated =
        adjudicate(&mut ctx, INSURER_A, "CLM-0001", &partial_adjudication()).expect("adjudicate");
    assert_eq!(
        (adjudicated["status"].as_str(), adjudicated["outcome"].as_str()),
        (Some("adjudicated"), Some("partial"))
    );
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("ClaimAdjudicated"));

    let paid = run(
        &mut ctx,
        adjuster(INSURER_A),
        &["PayClaim", "CLM-0001"],
        Some((
            "payment",
            &json!({"date": "2024-02-01", "identifier": {"value": "SYN-EFT-0001"}}),
        )),
    )
    .expect("pay");
    assert_eq!(paid["status"], "paid");
    for field in ["created", "queued", "adjudicated", "paid"] {
        assert!(paid[field].is_string(), "{field} recorded");
    }
    assert!(
        paid["queued"].as_str() < paid["adjudicated"].as_str()
            && paid["adjudicated"].as_str() < paid["paid"].as_str()
    );
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("ClaimPaid"));

    let details = details_of(&mut ctx, adjuster(INSURER_A), "CLM-0001");
    let response = &details["claimResponse"];
    assert_eq!(response["outcome"], "partial");
    assert_eq!(response["request"]["reference"], "Claim/CLM-0001");
    assert_eq!(response["item"][0]["itemSequence"], 1);
    assert_eq!(
        response["item"][0]["adjudication"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(
        response["total"][0]["amount"],
        json!({"value": TOTAL, "currency": "USD"})
    );
    assert_eq!(
        response["total"][1]["amount"],
        json!({"value": BENEFIT_1, "currency": "USD"})
    );
    assert_eq!(
        response["payment"]["amount"],
        json!({"value": BENEFIT_1, "currency": "USD"})
    );
    assert_eq!(response["payment"]["date"], "2024-02-01");
    assert_eq!(details["claim"]["status"], "active");
    // The hospital's billing office sees the same documents.
    assert_eq!(details_of(&mut ctx, billing(HOSPITAL_A), "CLM-0001"), details);
}

#[test]
fn stored_claim_is_fhir_r4_with_ledger_facts_filled_in() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    let claim = &details_of(&mut ctx, billing(HOSPITAL_A), "CLM-0001")["claim"];
    assert_eq!(claim["resourceType"], "Claim");
    assert_eq!(claim["id"], "CLM-0001");
    assert_eq!(claim["use"], "claim");
    assert_eq!(claim["patient"]["reference"], format!("Patient/{PATIENT_1}"));
    assert_eq!(
        claim["provider"]["reference"],
        format!("Organization/{HOSPITAL_A}")
    );
    assert_eq!(claim["insurer"]["reference"], format!("Organization/{INSURER_A}"));
    assert_eq!(
        claim["insurance"][0]["coverage"]["reference"],
        format!("Coverage/{}", coverage_id(INSURER_A, PATIENT_1))
    );
    assert_eq!(claim["priority"]["coding"][0]["code"], "normal");
    assert_eq!(
        claim["item"][0]["net"],
        json!({"value": NET_1, "currency": "USD"})
    );
    assert_eq!(
        claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"],
        DIAGNOSIS_CODE
    );
    assert_eq!(claim["total"]["value"], TOTAL);
}

#[test]
fn claims_and_coverages_carry_key_level_endorsement_policies() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    assert_eq!(
        ctx.committed_endorsement(&claim_key("CLM-0001")),
        Some(&KeyEndorsement::of(Role::Peer, [HOSPITAL_A, INSURER_A]).expect("policy"))
    );
    let coverage =
        create_composite_key("coverage", &[INSURER_A, &coverage_id(INSURER_A, PATIENT_1)]).expect("key");
    assert_eq!(
        ctx.committed_endorsement(&coverage),
        Some(&KeyEndorsement::of(Role::Peer, [INSURER_A]).expect("policy"))
    );
}

#[test]
fn payment_defaults_to_the_benefit_and_must_add_up() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    queue(&mut ctx, INSURER_A, "CLM-0001").expect("queue");
    adjudicate(&mut ctx, INSURER_A, "CLM-0001", &complete_adjudication()).expect("adjudicate");
    assert_err(
        run(
            &mut ctx,
            adjuster(INSURER_A),
            &["PayClaim", "CLM-0001"],
            Some((
                "payment",
                &json!({"amount": {"value": "1500.00", "currency": "USD"}}),
            )),
        ),
        400,
        &[
            "claim CLM-0001",
            "payment amount 1500.00 USD",
            "benefit 2000.00 USD",
            "adjustment 0.00 USD",
        ],
    );
    let adjusted = json!({"adjustment": {"value": "-25.00", "currency": "USD"}, "amount": {"value": "1975.00", "currency": "USD"}});
    run(
        &mut ctx,
        adjuster(INSURER_A),
        &["PayClaim", "CLM-0001"],
        Some(("payment", &adjusted)),
    )
    .expect("pay with adjustment");
    let payment = &details_of(&mut ctx, adjuster(INSURER_A), "CLM-0001")["claimResponse"]["payment"];
    assert_eq!(payment["amount"]["value"], "1975.00");
    assert_eq!(
        payment["date"], "2024-01-01",
        "defaults to the transaction's date"
    );
}

#[test]
fn provider_cancels_before_adjudication_only() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    let cancelled =
        run(&mut ctx, billing(HOSPITAL_A), &["CancelClaim", "CLM-0001"], None).expect("cancel submitted");
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelled"].is_string());
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("ClaimCancelled"));
    assert_eq!(
        details_of(&mut ctx, billing(HOSPITAL_A), "CLM-0001")["claim"]["status"],
        "cancelled"
    );
    assert_err(
        queue(&mut ctx, INSURER_A, "CLM-0001"),
        409,
        &["cannot queue claim CLM-0001: it is cancelled"],
    );

    let other = details(
        vec![item(1, SERVICE_1, "2023-11-18", 1, "10.00", "10.00")],
        "10.00",
    );
    submit(&mut ctx, HOSPITAL_A, "CLM-0002", INSURER_A, PATIENT_1, &other).expect("submit");
    queue(&mut ctx, INSURER_A, "CLM-0002").expect("queue");
    run(&mut ctx, billing(HOSPITAL_A), &["CancelClaim", "CLM-0002"], None).expect("cancel queued");

    let third = details(
        vec![item(1, SERVICE_1, "2023-11-19", 1, "10.00", "10.00")],
        "10.00",
    );
    submit(&mut ctx, HOSPITAL_A, "CLM-0003", INSURER_A, PATIENT_1, &third).expect("submit");
    queue(&mut ctx, INSURER_A, "CLM-0003").expect("queue");
    let one_item = json!({"outcome": "complete", "item": [{"itemSequence": 1, "adjudication": [{"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": "10.00", "currency": "USD"}}]}]});
    adjudicate(&mut ctx, INSURER_A, "CLM-0003", &one_item).expect("adjudicate");
    let height = ctx.height();
    assert_err(
        run(&mut ctx, billing(HOSPITAL_A), &["CancelClaim", "CLM-0003"], None),
        409,
        &["cannot cancel claim CLM-0003: it is adjudicated (cancel needs status submitted or queued)"],
    );
    assert_eq!(ctx.height(), height, "a refused transaction commits nothing");
}

#[test]
fn the_state_machine_refuses_out_of_order_transitions() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    assert_err(
        adjudicate(&mut ctx, INSURER_A, "CLM-0001", &partial_adjudication()),
        409,
        &["cannot adjudicate claim CLM-0001: it is submitted (adjudicate needs status queued)"],
    );
    assert_err(
        run(&mut ctx, adjuster(INSURER_A), &["PayClaim", "CLM-0001"], None),
        409,
        &["cannot pay claim CLM-0001: it is submitted (pay needs status adjudicated)"],
    );
    queue(&mut ctx, INSURER_A, "CLM-0001").expect("queue");
    assert_err(queue(&mut ctx, INSURER_A, "CLM-0001"), 409, &["it is queued"]);
    adjudicate(&mut ctx, INSURER_A, "CLM-0001", &partial_adjudication()).expect("adjudicate");
    assert_err(
        adjudicate(&mut ctx, INSURER_A, "CLM-0001", &partial_adjudication()),
        409,
        &["it is adjudicated"],
    );
    run(&mut ctx, adjuster(INSURER_A), &["PayClaim", "CLM-0001"], None).expect("pay");
    assert_err(
        run(&mut ctx, adjuster(INSURER_A), &["PayClaim", "CLM-0001"], None),
        409,
        &["it is paid"],
    );
    assert_err(
        query(&mut ctx, adjuster(INSURER_A), &["ReadClaim", "CLM-0404"]),
        404,
        &["claim CLM-0404 does not exist"],
    );
}

#[test]
fn an_error_outcome_is_not_payable_and_frees_the_services_for_resubmission() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    queue(&mut ctx, INSURER_A, "CLM-0001").expect("queue");
    let error = json!({"outcome": "error", "error": [{"itemSequence": 2, "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication-error", "code": "a002"}]}}]});
    let record = adjudicate(&mut ctx, INSURER_A, "CLM-0001", &error).expect("adjudicate with error");
    assert_eq!(record["outcome"], "error");
    assert_err(
        run(&mut ctx, adjuster(INSURER_A), &["PayClaim", "CLM-0001"], None),
        409,
        &["outcome error, so nothing is payable"],
    );
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001-R1",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("corrected resubmission");
}

#[test]
fn queue_claims_takes_the_oldest_submitted_and_is_phantom_checked() {
    let mut ctx = covered();
    for i in 1..=5 {
        let d = details(
            vec![item(1, &format!("SYN{i:03}"), SERVICE_DATE, 1, "1.00", "1.00")],
            "1.00",
        );
        submit(
            &mut ctx,
            HOSPITAL_A,
            &format!("CLM-{i:04}"),
            INSURER_A,
            PATIENT_1,
            &d,
        )
        .expect("submit");
    }
    let d = details(vec![item(1, "SYN999", SERVICE_DATE, 1, "1.00", "1.00")], "1.00");
    submit(&mut ctx, HOSPITAL_A, "CLM-B-0001", INSURER_B, PATIENT_1, &d).expect("other insurer's claim");

    let out = run(&mut ctx, adjuster(INSURER_A), &["QueueClaims", "3"], None).expect("queue 3");
    let ids: Vec<&str> = out["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["CLM-0001", "CLM-0002", "CLM-0003"]);
    assert_eq!(out["more"], true);
    let range = &ctx.range_reads()[0];
    let prefix = create_composite_key("claim~status", &[INSURER_A, "submitted"]).expect("prefix");
    assert_eq!(range.start, prefix);
    assert!(range.end.starts_with(&prefix) && range.end > prefix);
    assert_eq!(
        (range.page_size, range.keys.len(), range.exhausted),
        (3, 3, false)
    );
    let event = ctx.event().expect("event");
    assert_eq!(event.name, "ClaimsQueued");
    assert_eq!(parse(&event.payload).as_array().map(Vec::len), Some(3));

    let out = run(&mut ctx, adjuster(INSURER_A), &["QueueClaims", "10"], None).expect("queue the rest");
    assert_eq!(out["claims"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["more"], false);
    let out = run(&mut ctx, adjuster(INSURER_A), &["QueueClaims", "10"], None).expect("nothing left");
    assert_eq!(out["claims"], json!([]));
    assert_eq!(
        query(&mut ctx, adjuster(INSURER_B), &["ReadClaim", "CLM-B-0001"]).expect("read")["status"],
        "submitted"
    );
}

#[test]
fn history_lists_every_transition_newest_first() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    let submit_tx = ctx.last_tx().tx_id.clone();
    queue(&mut ctx, INSURER_A, "CLM-0001").expect("queue");
    adjudicate(&mut ctx, INSURER_A, "CLM-0001", &partial_adjudication()).expect("adjudicate");
    run(&mut ctx, adjuster(INSURER_A), &["PayClaim", "CLM-0001"], None).expect("pay");
    let history = query(&mut ctx, billing(HOSPITAL_A), &["ClaimHistory", "CLM-0001"]).expect("history");
    let statuses: Vec<&str> = history
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|h| h["record"]["status"].as_str())
        .collect();
    assert_eq!(statuses, ["paid", "adjudicated", "queued", "submitted"]);
    assert_eq!(history[3]["txId"], submit_tx.as_str());
    assert_eq!(history[3]["timestamp"], history[3]["record"]["created"]);
    assert_eq!(history[0]["isDelete"], false);
}

#[test]
fn each_transition_moves_the_claim_between_status_index_entries() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    let record: Value = query(&mut ctx, billing(HOSPITAL_A), &["ReadClaim", "CLM-0001"]).expect("read");
    let created = record["created"].as_str().expect("created");
    let status_key =
        |s: &str| create_composite_key("claim~status", &[INSURER_A, s, created, "CLM-0001"]).expect("key");
    assert!(ctx.state(&status_key("submitted")).is_some());
    queue(&mut ctx, INSURER_A, "CLM-0001").expect("queue");
    assert_eq!(
        ctx.writes().get(&status_key("submitted")),
        Some(&None),
        "old entry deleted"
    );
    assert!(ctx.state(&status_key("submitted")).is_none());
    let queued = parse(ctx.state(&status_key("queued")).expect("new entry"));
    assert_eq!(
        queued,
        parse(ctx.state(&claim_key("CLM-0001")).expect("record")),
        "index value is the record"
    );
}
