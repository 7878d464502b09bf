//! The supply contract end to end on a multi-process network (issue 11): the demo's drug story
//! (`chaincode_supply::story`) played through the gateways of the manufacturer, distributor and hospital
//! pharmacy, as their users, on a real orderer and four peers with the contract deployed as the default
//! network deploys it.
//!
//! It shows: commissioning by a distributor refused (and nothing commissioned); 1,000 packs commissioned
//! in two transactions and packed into ten cases of 100; a case shipped and accepted; a shipment rejected
//! with custody staying with the sender, then shipped again and accepted; a temperature excursion marking
//! every pack of the case suspect; dispensing, a refused second dispense and its counterfeit report; a
//! recall and a refused dispense of a recalled pack; and the verification verdicts for a genuine pack, an
//! unknown serial, a recalled pack and a pack from the excursion case. Every refused step leaves every
//! peer's height unchanged. The hospital's system follows the custody events on the gateway's
//! ChaincodeEvents stream. All data is synthetic.

#![allow(clippy::unwrap_used)]

mod supply_net;

use carechain_tests::TestNet;
use chaincode_supply::story::{self, Expect, Run};
use serde_json::Value;
use supply_net::*;

/// The answer of the step titled `title` (panics if the story has no such step).
fn answer<'a>(steps: &[story::Step], answers: &'a [Option<Value>], title: &str) -> &'a Value {
    let i = steps.iter().position(|s| s.title == title).expect(title);
    answers[i].as_ref().expect("an answer")
}

/// What the ledger must show right after some of the story's steps.
async fn check_after(net: &TestNet, step: &story::Step) {
    let run = Run::FIRST;
    let g = story::gtin();
    let certifier = net.gateway(DISTRIBUTOR, "inspector").await.unwrap();
    match step.title.as_str() {
        "A distributor tries to commission serials: refused" => {
            // Nothing was commissioned: the lot does not exist and the serial is unknown.
            refused(
                query(&certifier, &["LotStatus", &g, &run.lot(1)]).await,
                &["404"],
                "the refused lot",
            );
            let v = query(&certifier, &["Verify", &run.pack(0)]).await.unwrap();
            assert_eq!(v["known"], false);
        }
        "Pack 100 packs into case 10" => {
            let lot = query(&certifier, &["LotStatus", &g, &run.lot(1)]).await.unwrap();
            let packs = lot["packs"].as_array().unwrap();
            assert_eq!(packs.len(), 1000, "1,000 packs commissioned in lot 1");
            assert!(
                packs
                    .iter()
                    .all(|p| p["holder"] == "ManufacturerMSP" && p["parent"].is_string())
            );
        }
        "Distributor rejects case 2: custody stays" => {
            let case = query(&certifier, &["ReadCase", &run.sscc(2)]).await.unwrap();
            let custody = &case["case"]["custody"];
            assert_eq!(custody["holder"], "ManufacturerMSP");
            assert_eq!(custody["status"], "in_stock");
            assert_eq!(custody["transfer"]["status"], "rejected");
            assert_eq!(custody["transfer"]["reason"], "Synthetic damaged outer carton");
        }
        _ => {}
    }
}

/// The verification verdicts, provenance and trade document the story's queries returned.
fn assert_verdicts(steps: &[story::Step], answers: &[Option<Value>]) {
    let genuine = answer(steps, answers, "Verify a genuine pack");
    assert_eq!(
        (
            genuine["verified"].as_bool(),
            genuine["holder"].as_str(),
            genuine["status"].as_str()
        ),
        (Some(true), Some("HospitalAMSP"), Some("in_stock"))
    );
    assert_eq!(genuine["reasons"].as_array().unwrap().len(), 0);
    let unknown = answer(steps, answers, "Verify an unknown serial");
    assert_eq!(
        (
            unknown["known"].as_bool(),
            unknown["verified"].as_bool(),
            unknown["counterfeit"].as_bool()
        ),
        (Some(false), Some(false), Some(true))
    );
    assert!(
        unknown["counterfeitReasons"][0]
            .as_str()
            .unwrap()
            .contains("was never commissioned")
    );
    let recalled = answer(steps, answers, "Verify a recalled pack");
    assert_eq!(
        (recalled["recalled"].as_bool(), recalled["verified"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(recalled["recall"]["reason"], "Synthetic sterility deviation");
    let excursion = answer(steps, answers, "Verify a pack from the excursion case");
    assert_eq!(
        (excursion["suspect"].as_bool(), excursion["verified"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(
        excursion["suspectReasons"][0]
            .as_str()
            .unwrap()
            .contains("temperature excursion: 12.5 °C outside 2..8 °C"),
        "{excursion}"
    );
    let dispensed = answer(steps, answers, "Verify the dispensed pack");
    assert_eq!(
        (dispensed["status"].as_str(), dispensed["counterfeit"].as_bool()),
        (Some("dispensed"), Some(true))
    );
    let provenance = answer(steps, answers, "Provenance of the dispensed pack");
    let kinds: Vec<&str> = provenance["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["bizStep"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds.len(), 9, "{kinds:?}");
    let trade = answer(steps, answers, "Distributor reads the private trade document");
    assert_eq!(trade[0]["document"]["unitPrice"], story::UNIT_PRICE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_drug_story_runs_end_to_end_through_the_trading_orgs_gateways() {
    let net = start().await;
    let hospital = net.gateway(HOSPITAL_A, "User1").await.unwrap();
    let from = net.height(HOSPITAL_A).await.unwrap();
    let mut events = hospital.chaincode_events(CH, CC, Some(from), None).await.unwrap();
    let expiry = story::expiry_after(chaincode_now());
    let steps = story::drug_story(&orgs(), &expiry);
    let mut answers: Vec<Option<Value>> = Vec::new();
    for step in &steps {
        let outcome = play(&net, step).await;
        let answer = match (step.expect, outcome) {
            (Expect::Ok, Outcome::Committed(v, _) | Outcome::Answer(v)) => Some(v),
            (Expect::Refused(status), Outcome::Refused(text)) => {
                eprintln!("{}: refused: {text}", step.title);
                assert!(
                    text.contains(&format!("chaincode response {status}")),
                    "{}: {text}",
                    step.title
                );
                None
            }
            (_, Outcome::Refused(text)) => panic!("{}: refused: {text}\n{}", step.title, net.logs()),
            (expect, _) => panic!("{}: expected {expect:?}, but it succeeded", step.title),
        };
        answers.push(answer);
        check_after(&net, step).await;
    }

    assert_verdicts(&steps, &answers);

    // The hospital's system saw every custody change of the story, in block order.
    let names = event_names(
        &mut events,
        steps
            .iter()
            .filter(|s| s.submit && s.expect == Expect::Ok)
            .count(),
    )
    .await;
    for expected in [
        "PacksCommissioned",
        "CasePacked",
        "Shipped",
        "TransferAccepted",
        "TransferRejected",
        "TemperatureExcursion",
        "Dispensed",
        "CounterfeitSuspected",
        "LotRecalled",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected} event in {names:?}"
        );
    }
    let rejected = names.iter().position(|n| n == "TransferRejected").unwrap();
    let excursion = names.iter().position(|n| n == "TemperatureExcursion").unwrap();
    assert!(rejected < excursion);
}

/// The names of the next `n` events on `stream`.
async fn event_names(
    stream: &mut tonic::Streaming<carechain_proto::gateway::ChaincodeEventsResponse>,
    n: usize,
) -> Vec<String> {
    let mut names = Vec::new();
    while names.len() < n {
        let resp = tokio::time::timeout(WAIT, stream.message())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events: {names:?}", names.len()))
            .unwrap()
            .expect("stream open");
        names.extend(resp.events.into_iter().map(|e| e.event_name));
    }
    names
}

/// Unix seconds now (the contract checks expiry against the transaction time).
fn chaincode_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_manufacturer_that_owns_the_prefix_commissions() {
    let net = start().await;
    let expiry = story::expiry_after(chaincode_now());
    // Registration as the story does it.
    for step in story::drug_story(&orgs(), &expiry).iter().take(2) {
        assert!(
            matches!(play(&net, step).await, Outcome::Committed(..)),
            "{}",
            step.title
        );
    }
    let g = story::gtin();
    let serials = r#"["SYN0000001","SYN0000002"]"#;
    let call = ["CommissionPacks", &g, "SYNLOT-001", &expiry, serials];
    let before = heights(&net).await;
    for (org, user, why) in [
        (DISTRIBUTOR, "User1", "belongs to ManufacturerMSP"),
        (HOSPITAL_A, "pharmacist", "belongs to ManufacturerMSP"),
        (HOSPITAL_B, "Admin", "belongs to ManufacturerMSP"),
    ] {
        let gw = net.gateway(org, user).await.unwrap();
        refused(
            submit(&net, &gw, &call, &Default::default()).await,
            &["403", "may not commission serials for GTIN", why],
            &format!("{user} of org {org} commissions"),
        );
    }
    // Another org cannot take over the prefix (or one inside it) either.
    let admin = net.gateway(DISTRIBUTOR, "Admin").await.unwrap();
    refused(
        submit(
            &net,
            &admin,
            &["RegisterCompanyPrefix", "95212345", "Synthetic Copycat"],
            &Default::default(),
        )
        .await,
        &["409", "overlaps registered prefix 9521234", "ManufacturerMSP"],
        "a distributor claims a prefix inside the manufacturer's",
    );
    assert_eq!(heights(&net).await, before, "refusals changed nothing");
    let manufacturer = net.gateway(MANUFACTURER, "User1").await.unwrap();
    let c = submit(&net, &manufacturer, &call, &Default::default())
        .await
        .unwrap();
    let verdict = query(&manufacturer, &["Verify", &format!("(01){g}(21)SYN0000002")])
        .await
        .unwrap();
    assert_eq!(
        (verdict["verified"].as_bool(), verdict["commissionedBy"].as_str()),
        (Some(true), Some("ManufacturerMSP")),
        "commissioned in block {}",
        c.block
    );
}
