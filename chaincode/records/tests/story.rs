//! The demo's records story (`chaincode_records::story`) runs end to end against the mock ledger with the
//! outcomes it promises, so `carechain demo` can rely on it. Synthetic orgs and data only.

mod common;

use std::collections::BTreeMap;

use chaincode_api::Caller;
use chaincode_records::RecordsContract;
use chaincode_records::story::{self, Actor, Expect, Orgs, People};
use common::*;
use serde_json::Value;

fn caller(actor: Actor) -> Caller {
    match actor {
        Actor::DoctorA => doctor(HOSPITAL_A),
        Actor::DoctorB => doctor(HOSPITAL_B),
        Actor::NurseB => nurse(HOSPITAL_B),
        Actor::Patient => patient(),
        Actor::HospitalAAdmin => admin(HOSPITAL_A),
        Actor::NetworkAdmin => admin(INSURER),
        Actor::Insurer => insurer(),
        Actor::Analyst => analyst(),
        Actor::LabAdmin => lab_admin(),
        Actor::ComplianceB => compliance(HOSPITAL_B),
    }
}

#[test]
fn the_records_story_runs_with_the_promised_outcomes() {
    let orgs = Orgs {
        hospital_a: HOSPITAL_A.into(),
        hospital_b: HOSPITAL_B.into(),
        lab: LAB.into(),
        research: RESEARCH.into(),
    };
    let people = People {
        patient: patient().id,
        doctor_b: doctor(HOSPITAL_B).id,
    };
    let steps = story::records_story(&orgs, &people, "synthetic-seed-1");
    let mut net = Net::new();
    let mut vars = BTreeMap::new();
    let mut answers = Vec::new();
    for step in &steps {
        net.ctx.set_caller(caller(step.actor));
        for (name, value) in &step.transient {
            net.ctx.set_transient(name, value);
        }
        let args = story::fill(&step.args, &vars);
        let result = if step.submit {
            net.ctx.submit(&RecordsContract, &args)
        } else {
            net.ctx.evaluate(&RecordsContract, &args)
        };
        if let (true, Ok(payload)) = (step.submit, &result) {
            net.responses.push((args[0].clone(), payload.clone()));
            let event = net.ctx.event().expect("every story submit sets an event");
            net.events.push((event.name.clone(), event.payload.clone()));
            if let Some(expected) = &step.event {
                assert_eq!(&event.name, expected, "{}", step.title);
            }
        }
        let answer: Value = match (step.expect, result) {
            (Expect::Ok, Ok(payload)) => serde_json::from_slice(&payload).expect("JSON"),
            (Expect::Denied, Ok(payload)) => {
                let v: Value = serde_json::from_slice(&payload).expect("JSON");
                assert_eq!(v["decision"], "deny", "{}", step.title);
                v
            }
            (Expect::Refused(status), Err(err)) => {
                assert_eq!(err.status(), status, "{}: {err}", step.title);
                Value::Null
            }
            (expect, result) => panic!("{}: expected {expect:?}, got {result:?}", step.title),
        };
        if let Ok(bytes) = serde_json::to_vec(&answer)
            && let Some((var, value)) = step.captured(&bytes)
        {
            vars.insert(var, value);
        }
        answers.push(answer);
    }
    let answer = |title_start: &str| -> &Value {
        let i = steps
            .iter()
            .position(|s| s.title.starts_with(title_start))
            .expect(title_start);
        &answers[i]
    };
    assert_eq!(answer("The doctor asks again")["decision"], "permit");
    assert_eq!(
        answer("The doctor reads the record")["resource"]["valueString"],
        "Synthetic glucose 5.4 mmol/L"
    );
    let accesses = answer("The patient lists every access")["accesses"]
        .as_array()
        .expect("accesses")
        .clone();
    let outcomes: Vec<&str> = accesses
        .iter()
        .map(|a| a["outcome"].as_str().expect("o"))
        .collect();
    assert_eq!(
        outcomes,
        ["8", "0", "8", "8", "8", "8", "8", "8"],
        "every attempt, denied ones included"
    );
    assert_eq!(
        answer("Hospital B's compliance officer")["accesses"]
            .as_array()
            .expect("a")
            .len(),
        4
    );
    assert_eq!(answer("The consent's history").as_array().expect("h").len(), 2);
    assert_eq!(answer("One signature")["labReport"]["status"], "preliminary");
    assert_eq!(answer("Both signatures")["labReport"]["status"], "final");
    assert_eq!(answer("What remains")["status"], "erased");
    let deid = net
        .events
        .iter()
        .filter(|(n, _)| n == "DeidentifiedEntry")
        .count();
    assert_eq!(deid, 2, "the vital-signs record and the lab report");
    net.assert_clean(PHI);
    let submitted_evaluate_only = steps
        .iter()
        .filter(|s| s.submit && chaincode_records::EVALUATE_ONLY.contains(&s.args[0].as_str()))
        .count();
    assert_eq!(
        submitted_evaluate_only, 0,
        "the story never submits an evaluate-only function"
    );
    let fresh = story::records_story(&orgs, &people, "synthetic-seed-2");
    assert_ne!(fresh[0].args, steps[0].args, "another seed, another pseudonym");
}

#[test]
fn fill_substitutes_captured_variables() {
    let vars = BTreeMap::from([("grant".to_string(), "grant-1".to_string())]);
    let args = vec![
        "ReadRecord".to_string(),
        "{grant}".to_string(),
        "{other}".to_string(),
    ];
    assert_eq!(story::fill(&args, &vars), ["ReadRecord", "grant-1", "{other}"]);
}
