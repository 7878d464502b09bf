//! Transfers and what surrounds them: the reject flow, who may receive / observe / clear, private trade
//! documents (only in the pair's collection, never in public state or events), aggregation rules, unpacking
//! and decommissioning. Synthetic orgs, prices and identifiers only.

mod common;

use chaincode_api::testing::MockContext;
use chaincode_supply::trade::collection_name;
use common::*;
use serde_json::Value;

/// 300 packs in cases 1..=3 at the manufacturer.
fn three_cases() -> MockContext {
    let mut ctx = with_packs(300);
    for n in 1..=3u32 {
        pack_case(&mut ctx, &manufacturer(), n, (n as usize - 1) * 100, 100);
    }
    ctx
}

#[test]
fn a_rejected_transfer_keeps_custody_with_the_sender_and_records_the_reason() {
    let mut ctx = three_cases();
    submit(
        &mut ctx,
        &manufacturer(),
        &["Ship", &case(1), DISTRIBUTOR, "PO-SYN-0002"],
    )
    .expect("ship");
    expect_err(
        submit(&mut ctx, &distributor(), &["Receive", &case(1), "reject"]),
        400,
        "a reject needs a reason",
    );
    submit(
        &mut ctx,
        &distributor(),
        &[
            "Receive",
            &case(1),
            "reject",
            "Synthetic damaged outer carton",
            &warehouse(),
        ],
    )
    .expect("reject");
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("TransferRejected"));
    let event: Value = serde_json::from_slice(&ctx.event().expect("event").payload).expect("json");
    assert_eq!(event["bizStep"], "receiving");
    assert_eq!(event["disposition"], "returned");
    assert_eq!(event["carechain:transferStatus"], "rejected");
    assert_eq!(event["carechain:reason"], "Synthetic damaged outer carton");

    let v = verify(&mut ctx, &pack(10));
    assert_eq!(v["holder"], MANUFACTURER);
    assert_eq!(v["status"], "in_stock");
    assert_eq!(v["transfer"]["status"], "rejected");
    assert_eq!(v["transfer"]["reason"], "Synthetic damaged outer carton");
    assert_eq!(v["transfer"]["to"], DISTRIBUTOR);
    assert_eq!(
        v["verified"], true,
        "a rejected transfer does not make the pack bad: {v}"
    );

    // Nothing left to receive; the sender may ship again (here to the hospital directly).
    expect_err(
        submit(&mut ctx, &distributor(), &["Receive", &case(1), "accept"]),
        409,
        "has no pending transfer",
    );
    submit(&mut ctx, &manufacturer(), &["Ship", &case(1), HOSPITAL, ""]).expect("ship again");
    submit(&mut ctx, &hospital_clerk(), &["Receive", &case(1), "accept"]).expect("accept");
    assert_eq!(verify(&mut ctx, &pack(10))["holder"], HOSPITAL);
}

#[test]
fn only_the_named_recipient_receives_and_only_the_holder_ships() {
    let mut ctx = three_cases();
    expect_err(
        submit(&mut ctx, &distributor(), &["Ship", &case(1), HOSPITAL, ""]),
        403,
        "does not hold object (00)",
    );
    submit(&mut ctx, &manufacturer(), &["Ship", &case(1), DISTRIBUTOR, ""]).expect("ship");
    expect_err(
        submit(&mut ctx, &hospital_clerk(), &["Receive", &case(1), "accept"]),
        403,
        "it was offered to DistributorMSP",
    );
    expect_err(
        submit(&mut ctx, &manufacturer(), &["Ship", &case(1), HOSPITAL, ""]),
        409,
        "is in_transit, not in stock",
    );
    expect_err(
        submit(&mut ctx, &manufacturer(), &["Ship", &case(2), MANUFACTURER, ""]),
        400,
        "already held by ManufacturerMSP",
    );
}

#[test]
fn a_pack_inside_a_case_moves_only_with_its_case() {
    let mut ctx = three_cases();
    expect_err(
        submit(&mut ctx, &manufacturer(), &["Ship", &pack(5), DISTRIBUTOR, ""]),
        409,
        "is in case (00)",
    );
    let list = serde_json::to_string(&[pack(5)]).expect("json");
    expect_err(
        submit(&mut ctx, &manufacturer(), &["PackCase", &sscc(9), &list]),
        409,
        "is already in case",
    );
    let list = serde_json::to_string(&[pack(299)]).expect("json");
    expect_err(
        submit(&mut ctx, &manufacturer(), &["PackCase", &sscc(1), &list]),
        409,
        "already exists",
    );
}

#[test]
fn trade_documents_stay_in_the_pair_collection() {
    let mut ctx = three_cases();
    let marker = "SYNTHETIC-PRICE-MARKER-7731";
    let document = format!(r#"{{"unitPrice":"12.34","currency":"USD","invoice":"{marker}"}}"#);
    ctx.set_transient("trade", document.as_bytes());
    submit(
        &mut ctx,
        &manufacturer(),
        &["Ship", &case(1), DISTRIBUTOR, "PO-SYN-0003"],
    )
    .expect("ship");

    let collection = collection_name(DISTRIBUTOR, MANUFACTURER);
    assert_eq!(collection, "trade_DistributorMSP_ManufacturerMSP");
    assert_eq!(
        collection,
        collection_name(MANUFACTURER, DISTRIBUTOR),
        "order-independent"
    );
    let key = format!("PO-SYN-0003/{}", ctx.last_tx().tx_id);
    let stored: Value =
        serde_json::from_slice(ctx.private_state(&collection, &key).expect("private doc")).expect("json");
    assert_eq!(stored["document"]["invoice"], marker);
    assert_eq!(stored["from"], MANUFACTURER);
    assert_eq!(stored["to"], DISTRIBUTOR);

    // Never in public state, the transaction's public writes, or its event.
    let leaked = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes).contains(marker) || String::from_utf8_lossy(bytes).contains("12.34")
    };
    for k in ctx.keys() {
        assert!(
            !leaked(ctx.state(k).expect("value")),
            "public key {k:?} holds trade data"
        );
    }
    assert!(ctx.writes().values().flatten().all(|v| !leaked(v)));
    assert!(!leaked(&ctx.event().expect("event").payload));
    let v = verify(&mut ctx, &pack(1));
    assert_eq!(v["transfer"]["tradeDocRef"], "PO-SYN-0003");
    assert_eq!(v["transfer"]["tradeCollection"], collection);

    let docs = evaluate(
        &mut ctx,
        &distributor(),
        &["GetTrade", "PO-SYN-0003", MANUFACTURER],
    )
    .expect("get");
    assert_eq!(docs[0]["document"]["unitPrice"], "12.34");
    expect_err(
        evaluate(
            &mut ctx,
            &distributor(),
            &["GetTrade", "PO-SYN-9999", MANUFACTURER],
        ),
        404,
        "no trade document PO-SYN-9999",
    );
}

#[test]
fn trade_documents_need_a_reference_valid_json_and_a_declared_collection() {
    let mut ctx = three_cases();
    ctx.set_transient("trade", br#"{"unitPrice":"1.00"}"#);
    expect_err(
        submit(&mut ctx, &manufacturer(), &["Ship", &case(1), DISTRIBUTOR, ""]),
        400,
        "needs a trade document reference",
    );
    ctx.set_transient("trade", b"[1,2]");
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["Ship", &case(1), DISTRIBUTOR, "PO-1"],
        ),
        400,
        "must be a JSON object",
    );
    // No collection declared for this pair: the shipment is refused rather than leaking the document.
    ctx.set_transient("trade", br#"{"unitPrice":"1.00"}"#);
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["Ship", &case(1), "UndeclaredMSP", "PO-1"],
        ),
        400,
        "collection trade_ManufacturerMSP_UndeclaredMSP is not defined",
    );
    assert_eq!(verify(&mut ctx, &pack(1))["status"], "in_stock");
}

#[test]
fn observers_are_the_holder_the_pending_recipient_or_a_certifier() {
    let mut ctx = three_cases();
    expect_err(
        submit(
            &mut ctx,
            &distributor(),
            &["Observe", &case(1), &warehouse(), "5"],
        ),
        403,
        "needs to belong to its holder ManufacturerMSP, be its pending recipient, or have attribute role=certifier",
    );
    submit(&mut ctx, &manufacturer(), &["Ship", &case(1), DISTRIBUTOR, ""]).expect("ship");
    submit(
        &mut ctx,
        &distributor(),
        &["Observe", &case(1), &warehouse(), "5"],
    )
    .expect("recipient at the dock");
    let event: Value = serde_json::from_slice(&ctx.event().expect("event").payload).expect("json");
    assert_eq!(
        (&event["bizStep"], &event["disposition"]),
        (&Value::from("sensor_reporting"), &Value::from("in_transit"))
    );
    submit(
        &mut ctx,
        &certifier(),
        &["Observe", &pack(250), &gln(7), "-1.5", ""],
    )
    .expect("certifier");
    let event: Value = serde_json::from_slice(&ctx.event().expect("event").payload).expect("json");
    assert_eq!(event["bizStep"], "inspecting");
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("TemperatureExcursion"));
    // A single pack's excursion flags that pack only, not the rest of its case.
    assert_eq!(verify(&mut ctx, &pack(250))["suspect"], true);
    assert_eq!(verify(&mut ctx, &pack(251))["suspect"], false);
}

#[test]
fn a_certifier_clears_suspect_flags_after_inspection() {
    let mut ctx = three_cases();
    submit(&mut ctx, &manufacturer(), &["Observe", &case(3), &plant(), "9.1"]).expect("excursion");
    assert_eq!(verify(&mut ctx, &pack(201))["suspect"], true);
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["ClearSuspect", &case(3), &plant(), "looks fine"],
        ),
        403,
        "needs attribute role=certifier",
    );
    expect_err(
        submit(
            &mut ctx,
            &certifier(),
            &["ClearSuspect", &pack(201), &plant(), "pack only"],
        ),
        409,
        "a pack in a suspect case: clear the case",
    );
    submit(
        &mut ctx,
        &certifier(),
        &[
            "ClearSuspect",
            &case(3),
            &plant(),
            "Synthetic logger data reviewed: 12 min",
        ],
    )
    .expect("clear");
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("SuspectCleared"));
    assert_eq!(verify(&mut ctx, &pack(201))["suspect"], false);
    let doc = evaluate(&mut ctx, &certifier(), &["Provenance", &pack(201)]).expect("provenance");
    let last = doc["eventList"]
        .as_array()
        .and_then(|l| l.last())
        .expect("event")
        .clone();
    assert_eq!(last["bizStep"], "inspecting");
    assert!(
        last["carechain:suspect"][0]
            .as_str()
            .expect("cleared")
            .starts_with("cleared: temperature excursion")
    );
}

#[test]
fn unpacking_hands_custody_and_flags_to_each_pack() {
    let mut ctx = three_cases();
    move_to(&mut ctx, &case(2), &manufacturer(), DISTRIBUTOR, &distributor());
    submit(
        &mut ctx,
        &distributor(),
        &["Observe", &case(2), &warehouse(), "30"],
    )
    .expect("excursion");
    submit(&mut ctx, &distributor(), &["UnpackCase", &sscc(2), &warehouse()]).expect("unpack");
    assert_eq!(ctx.event().map(|e| e.name.as_str()), Some("CaseUnpacked"));
    let v = verify(&mut ctx, &pack(120));
    assert_eq!(
        (&v["holder"], &v["parent"], &v["suspect"]),
        (&Value::from(DISTRIBUTOR), &Value::Null, &Value::Bool(true))
    );
    // Packs now move on their own; the unpacked case is finished.
    submit(&mut ctx, &distributor(), &["Ship", &pack(120), HOSPITAL, ""]).expect("ship a single pack");
    expect_err(
        submit(&mut ctx, &distributor(), &["Ship", &case(2), HOSPITAL, ""]),
        409,
        "unpacked",
    );
    let case2 = evaluate(&mut ctx, &distributor(), &["ReadCase", &case(2)]).expect("case");
    assert_eq!(case2["packs"], Value::Array(vec![]));
    assert_eq!(case2["case"]["custody"]["status"], "unpacked");
}

#[test]
fn decommissioning_is_final_for_a_case_and_its_packs() {
    let mut ctx = three_cases();
    expect_err(
        submit(
            &mut ctx,
            &distributor(),
            &["Decommission", &case(1), "Synthetic water damage"],
        ),
        403,
        "does not hold",
    );
    submit(
        &mut ctx,
        &manufacturer(),
        &["Decommission", &case(1), "Synthetic water damage", &plant()],
    )
    .expect("case");
    let event: Value = serde_json::from_slice(&ctx.event().expect("event").payload).expect("json");
    assert_eq!(
        (&event["action"], &event["bizStep"]),
        (&Value::from("DELETE"), &Value::from("decommissioning"))
    );
    assert_eq!(verify(&mut ctx, &pack(50))["status"], "decommissioned");
    expect_err(
        submit(&mut ctx, &manufacturer(), &["Observe", &pack(50), &plant(), "5"]),
        409,
        "is decommissioned",
    );

    // A single pack leaves its case; its case-mates are unaffected.
    submit(
        &mut ctx,
        &manufacturer(),
        &["Decommission", &pack(150), "Synthetic QC sample"],
    )
    .expect("pack");
    assert_eq!(verify(&mut ctx, &pack(150))["status"], "decommissioned");
    assert_eq!(verify(&mut ctx, &pack(151))["status"], "in_stock");
    let case2 = evaluate(&mut ctx, &manufacturer(), &["ReadCase", &case(2)]).expect("case");
    assert_eq!(case2["packs"].as_array().map(Vec::len), Some(99));
}
