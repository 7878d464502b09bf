//! The rules on claims: coverage, duplicates, amounts and totals, adjudications and arguments. Each refusal
//! has its own message and commits nothing. All data is synthetic.

mod common;

use chaincode_api::testing::MockContext;
use chaincode_claims::ClaimsContract;
use common::*;
use serde_json::{Value, json};

/// Submits `details` as CLM-0001 and asserts it is refused with `status` and `fragments`, leaving no trace.
fn refused(ctx: &mut MockContext, details: &Value, status: i32, fragments: &[&str]) {
    let height = ctx.height();
    let keys = ctx.keys().len();
    assert_err(
        submit(ctx, HOSPITAL_A, "CLM-0001", INSURER_A, PATIENT_1, details),
        status,
        fragments,
    );
    assert_eq!(
        (ctx.height(), ctx.keys().len()),
        (height, keys),
        "a refused claim writes nothing"
    );
}

#[test]
fn a_duplicate_claim_is_refused_with_the_earlier_claim_named() {
    let mut ctx = covered();
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("first");
    let again = details(vec![item(1, SERVICE_2, SERVICE_DATE, 1, "5.00", "5.00")], "5.00");
    assert_err(
        submit(&mut ctx, HOSPITAL_A, "CLM-0002", INSURER_A, PATIENT_1, &again),
        409,
        &[
            "claim CLM-0002: duplicate of claim CLM-0001",
            "patient SYN-PSEUDO-0001 for service http://www.ama-assn.org/go/cpt|71046 on 2023-11-17",
            "from HospitalAMSP to InsurerAMSP",
        ],
    );
    // Not duplicates: another date, another patient, another hospital.
    let next_day = details(vec![item(1, SERVICE_2, "2023-11-18", 1, "5.00", "5.00")], "5.00");
    submit(&mut ctx, HOSPITAL_A, "CLM-0003", INSURER_A, PATIENT_1, &next_day).expect("other date");
    submit(&mut ctx, HOSPITAL_A, "CLM-0004", INSURER_A, PATIENT_2, &again).expect("other patient");
    submit(&mut ctx, HOSPITAL_B, "CLM-0005", INSURER_A, PATIENT_1, &again).expect("other provider");
    // Reusing a claim id is a conflict of its own.
    assert_err(
        submit(&mut ctx, HOSPITAL_A, "CLM-0001", INSURER_A, PATIENT_1, &next_day),
        409,
        &["claim CLM-0001 already exists"],
    );
    // After the provider cancels, the service may be billed again.
    run(&mut ctx, billing(HOSPITAL_A), &["CancelClaim", "CLM-0001"], None).expect("cancel");
    submit(&mut ctx, HOSPITAL_A, "CLM-0002", INSURER_A, PATIENT_1, &again).expect("after cancel");
}

#[test]
fn duplicate_detection_reads_only_the_pairs_collection() {
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
    let service =
        chaincode_api::create_composite_key("claim~service", &[PATIENT_1, SERVICE_DATE, CPT, SERVICE_1])
            .expect("key");
    assert_eq!(
        ctx.private_state("claims_HospitalAMSP_InsurerAMSP", &service),
        Some(&b"CLM-0001"[..])
    );
    assert!(ctx.state(&service).is_none(), "no public duplicate key");
    // Billing the same service to a second insurer (secondary coverage) is a claim in another collection.
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0002",
        INSURER_B,
        PATIENT_1,
        &standard_details(),
    )
    .expect("secondary payer");
}

#[test]
fn an_inconsistent_total_is_refused_naming_both_numbers() {
    let mut ctx = covered();
    let wrong = details(
        vec![
            item(1, SERVICE_1, SERVICE_DATE, 2, "617.28", NET_1),
            item(2, SERVICE_2, SERVICE_DATE, 1, NET_2, NET_2),
        ],
        "2100.00",
    );
    refused(
        &mut ctx,
        &wrong,
        400,
        &["claim CLM-0001: total 2100.00 USD does not equal the sum of item nets 2000.00 USD"],
    );
    let bad_net = details(
        vec![item(1, SERVICE_1, SERVICE_DATE, 3, "10.00", "20.00")],
        "20.00",
    );
    refused(
        &mut ctx,
        &bad_net,
        400,
        &["item 1 net 20.00 USD does not equal quantity 3 × unitPrice 10.00 USD = 30.00 USD"],
    );
}

#[test]
fn negative_amounts_are_refused() {
    let mut ctx = covered();
    let negative = details(
        vec![item(1, SERVICE_1, SERVICE_DATE, 1, "-5.00", "-5.00")],
        "-5.00",
    );
    refused(
        &mut ctx,
        &negative,
        400,
        &["claim CLM-0001: item 1 net -5.00 USD is negative; amounts must be zero or more"],
    );
    let mut no_unit = details(vec![item(1, SERVICE_1, SERVICE_DATE, 1, "0", "0")], "-1.00");
    no_unit["item"][0]["net"]["value"] = json!("-1.00");
    no_unit["item"][0]
        .as_object_mut()
        .expect("object")
        .remove("unitPrice");
    refused(&mut ctx, &no_unit, 400, &["item 1 net -1.00 USD is negative"]);
}

#[test]
fn malformed_details_are_refused_before_any_read() {
    let mut ctx = covered();
    let mut float = standard_details();
    float["total"]["value"] = json!(2000.5);
    refused(
        &mut ctx,
        &float,
        400,
        &[
            "transient field \"claim\" is not the expected JSON",
            "send decimals as strings",
        ],
    );
    assert!(ctx.reads().is_empty(), "refused before reading state");
    let mut unknown = standard_details();
    unknown["careTeam"] = json!([]);
    refused(&mut ctx, &unknown, 400, &["unknown field `careTeam`"]);
    let mixed = details(
        vec![
            json!({"sequence": 1, "productOrService": {"coding": [{"code": "X"}]}, "servicedDate": SERVICE_DATE, "net": {"value": "1.00", "currency": "EUR"}}),
        ],
        "1.00",
    );
    refused(
        &mut ctx,
        &mixed,
        400,
        &["item 1 net is in EUR but the claim is in USD"],
    );
    refused(
        &mut ctx,
        &details(vec![], "0.00"),
        400,
        &["the claim has no items"],
    );
    let mut bad_date = standard_details();
    bad_date["item"][0]["servicedDate"] = json!("2023-02-30");
    refused(
        &mut ctx,
        &bad_date,
        400,
        &["date \"2023-02-30\" is not a calendar date"],
    );
    let mut twice = standard_details();
    twice["item"][1]["sequence"] = json!(1);
    refused(
        &mut ctx,
        &twice,
        400,
        &["item sequence 1 is zero or appears twice"],
    );
    let mut dangling = standard_details();
    dangling["item"][0]["diagnosisSequence"] = json!([7]);
    refused(&mut ctx, &dangling, 400, &["item 1 refers to diagnosis 7"]);

    ctx.set_caller(billing(HOSPITAL_A));
    let cov = coverage_id(INSURER_A, PATIENT_1);
    let err = ctx
        .submit(
            &ClaimsContract,
            &["SubmitClaim", "CLM-0001", INSURER_A, &cov, PATIENT_1],
        )
        .expect_err("no transient");
    assert!(
        err.message()
            .contains("SubmitClaim needs its details in transient field \"claim\""),
        "{err}"
    );
}

#[test]
fn claims_need_an_active_coverage_of_that_patient_with_that_insurer() {
    let mut ctx = network();
    refused(
        &mut ctx,
        &standard_details(),
        404,
        &["no coverage COV-InsurerAMSP-SYN-PSEUDO-0001 is registered by InsurerAMSP"],
    );
    let cov = coverage_id(INSURER_A, PATIENT_1);
    register_coverage(&mut ctx, INSURER_B, &cov, PATIENT_1, "2023-01-01", "")
        .expect("same id, other insurer");
    refused(&mut ctx, &standard_details(), 404, &["registered by InsurerAMSP"]);
    register_coverage(&mut ctx, INSURER_A, &cov, PATIENT_2, "2023-01-01", "")
        .expect("coverage of another patient");
    refused(
        &mut ctx,
        &standard_details(),
        409,
        &["covers another patient, not SYN-PSEUDO-0001"],
    );

    let mut ctx = network();
    register_coverage(&mut ctx, INSURER_A, &cov, PATIENT_1, "2023-12-01", "2024-11-30").expect("coverage");
    refused(
        &mut ctx,
        &standard_details(),
        409,
        &["(period 2023-12-01..2024-11-30) does not cover service date 2023-11-17"],
    );

    let mut ctx = network();
    register_coverage(&mut ctx, INSURER_A, &cov, PATIENT_1, "2023-01-01", "2023-11-17").expect("coverage");
    run(&mut ctx, adjuster(INSURER_A), &["CancelCoverage", &cov], None).expect("cancel coverage");
    refused(
        &mut ctx,
        &standard_details(),
        409,
        &["coverage COV-InsurerAMSP-SYN-PSEUDO-0001 of InsurerAMSP is cancelled"],
    );
}

#[test]
fn adjudications_must_fit_the_claim() {
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
    let benefit = |seq: u32, value: &str| json!({"itemSequence": seq, "adjudication": [{"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": value, "currency": "USD"}}]});
    let cases = [
        (
            json!({"outcome": "partial", "item": [benefit(3, "1.00")]}),
            "adjudication refers to item 3, which is not an item of the claim (items 1, 2)",
        ),
        (
            json!({"outcome": "partial", "item": [benefit(2, "800.00")]}),
            "item 2 benefit 800.00 USD exceeds its net 765.44 USD",
        ),
        (
            json!({"outcome": "complete", "item": [benefit(1, "1.00")]}),
            "outcome complete needs every item adjudicated, item 2 is not",
        ),
        (
            json!({"outcome": "partial", "item": []}),
            "outcome partial needs at least one adjudicated item",
        ),
        (
            json!({"outcome": "error"}),
            "outcome error needs at least one entry in error[]",
        ),
        (
            json!({"outcome": "queued"}),
            "outcome queued is not an adjudication",
        ),
        (
            json!({"outcome": "partial", "item": [benefit(1, "-1.00")]}),
            "item 1 benefit amount -1.00 USD is negative",
        ),
        (
            json!({"outcome": "partial", "item": [{"itemSequence": 1, "adjudication": [{"category": {"coding": [{"code": "bonus"}]}}]}]}),
            "category \"bonus\" is not one of submitted, copay",
        ),
        (
            json!({"outcome": "partial", "item": [{"itemSequence": 1, "adjudication": []}]}),
            "item 1 has no adjudication",
        ),
        (
            json!({"outcome": "partial", "item": [{"itemSequence": 1, "adjudication": [{"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": "1.00", "currency": "EUR"}}]}]}),
            "item 1 benefit amount is in EUR but the claim is in USD",
        ),
    ];
    for (adjudication, message) in cases {
        assert_err(
            adjudicate(&mut ctx, INSURER_A, "CLM-0001", &adjudication),
            400,
            &["claim CLM-0001: ", message],
        );
    }
    assert_err(
        run(
            &mut ctx,
            adjuster(INSURER_A),
            &["AdjudicateClaim", "CLM-0001"],
            None,
        ),
        400,
        &["AdjudicateClaim needs its details in transient field \"adjudication\""],
    );
    assert_eq!(
        query(&mut ctx, adjuster(INSURER_A), &["ReadClaim", "CLM-0001"]).expect("read")["status"],
        "queued"
    );
}

#[test]
fn arguments_are_checked_before_state() {
    let mut ctx = covered();
    let cases: [(&[&str], &str); 9] = [
        (
            &["SubmitClaim", "CLM 1", INSURER_A, "C", PATIENT_1],
            "SubmitClaim: argument 1 (claim id) must be 1 to 64 characters",
        ),
        (
            &["SubmitClaim", "CLM-1", INSURER_A],
            "Incorrect number of arguments for SubmitClaim. Expecting 4, received 2",
        ),
        (
            &["QueueClaims", "0"],
            "QueueClaims: argument 1 must be a page size from 1 to 1000, got 0",
        ),
        (
            &["QueryClaims", "{}", "1001"],
            "QueryClaims: argument 2 must be a page size from 1 to 1000, got 1001",
        ),
        (
            &["QueryClaims", r#"{"status":"queued","provider":"HospitalAMSP"}"#],
            "filter on at most one of status, provider and patient",
        ),
        (&["QueryClaims", r#"{"status":"open"}"#], "unknown variant `open`"),
        (
            &["QueryClaims", r#"{"from":"March"}"#],
            "period bound \"March\" is not a prefix of an RFC 3339 UTC instant",
        ),
        (
            &["RegisterCoverage", "COV-9", PATIENT_1, "2024-01-01", "2023-01-01"],
            "coverage end 2023-01-01 is before its start 2024-01-01",
        ),
        (
            &["Adjudicate", "CLM-1"],
            "Function Adjudicate not found in contract claims; available functions: RegisterCoverage",
        ),
    ];
    for (args, message) in cases {
        ctx.set_caller(adjuster(INSURER_A));
        let err = ctx.submit(&ClaimsContract, args).expect_err("bad arguments");
        assert_eq!(err.status(), 400, "{err}");
        assert!(
            err.message().contains(message),
            "{:?} lacks {message:?}",
            err.message()
        );
        assert!(
            ctx.reads().is_empty() && ctx.range_reads().is_empty(),
            "{args:?} read state"
        );
    }
}
