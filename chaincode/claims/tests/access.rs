//! Who may do what: only the provider submits and cancels, only the claim's insurer queues, adjudicates,
//! pays and reads details on the insurer side, and outsiders see nothing. All identities are synthetic.

mod common;

use chaincode_api::Role;
use chaincode_api::testing::{MockContext, synthetic_caller};
use chaincode_claims::ClaimsContract;
use common::*;
use serde_json::json;

fn queued_claim() -> MockContext {
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
    ctx
}

#[test]
fn another_insurer_cannot_adjudicate_pay_queue_or_read_details() {
    let mut ctx = queued_claim();
    let height = ctx.height();
    assert_err(
        adjudicate(&mut ctx, INSURER_B, "CLM-0001", &partial_adjudication()),
        403,
        &[
            "\"Synthetic Adjuster InsurerBMSP\" (InsurerBMSP client)",
            "cannot adjudicate claim CLM-0001: only InsurerAMSP (its insurer) may",
        ],
    );
    assert_err(
        run(&mut ctx, adjuster(INSURER_B), &["PayClaim", "CLM-0001"], None),
        403,
        &["cannot pay claim CLM-0001"],
    );
    assert_err(
        queue(&mut ctx, INSURER_B, "CLM-0001"),
        403,
        &["cannot queue claim CLM-0001"],
    );
    assert_err(
        query(&mut ctx, adjuster(INSURER_B), &["ReadClaimDetails", "CLM-0001"]),
        403,
        &["cannot read the details of claim CLM-0001: they are shared only by HospitalAMSP and InsurerAMSP"],
    );
    assert_err(
        query(&mut ctx, adjuster(INSURER_B), &["ReadClaim", "CLM-0001"]),
        403,
        &["is not a party to claim CLM-0001"],
    );
    assert_err(
        query(&mut ctx, adjuster(INSURER_B), &["ClaimHistory", "CLM-0001"]),
        403,
        &["is not a party"],
    );
    assert_eq!(ctx.height(), height);
    assert_eq!(
        query(&mut ctx, adjuster(INSURER_A), &["ReadClaim", "CLM-0001"]).expect("own")["status"],
        "queued"
    );
}

#[test]
fn a_hospital_cannot_adjudicate() {
    let mut ctx = queued_claim();
    assert_err(
        adjudicate_as(&mut ctx, billing(HOSPITAL_A)),
        403,
        &[
            "(HospitalAMSP client) needs attribute role=insurer or role=claims_adjuster to adjudicate claims, has role=billing",
        ],
    );
    // An attribute its own CA issued does not make a hospital the claim's insurer.
    let self_styled =
        synthetic_caller(HOSPITAL_A, Role::Client, "Synthetic Rogue").with_attr("role", "claims_adjuster");
    assert_err(
        adjudicate_as(&mut ctx, self_styled),
        403,
        &["only InsurerAMSP (its insurer) may"],
    );
    assert_err(
        adjudicate_as(&mut ctx, billing(HOSPITAL_B)),
        403,
        &["needs attribute role=insurer"],
    );
    assert_eq!(
        query(&mut ctx, adjuster(INSURER_A), &["ReadClaim", "CLM-0001"]).expect("read")["status"],
        "queued"
    );
}

fn adjudicate_as(
    ctx: &mut MockContext,
    caller: chaincode_api::Caller,
) -> Result<serde_json::Value, chaincode_api::ContractError> {
    run(
        ctx,
        caller,
        &["AdjudicateClaim", "CLM-0001"],
        Some(("adjudication", &partial_adjudication())),
    )
}

#[test]
fn only_the_providers_billing_office_submits_and_cancels() {
    let mut ctx = covered();
    ctx.set_caller(clinician(HOSPITAL_A));
    ctx.set_transient("claim", standard_details().to_string().as_bytes());
    let cov = coverage_id(INSURER_A, PATIENT_1);
    assert_err(
        ctx.submit(
            &ClaimsContract,
            &["SubmitClaim", "CLM-0001", INSURER_A, &cov, PATIENT_1],
        )
        .map(|b| parse(&b)),
        403,
        &["needs attribute role=billing to submit claims, has role=physician"],
    );
    ctx.set_caller(adjuster(INSURER_A));
    ctx.set_transient("claim", standard_details().to_string().as_bytes());
    assert_err(
        ctx.submit(
            &ClaimsContract,
            &["SubmitClaim", "CLM-0001", INSURER_A, &cov, PATIENT_1],
        )
        .map(|b| parse(&b)),
        403,
        &["needs attribute role=billing"],
    );
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
        run(&mut ctx, billing(HOSPITAL_B), &["CancelClaim", "CLM-0001"], None),
        403,
        &["only HospitalAMSP (its provider) may"],
    );
    assert_err(
        run(&mut ctx, adjuster(INSURER_A), &["CancelClaim", "CLM-0001"], None),
        403,
        &["needs attribute role=billing to cancel claims"],
    );
    assert_err(
        query(&mut ctx, billing(HOSPITAL_B), &["ReadClaimDetails", "CLM-0001"]),
        403,
        &["shared only by HospitalAMSP and InsurerAMSP"],
    );
    assert_err(
        query(&mut ctx, clinician(HOSPITAL_A), &["ReadClaimDetails", "CLM-0001"]),
        403,
        &["needs attribute role=billing to read the details of claim CLM-0001"],
    );
    // Any identity of a party may read the public record.
    assert_eq!(
        query(&mut ctx, clinician(HOSPITAL_A), &["ReadClaim", "CLM-0001"]).expect("read")["id"],
        "CLM-0001"
    );
}

#[test]
fn a_hospital_cannot_bill_itself() {
    let mut ctx = covered();
    ctx.set_caller(billing(HOSPITAL_A));
    ctx.set_transient("claim", standard_details().to_string().as_bytes());
    assert_err(
        ctx.submit(
            &ClaimsContract,
            &["SubmitClaim", "CLM-0001", HOSPITAL_A, "COV-X", PATIENT_1],
        )
        .map(|b| parse(&b)),
        400,
        &["provider and insurer are both HospitalAMSP"],
    );
}

#[test]
fn a_peer_outside_the_collection_cannot_serve_details() {
    let mut ctx = MockContext::new().with_collection(&format!("claims_{HOSPITAL_A}_{INSURER_A}"), true);
    register_coverage(
        &mut ctx,
        INSURER_A,
        &coverage_id(INSURER_A, PATIENT_1),
        PATIENT_1,
        "2023-01-01",
        "",
    )
    .expect("coverage");
    submit(
        &mut ctx,
        HOSPITAL_A,
        "CLM-0001",
        INSURER_A,
        PATIENT_1,
        &standard_details(),
    )
    .expect("submit");
    // The same ledger as seen by a peer whose org is not in the collection.
    let mut outsider_peer = ctx
        .clone()
        .with_collection(&format!("claims_{HOSPITAL_A}_{INSURER_A}"), false);
    assert_err(
        query(
            &mut outsider_peer,
            adjuster(INSURER_A),
            &["ReadClaimDetails", "CLM-0001"],
        ),
        403,
        &["not a member of collection claims_HospitalAMSP_InsurerAMSP"],
    );
    // A pair without a collection cannot exchange claims at all.
    assert_err(
        submit(
            &mut ctx,
            HOSPITAL_B,
            "CLM-0002",
            INSURER_A,
            PATIENT_1,
            &standard_details(),
        ),
        400,
        &["collection claims_HospitalBMSP_InsurerAMSP is not defined"],
    );
}

#[test]
fn coverage_is_managed_by_its_insurer_only() {
    let mut ctx = network();
    assert_err(
        register_coverage_as(&mut ctx, billing(HOSPITAL_A)),
        403,
        &["needs attribute role=insurer or role=claims_adjuster to register coverage"],
    );
    register_coverage(&mut ctx, INSURER_A, "COV-1", PATIENT_1, "2023-01-01", "").expect("register");
    assert_err(
        register_coverage(&mut ctx, INSURER_A, "COV-1", PATIENT_2, "2023-01-01", ""),
        409,
        &["coverage COV-1 of InsurerAMSP already exists"],
    );
    // Coverage ids are per insurer: InsurerB's COV-1 is another coverage, and it cannot touch InsurerA's.
    assert_err(
        run(&mut ctx, adjuster(INSURER_B), &["CancelCoverage", "COV-1"], None),
        404,
        &["no coverage COV-1 is registered by InsurerBMSP"],
    );
    let read = query(
        &mut ctx,
        billing(HOSPITAL_A),
        &["ReadCoverage", INSURER_A, "COV-1"],
    )
    .expect("read");
    assert_eq!(
        read,
        json!({
            "id": "COV-1", "insurer": INSURER_A, "patient": PATIENT_1, "status": "active",
            "period": {"start": "2023-01-01"}, "created": read["created"].clone()
        })
    );
    let cancelled = run(&mut ctx, adjuster(INSURER_A), &["CancelCoverage", "COV-1"], None).expect("cancel");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("CoverageCancelled"));
}

fn register_coverage_as(
    ctx: &mut MockContext,
    caller: chaincode_api::Caller,
) -> Result<serde_json::Value, chaincode_api::ContractError> {
    run(
        ctx,
        caller,
        &["RegisterCoverage", "COV-1", PATIENT_1, "2023-01-01"],
        None,
    )
}
