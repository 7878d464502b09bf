//! Shared fixtures for the claims contract tests: synthetic organizations, identities, coverages and claim
//! documents. Every name, code and amount here is synthetic test data.

#![allow(dead_code)]

use chaincode_api::testing::{MockContext, synthetic_caller};
use chaincode_api::{Caller, ContractError, Role};
use chaincode_claims::ClaimsContract;
use serde_json::{Value, json};

pub const HOSPITAL_A: &str = "HospitalAMSP";
pub const HOSPITAL_B: &str = "HospitalBMSP";
pub const INSURER_A: &str = "InsurerAMSP";
pub const INSURER_B: &str = "InsurerBMSP";

/// Synthetic patient pseudonyms (opaque tokens, not MRNs).
pub const PATIENT_1: &str = "SYN-PSEUDO-0001";
pub const PATIENT_2: &str = "SYN-PSEUDO-0002";

/// Codes and amounts used in claim details; none may ever appear in public state or events.
pub const DIAGNOSIS_CODE: &str = "J18.9";
pub const SERVICE_1: &str = "99223";
pub const SERVICE_2: &str = "71046";
pub const SERVICE_DATE: &str = "2023-11-17";
pub const NET_1: &str = "1234.56";
pub const NET_2: &str = "765.44";
pub const TOTAL: &str = "2000.00";
pub const BENEFIT_1: &str = "987.65";

pub const CPT: &str = "http://www.ama-assn.org/go/cpt";

/// A hospital billing clerk of `msp` (provider role).
pub fn billing(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Client, &format!("Synthetic Billing Clerk {msp}"))
        .with_attr("role", "billing")
}

/// An insurer claims adjuster of `msp`.
pub fn adjuster(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Client, &format!("Synthetic Adjuster {msp}"))
        .with_attr("role", "claims_adjuster")
}

/// A clinician of `msp` (no claims role).
pub fn clinician(msp: &str) -> Caller {
    synthetic_caller(msp, Role::Client, &format!("Synthetic Physician {msp}")).with_attr("role", "physician")
}

/// A mock peer that is a member of every (hospital, insurer) collection.
pub fn network() -> MockContext {
    let mut ctx = MockContext::new();
    for h in [HOSPITAL_A, HOSPITAL_B] {
        for i in [INSURER_A, INSURER_B] {
            ctx = ctx.with_collection(&format!("claims_{h}_{i}"), true);
        }
    }
    ctx
}

/// `network()` with coverage `COV-<insurer>-<patient>` for both patients at both insurers, 2023–2024.
pub fn covered() -> MockContext {
    let mut ctx = network();
    for insurer in [INSURER_A, INSURER_B] {
        for patient in [PATIENT_1, PATIENT_2] {
            register_coverage(
                &mut ctx,
                insurer,
                &coverage_id(insurer, patient),
                patient,
                "2023-01-01",
                "2024-12-31",
            )
            .expect("register coverage");
        }
    }
    ctx
}

pub fn coverage_id(insurer: &str, patient: &str) -> String {
    format!("COV-{insurer}-{patient}")
}

pub fn register_coverage(
    ctx: &mut MockContext,
    insurer: &str,
    id: &str,
    patient: &str,
    start: &str,
    end: &str,
) -> Result<Value, ContractError> {
    ctx.set_caller(adjuster(insurer));
    ctx.submit(&ClaimsContract, &["RegisterCoverage", id, patient, start, end])
        .map(|b| parse(&b))
}

/// One billed item: (sequence, CPT code, date, quantity, unit price, net).
pub fn item(seq: u32, code: &str, date: &str, quantity: u32, unit: &str, net: &str) -> Value {
    json!({
        "sequence": seq,
        "diagnosisSequence": [1],
        "productOrService": {"coding": [{"system": CPT, "code": code}]},
        "servicedDate": date,
        "quantity": {"value": quantity},
        "unitPrice": {"value": unit, "currency": "USD"},
        "net": {"value": net, "currency": "USD"}
    })
}

/// Claim details with a synthetic diagnosis, `items` and `total`.
pub fn details(items: Vec<Value>, total: &str) -> Value {
    json!({
        "resourceType": "Claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": DIAGNOSIS_CODE}]}}],
        "item": items,
        "total": {"value": total, "currency": "USD"}
    })
}

/// The standard two-item claim: 1234.56 + 765.44 = 2000.00 USD.
pub fn standard_details() -> Value {
    details(
        vec![
            item(1, SERVICE_1, SERVICE_DATE, 2, "617.28", NET_1),
            item(2, SERVICE_2, SERVICE_DATE, 1, NET_2, NET_2),
        ],
        TOTAL,
    )
}

/// Submits claim `id` from `provider` to `insurer` for `patient` (coverage from [`coverage_id`]).
pub fn submit(
    ctx: &mut MockContext,
    provider: &str,
    id: &str,
    insurer: &str,
    patient: &str,
    details: &Value,
) -> Result<Value, ContractError> {
    ctx.set_caller(billing(provider));
    ctx.set_transient("claim", details.to_string().as_bytes());
    let cov = coverage_id(insurer, patient);
    ctx.submit(&ClaimsContract, &["SubmitClaim", id, insurer, &cov, patient])
        .map(|b| parse(&b))
}

/// Runs `args` as `caller`, with optional transient `(name, json)`.
pub fn run(
    ctx: &mut MockContext,
    caller: Caller,
    args: &[&str],
    transient: Option<(&str, &Value)>,
) -> Result<Value, ContractError> {
    ctx.set_caller(caller);
    if let Some((name, value)) = transient {
        ctx.set_transient(name, value.to_string().as_bytes());
    }
    ctx.submit(&ClaimsContract, args).map(|b| parse(&b))
}

/// Evaluates `args` as `caller`.
pub fn query(ctx: &mut MockContext, caller: Caller, args: &[&str]) -> Result<Value, ContractError> {
    ctx.set_caller(caller);
    ctx.evaluate(&ClaimsContract, args).map(|b| parse(&b))
}

pub fn queue(ctx: &mut MockContext, insurer: &str, id: &str) -> Result<Value, ContractError> {
    run(ctx, adjuster(insurer), &["QueueClaim", id], None)
}

/// A partial adjudication of item 1 only: submitted 1234.56, eligible 1234.56, benefit 987.65.
pub fn partial_adjudication() -> Value {
    json!({
        "resourceType": "ClaimResponse",
        "outcome": "partial",
        "disposition": "Item 2 pended for documentation (synthetic)",
        "item": [{
            "itemSequence": 1,
            "adjudication": [
                {"category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}]}, "amount": {"value": NET_1, "currency": "USD"}},
                {"category": {"coding": [{"code": "eligible"}]}, "amount": {"value": NET_1, "currency": "USD"}},
                {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": BENEFIT_1, "currency": "USD"}}
            ]
        }]
    })
}

/// A complete adjudication paying each item's net in full.
pub fn complete_adjudication() -> Value {
    json!({
        "outcome": "complete",
        "item": [
            {"itemSequence": 1, "adjudication": [{"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": NET_1, "currency": "USD"}}]},
            {"itemSequence": 2, "adjudication": [{"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": NET_2, "currency": "USD"}}]}
        ]
    })
}

pub fn adjudicate(
    ctx: &mut MockContext,
    insurer: &str,
    id: &str,
    adjudication: &Value,
) -> Result<Value, ContractError> {
    run(
        ctx,
        adjuster(insurer),
        &["AdjudicateClaim", id],
        Some(("adjudication", adjudication)),
    )
}

pub fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON payload")
}

/// Asserts an error with `status` whose message contains every fragment.
pub fn assert_err(result: Result<Value, ContractError>, status: i32, fragments: &[&str]) {
    let err = result.expect_err("expected an error");
    assert_eq!(err.status(), status, "{err}");
    for f in fragments {
        assert!(
            err.message().contains(f),
            "message {:?} lacks {f:?}",
            err.message()
        );
    }
}
