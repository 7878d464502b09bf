//! The drug story end to end, with a synthetic manufacturer, distributor and hospital pharmacy: 1,000 packs
//! commissioned in two batches and packed into ten cases, a case shipped and accepted twice, observed with
//! and without a temperature excursion, dispensed (and refused the second time), a lot recalled, and the
//! verification verdicts and provenance anyone on the channel gets.

mod common;

use chaincode_api::testing::MockContext;
use common::*;
use serde_json::Value;

/// Serials 0..1000 of [`LOT`] in cases 1..=10 (case n holds packs (n-1)*100 .. n*100).
fn thousand_packs_in_cases() -> MockContext {
    let mut ctx = registered();
    commission(&mut ctx, LOT, &serials(0, 500)).expect("batch 1");
    commission(&mut ctx, LOT, &serials(500, 500)).expect("batch 2");
    for n in 1..=10u32 {
        let case = pack_case(&mut ctx, &manufacturer(), n, (n as usize - 1) * 100, 100);
        assert_eq!(case["packs"], 100);
    }
    ctx
}

/// Case 1 at the hospital (through the distributor, observed in range); case 2 at the distributor after a
/// 12.5 °C reading.
fn story() -> MockContext {
    let mut ctx = thousand_packs_in_cases();
    move_to(&mut ctx, &case(1), &manufacturer(), DISTRIBUTOR, &distributor());
    submit(
        &mut ctx,
        &distributor(),
        &["Observe", &case(1), &warehouse(), "5.0", "12.5"],
    )
    .expect("in range");
    move_to(&mut ctx, &case(1), &distributor(), HOSPITAL, &hospital_clerk());
    move_to(&mut ctx, &case(2), &manufacturer(), DISTRIBUTOR, &distributor());
    submit(
        &mut ctx,
        &distributor(),
        &["Observe", &case(2), &warehouse(), "12.5", ""],
    )
    .expect("excursion");
    ctx
}

fn event_name(ctx: &MockContext) -> String {
    ctx.event().map(|e| e.name.clone()).unwrap_or_default()
}

fn event_json(ctx: &MockContext) -> Value {
    serde_json::from_slice(&ctx.event().expect("event").payload).expect("event JSON")
}

#[test]
fn shipping_and_receiving_a_case_of_100_writes_the_case_and_one_event() {
    let mut ctx = thousand_packs_in_cases();
    submit(
        &mut ctx,
        &manufacturer(),
        &["Ship", &case(1), DISTRIBUTOR, "PO-SYN-0001", &plant()],
    )
    .expect("ship");
    assert_eq!(
        ctx.writes().len(),
        2,
        "case record + event: {:?}",
        ctx.writes().keys().collect::<Vec<_>>()
    );
    assert_eq!(event_name(&ctx), "Shipped");
    let shipped = event_json(&ctx);
    assert_eq!(
        (
            &shipped["bizStep"],
            &shipped["disposition"],
            &shipped["carechain:transferStatus"]
        ),
        (
            &Value::from("shipping"),
            &Value::from("in_transit"),
            &Value::from("offered")
        )
    );
    assert_eq!(shipped["bizTransactionList"][0]["bizTransaction"], "PO-SYN-0001");
    assert_eq!(
        shipped["destinationList"][0]["destination"],
        "urn:carechain:org:DistributorMSP"
    );

    // In transit: the manufacturer still holds every pack of the case.
    let v = verify(&mut ctx, &pack(42));
    assert_eq!(
        (&v["holder"], &v["status"]),
        (&Value::from(MANUFACTURER), &Value::from("in_transit"))
    );
    assert_eq!(v["verified"], true, "a pack in transit is genuine: {v}");

    submit(
        &mut ctx,
        &distributor(),
        &["Receive", &case(1), "accept", "", &warehouse()],
    )
    .expect("accept");
    assert_eq!(ctx.writes().len(), 2);
    assert_eq!(event_name(&ctx), "TransferAccepted");
    let received = event_json(&ctx);
    assert_eq!(received["type"], "TransactionEvent");
    assert_eq!(received["bizStep"], "receiving");
    // Every pack of the case moved; packs of other cases did not.
    for n in [0, 42, 99] {
        let v = verify(&mut ctx, &pack(n));
        assert_eq!(v["holder"], DISTRIBUTOR, "pack {n}");
        assert_eq!(v["location"], warehouse());
        assert_eq!(v["parent"], case(1));
    }
    assert_eq!(verify(&mut ctx, &pack(100))["holder"], MANUFACTURER);
}

#[test]
fn end_to_end_drug_story() {
    let mut ctx = story();
    assert_eq!(event_name(&ctx), "TemperatureExcursion");

    // Genuine pack at the hospital.
    let genuine = verify(&mut ctx, &pack(7));
    assert_eq!(genuine["known"], true);
    assert_eq!(genuine["verified"], true, "{genuine}");
    assert_eq!(genuine["reasons"], Value::Array(vec![]));
    assert_eq!(genuine["commissionedBy"], MANUFACTURER);
    assert_eq!(genuine["gtinOwner"], MANUFACTURER);
    assert_eq!(genuine["commissionedByGtinOwner"], true);
    assert_eq!(genuine["holder"], HOSPITAL);
    assert_eq!(genuine["status"], "in_stock");
    assert_eq!(genuine["parent"], case(1));
    assert_eq!(genuine["lot"], LOT);
    assert_eq!(genuine["expiry"], EXPIRY);
    assert_eq!(genuine["product"], "Synthetic Vaccine 10 mL vial");
    assert_eq!(genuine["transfer"]["status"], "accepted");
    assert_eq!(genuine["transfer"]["from"], DISTRIBUTOR);
    for flag in ["recalled", "expired", "suspect", "counterfeit"] {
        assert_eq!(genuine[flag], false, "{flag}");
    }

    // Excursion pack: every pack of case 2 is suspect, with the reading in the reason.
    let excursion = verify(&mut ctx, &pack(150));
    assert_eq!(excursion["suspect"], true);
    assert_eq!(excursion["verified"], false);
    let reason = excursion["suspectReasons"][0].as_str().expect("reason");
    assert!(
        reason.starts_with("temperature excursion: 12.5 °C outside 2..8 °C"),
        "{reason}"
    );
    assert!(
        reason.contains(&warehouse()) && reason.contains(DISTRIBUTOR),
        "{reason}"
    );
    assert_eq!(excursion["counterfeit"], false);

    // Dispense a pack from case 1: final; it leaves the case.
    submit(&mut ctx, &pharmacist(), &["Dispense", &pack(7), &pharmacy()]).expect("dispense");
    assert_eq!(event_name(&ctx), "Dispensed");
    let dispensed = verify(&mut ctx, &pack(7));
    assert_eq!(dispensed["status"], "dispensed");
    assert_eq!(dispensed["parent"], Value::Null);
    assert_eq!(dispensed["verified"], false);
    assert_eq!(dispensed["reasons"][0], "already dispensed");
    let case1 = evaluate(&mut ctx, &hospital_clerk(), &["ReadCase", &case(1)]).expect("case");
    assert_eq!(case1["packs"].as_array().map(Vec::len), Some(99));

    // Dispensing again is refused (and, being refused, records nothing) ...
    let height = ctx.height();
    expect_err(
        submit(&mut ctx, &pharmacist(), &["Dispense", &pack(7), &pharmacy()]),
        409,
        "counterfeit suspicion: pack (01)",
    );
    assert_eq!(ctx.height(), height);
    // ... so the pharmacy reports the scan, which succeeds and flags the serial.
    let report = submit(&mut ctx, &pharmacist(), &["ReportScan", &pack(7), &pharmacy()]).expect("report");
    assert_eq!(report["recorded"], true);
    assert_eq!(event_name(&ctx), "CounterfeitSuspected");
    let flagged = verify(&mut ctx, &pack(7));
    assert_eq!(flagged["counterfeit"], true);
    assert!(
        flagged["counterfeitReasons"][0]
            .as_str()
            .expect("reason")
            .starts_with("counterfeit suspicion: dispensed twice"),
        "{flagged}"
    );
    assert_eq!(flagged["counterfeitReports"], 1);

    // Unknown serial.
    let unknown = verify(&mut ctx, &sgtin(&vaccine(), "FAKE0001"));
    assert_eq!(unknown["known"], false);
    assert_eq!(unknown["verified"], false);
    assert_eq!(unknown["counterfeit"], true);
    assert!(
        unknown["counterfeitReasons"][0]
            .as_str()
            .expect("reason")
            .starts_with("counterfeit: unknown serial"),
        "{unknown}"
    );
    assert_eq!(unknown["holder"], Value::Null);
    assert_eq!(unknown["gtinOwner"], MANUFACTURER);
}

#[test]
fn a_recalled_pack_is_flagged_and_cannot_be_dispensed() {
    let mut ctx = story();
    commission(&mut ctx, LOT2, &serials(1000, 20)).expect("lot 2");
    pack_case(&mut ctx, &manufacturer(), 11, 1000, 20);
    move_to(&mut ctx, &case(11), &manufacturer(), HOSPITAL, &hospital_clerk());

    expect_err(
        submit(
            &mut ctx,
            &distributor(),
            &["RecallLot", &vaccine(), LOT2, "Synthetic sterility deviation"],
        ),
        403,
        "only its manufacturer ManufacturerMSP may",
    );
    let recall = submit(
        &mut ctx,
        &manufacturer(),
        &["RecallLot", &vaccine(), LOT2, "Synthetic sterility deviation"],
    )
    .expect("recall");
    assert_eq!(recall["packs"], 20);
    assert_eq!(ctx.writes().len(), 2, "lot record + event, however many packs");
    assert_eq!(event_name(&ctx), "LotRecalled");
    let event = event_json(&ctx);
    assert_eq!(event["disposition"], "recalled");
    assert_eq!(event["quantityList"][0]["quantity"], 20);

    for n in [1000, 1007, 1019] {
        let v = verify(&mut ctx, &pack(n));
        assert_eq!(v["recalled"], true, "pack {n}");
        assert_eq!(v["verified"], false);
        assert_eq!(v["recall"]["reason"], "Synthetic sterility deviation");
        assert_eq!(v["reasons"][0], "lot recalled: Synthetic sterility deviation");
    }
    assert_eq!(
        verify(&mut ctx, &pack(7))["recalled"],
        false,
        "other lot untouched"
    );
    expect_err(
        submit(&mut ctx, &pharmacist(), &["Dispense", &pack(1007), &pharmacy()]),
        409,
        "belongs to recalled lot SYNLOT-002",
    );
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["RecallLot", &vaccine(), LOT2, "again"],
        ),
        409,
        "already recalled",
    );
    expect_err(commission(&mut ctx, LOT2, &serials(2000, 1)), 409, "is recalled");
    // Recalled stock may only go back to the manufacturer.
    expect_err(
        submit(&mut ctx, &hospital_clerk(), &["Ship", &case(11), DISTRIBUTOR, ""]),
        409,
        "may only be returned to ManufacturerMSP",
    );
    submit(
        &mut ctx,
        &hospital_clerk(),
        &["Ship", &case(11), MANUFACTURER, "RMA-SYN-1"],
    )
    .expect("return");
    let status = evaluate(&mut ctx, &certifier(), &["LotStatus", &vaccine(), LOT2]).expect("lot status");
    assert_eq!(status["packs"].as_array().map(Vec::len), Some(20));
    assert_eq!(status["packs"][0]["status"], "in_transit");
    assert!(status["lot"]["recall"].is_object());
}

#[test]
fn dispensing_needs_a_pharmacist_of_the_holder_org_and_a_safe_pack() {
    let mut ctx = story();
    expect_err(
        submit(&mut ctx, &hospital_clerk(), &["Dispense", &pack(3)]),
        403,
        "needs attribute role=pharmacist, has no role attribute",
    );
    // A pharmacist of another org: the hospital holds the pack.
    let elsewhere = chaincode_api::testing::synthetic_caller(
        DISTRIBUTOR,
        chaincode_api::Role::Client,
        "Synthetic Pharmacist 0002",
    )
    .with_attr("role", "pharmacist");
    expect_err(
        submit(&mut ctx, &elsewhere, &["Dispense", &pack(3)]),
        403,
        "HospitalMSP holds it",
    );
    // The hospital does not hold case 2 (suspect) at all; the distributor's pharmacist is refused for suspicion.
    expect_err(
        submit(&mut ctx, &elsewhere, &["Dispense", &pack(150)]),
        409,
        "is suspect (temperature excursion",
    );
    expect_err(
        submit(
            &mut ctx,
            &pharmacist(),
            &["Dispense", &sgtin(&vaccine(), "NOPE1")],
        ),
        404,
        "serial NOPE1 was never commissioned",
    );
    // Expired on the day after expiry.
    at_day(&mut ctx, 912); // 2026-07-01
    expect_err(
        submit(&mut ctx, &pharmacist(), &["Dispense", &pack(3)]),
        409,
        "expired on 2026-06-30",
    );
}

#[test]
fn expired_packs_verify_as_expired_from_the_day_after_expiry() {
    let mut ctx = story();
    at_day(&mut ctx, 911); // 2026-06-30: last valid day
    assert_eq!(verify(&mut ctx, &pack(3))["expired"], false);
    at_day(&mut ctx, 912);
    let v = verify(&mut ctx, &pack(3));
    assert_eq!(v["expired"], true);
    assert_eq!(v["verified"], false);
    assert_eq!(v["reasons"][0], "expired on 2026-06-30");
    assert_eq!(v["checkedAt"], "2026-07-01T00:00:00.000Z");
}

#[test]
fn provenance_lists_every_event_in_time_order() {
    let mut ctx = story();
    submit(&mut ctx, &pharmacist(), &["Dispense", &pack(7), &pharmacy()]).expect("dispense");
    // Case 1 moves on after the pack left it: not part of pack 7's history.
    submit(
        &mut ctx,
        &hospital_clerk(),
        &["Observe", &case(1), &pharmacy(), "4", ""],
    )
    .expect("observe");
    submit(
        &mut ctx,
        &certifier(),
        &["ReportScan", &pack(7), &warehouse(), "Synthetic field scan"],
    )
    .expect("scan");

    let doc = evaluate(&mut ctx, &certifier(), &["Provenance", &pack(7)]).expect("provenance");
    assert_eq!(
        doc["epc"],
        format!("https://id.gs1.org/01/{}/21/{}", vaccine(), serial(7))
    );
    let events = doc["eventList"].as_array().expect("events");
    let steps: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["bizStep"].as_str().unwrap_or(""),
                e["type"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("commissioning", "ObjectEvent"),
            ("packing", "AggregationEvent"),
            ("shipping", "ObjectEvent"),
            ("receiving", "ObjectEvent"),
            ("sensor_reporting", "ObjectEvent"),
            ("shipping", "ObjectEvent"),
            ("receiving", "ObjectEvent"),
            ("dispensing", "ObjectEvent"),
            ("inspecting", "ObjectEvent"),
        ]
    );
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["eventTime"].as_str().unwrap_or(""))
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert_eq!(
        events[0]["epcList"],
        serde_json::json!([doc["epc"]]),
        "batch event narrowed to this pack"
    );
    assert_eq!(events[0]["action"], "ADD");
    assert_eq!(
        events[1]["parentID"],
        format!("https://id.gs1.org/00/{}", sscc(1))
    );
    assert_eq!(events[4]["sensorElementList"][0]["sensorReport"][0]["value"], 5.0);
    assert_eq!(events[4]["sensorElementList"][0]["sensorReport"][1]["uom"], "KGM");
    assert_eq!(events[6]["carechain:org"], HOSPITAL);
    assert_eq!(events[7]["disposition"], "dispensed");
    assert_eq!(
        events[7]["bizLocation"]["id"],
        format!("https://id.gs1.org/414/{}", pharmacy())
    );
    assert!(
        events[8]["carechain:counterfeit"]
            .as_str()
            .expect("reason")
            .contains("dispensed twice")
    );
    assert!(
        events.iter().all(|e| e["eventID"]
            .as_str()
            .is_some_and(|id| id.starts_with("urn:carechain:event:"))),
        "{events:?}"
    );

    expect_err(
        evaluate(
            &mut ctx,
            &certifier(),
            &["Provenance", &sgtin(&vaccine(), "FAKE0001")],
        ),
        404,
        "serial FAKE0001 was never commissioned",
    );
}

#[test]
fn scans_consistent_with_the_ledger_record_nothing_and_contradictions_are_flagged() {
    let mut ctx = story();
    let ok = submit(
        &mut ctx,
        &hospital_clerk(),
        &["ReportScan", &pack(5), &pharmacy()],
    )
    .expect("scan");
    assert_eq!(
        (ok["recorded"].as_bool(), ok["consistent"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(ctx.writes().is_empty() && ctx.event().is_none());

    let dup = submit(&mut ctx, &distributor(), &["ReportScan", &pack(5), &warehouse()]).expect("scan");
    assert_eq!(dup["recorded"], true);
    assert!(
        dup["reason"]
            .as_str()
            .expect("reason")
            .contains("duplicate serial"),
        "{dup}"
    );
    let v = verify(&mut ctx, &pack(5));
    assert_eq!(
        (v["counterfeit"].as_bool(), v["verified"].as_bool()),
        (Some(true), Some(false))
    );

    // A certifier inspecting stock at the custodian's site is not a contradiction.
    let inspected = submit(&mut ctx, &certifier(), &["ReportScan", &pack(6), &pharmacy()]).expect("scan");
    assert_eq!(inspected["recorded"], false);

    let fake = sgtin(&vaccine(), "FAKE0002");
    submit(&mut ctx, &pharmacist(), &["ReportScan", &fake, &pharmacy()]).expect("unknown scan");
    let v = verify(&mut ctx, &fake);
    assert_eq!(v["counterfeitReports"], 1);
    assert_eq!(
        v["counterfeitReasons"].as_array().map(Vec::len),
        Some(2),
        "computed + reported: {v}"
    );
}

#[test]
fn every_state_change_emits_an_event_with_the_epcis_payload() {
    let mut ctx = ledger();
    let expected: Vec<(chaincode_api::Caller, Vec<String>, &str)> = vec![
        (
            manufacturer_admin(),
            vec![
                "RegisterCompanyPrefix".into(),
                PREFIX.into(),
                "Synthetic Pharma Manufacturing Co.".into(),
            ],
            "CompanyPrefixRegistered",
        ),
        (
            manufacturer(),
            vec![
                "RegisterProduct".into(),
                vaccine(),
                "Synthetic Vaccine".into(),
                "2".into(),
                "8".into(),
                "1095".into(),
            ],
            "ProductRegistered",
        ),
        (
            manufacturer(),
            vec![
                "CommissionPacks".into(),
                vaccine(),
                LOT.into(),
                EXPIRY.into(),
                serde_json::to_string(&serials(0, 4)).expect("json"),
            ],
            "PacksCommissioned",
        ),
        (
            manufacturer(),
            vec![
                "PackCase".into(),
                sscc(1),
                serde_json::to_string(&[pack(0), pack(1)]).expect("json"),
            ],
            "CasePacked",
        ),
        (
            manufacturer(),
            vec!["Ship".into(), case(1), HOSPITAL.into(), String::new()],
            "Shipped",
        ),
        (
            hospital_clerk(),
            vec![
                "Receive".into(),
                case(1),
                "reject".into(),
                "Synthetic wrong quantity".into(),
            ],
            "TransferRejected",
        ),
        (
            manufacturer(),
            vec!["Ship".into(), case(1), HOSPITAL.into(), String::new()],
            "Shipped",
        ),
        (
            hospital_clerk(),
            vec!["Receive".into(), case(1), "accept".into()],
            "TransferAccepted",
        ),
        (
            hospital_clerk(),
            vec!["Observe".into(), case(1), pharmacy(), "4".into()],
            "Observed",
        ),
        (
            hospital_clerk(),
            vec!["Observe".into(), case(1), pharmacy(), "25".into()],
            "TemperatureExcursion",
        ),
        (
            certifier(),
            vec![
                "ClearSuspect".into(),
                case(1),
                pharmacy(),
                "Synthetic stability data reviewed".into(),
            ],
            "SuspectCleared",
        ),
        (
            pharmacist(),
            vec!["Dispense".into(), pack(0), pharmacy()],
            "Dispensed",
        ),
        (
            hospital_clerk(),
            vec!["UnpackCase".into(), sscc(1)],
            "CaseUnpacked",
        ),
        (
            hospital_clerk(),
            vec!["Decommission".into(), pack(1), "Synthetic broken vial".into()],
            "Decommissioned",
        ),
        (
            manufacturer(),
            vec![
                "RecallLot".into(),
                vaccine(),
                LOT.into(),
                "Synthetic labelling error".into(),
            ],
            "LotRecalled",
        ),
        (
            pharmacist(),
            vec!["ReportScan".into(), pack(0), pharmacy()],
            "CounterfeitSuspected",
        ),
    ];
    for (who, args, name) in expected {
        ctx.set_caller(who);
        ctx.submit(&chaincode_supply::SupplyContract, &args)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let event = ctx.event().unwrap_or_else(|| panic!("{args:?} set no event"));
        assert_eq!(event.name, name, "{args:?}");
        let payload: Value = serde_json::from_slice(&event.payload).expect("JSON payload");
        if !name.ends_with("Registered") {
            assert!(
                payload["type"].as_str().is_some_and(|t| t.ends_with("Event")),
                "{name}: {payload}"
            );
            assert!(
                payload["eventTime"].is_string() && payload["carechain:txId"].is_string(),
                "{name}"
            );
        }
    }
}
