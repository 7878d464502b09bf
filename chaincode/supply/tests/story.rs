//! The demo's drug story (`chaincode_supply::story`) runs end to end against the mock ledger with the
//! outcomes it promises, so `carechain demo` can rely on it. Synthetic orgs and data only.

mod common;

use chaincode_api::Caller;
use chaincode_supply::SupplyContract;
use chaincode_supply::story::{self, Actor, Expect, Orgs};
use common::*;
use serde_json::Value;

fn caller(actor: Actor) -> Caller {
    match actor {
        Actor::ManufacturerAdmin => manufacturer_admin(),
        Actor::Manufacturer => manufacturer(),
        Actor::Distributor => distributor(),
        Actor::HospitalClerk => hospital_clerk(),
        Actor::Pharmacist => pharmacist(),
        Actor::Certifier => certifier(),
    }
}

/// Runs `steps` on `ctx`, checking each outcome; the JSON answers (`Null` for refusals).
fn play(ctx: &mut chaincode_api::testing::MockContext, steps: &[story::Step]) -> Vec<Value> {
    let mut answers = Vec::new();
    for step in steps {
        ctx.set_caller(caller(step.actor));
        for (name, value) in &step.transient {
            ctx.set_transient(name, value);
        }
        let result = if step.submit {
            ctx.submit(&SupplyContract, &step.args)
        } else {
            ctx.evaluate(&SupplyContract, &step.args)
        };
        match (step.expect, result) {
            (Expect::Ok, Ok(payload)) => {
                answers.push(serde_json::from_slice::<Value>(&payload).expect("JSON payload"));
            }
            (Expect::Refused(status), Err(err)) => {
                assert_eq!(err.status(), status, "{}: {err}", step.title);
                answers.push(Value::Null);
            }
            (expect, result) => panic!("{}: expected {expect:?}, got {result:?}", step.title),
        }
    }
    answers
}

fn orgs() -> Orgs {
    Orgs {
        manufacturer: MANUFACTURER.into(),
        distributor: DISTRIBUTOR.into(),
        hospital: HOSPITAL.into(),
    }
}

/// The verdicts and trade document the story promises, from its answers.
fn assert_promises(steps: &[story::Step], answers: &[Value]) {
    let answer = |title: &str| -> &Value {
        let i = steps.iter().position(|s| s.title == title).expect(title);
        &answers[i]
    };
    assert_eq!(
        answer("Distributor reads the private trade document")[0]["document"]["unitPrice"],
        story::UNIT_PRICE
    );
    assert_eq!(answer("Verify a genuine pack")["verified"], true);
    assert_eq!(answer("Verify an unknown serial")["counterfeit"], true);
    assert_eq!(answer("Verify a recalled pack")["recalled"], true);
    assert_eq!(answer("Verify a pack from the excursion case")["suspect"], true);
    let dispensed = answer("Verify the dispensed pack");
    assert_eq!(
        (dispensed["status"].as_str(), dispensed["counterfeit"].as_bool()),
        (Some("dispensed"), Some(true))
    );
    let provenance = answer("Provenance of the dispensed pack")["eventList"]
        .as_array()
        .expect("events")
        .len();
    assert_eq!(
        provenance, 9,
        "commission, pack, ship, receive, observe, ship, receive, dispense, report"
    );
}

#[test]
fn the_drug_story_runs_with_the_promised_outcomes() {
    let mut ctx = ledger();
    let expiry = story::expiry_after(START);
    assert_eq!(
        expiry, "2024-12-31",
        "one year (365 days) after 2024-01-01, a leap year"
    );
    let steps = story::drug_story(&orgs(), &expiry);
    let answers = play(&mut ctx, &steps);
    assert_promises(&steps, &answers);
    assert_eq!(verify(&mut ctx, &story::pack(250))["holder"], MANUFACTURER);
}

#[test]
fn a_later_run_replays_the_story_on_the_same_ledger_with_new_objects() {
    let mut ctx = ledger();
    let expiry = story::expiry_after(START);
    play(&mut ctx, &story::drug_story(&orgs(), &expiry));
    let run = story::Run(4_242_424);
    let steps: Vec<story::Step> = story::drug_story_run(&orgs(), &expiry, run)
        .into_iter()
        .filter(|s| !story::is_registration(s))
        .collect();
    let answers = play(&mut ctx, &steps);
    assert_promises(&steps, &answers);
    assert_eq!(
        run.pack(7),
        format!("(01){}(21)SYN4242424R0000007", story::gtin())
    );
    assert_ne!(run.case(1), story::Run::FIRST.case(1));
    // The first run's objects are untouched by the second.
    assert_eq!(verify(&mut ctx, &story::pack(0))["counterfeitReports"], 1);
    assert_eq!(verify(&mut ctx, &run.pack(0))["counterfeitReports"], 1);
    // Registrations succeed once per ledger.
    let again = story::drug_story_run(&orgs(), &expiry, run);
    assert!(again.iter().take(2).all(story::is_registration));
    ctx.set_caller(caller(again[0].actor));
    let err = ctx
        .submit(&SupplyContract, &again[0].args)
        .expect_err("a second claim of the prefix");
    assert_eq!(err.status(), 409, "{err}");
}
