//! Who may commission: GS1 company prefixes are claimed once by an org admin, products are registered by the
//! prefix owner, and only that owner may commission serials. Refused requests change nothing. Synthetic orgs
//! and GS1 demonstration prefixes (952…) only.

mod common;

use chaincode_api::create_composite_key;
use common::*;

#[test]
fn a_prefix_is_claimed_once_by_an_org_admin() {
    let mut ctx = ledger();
    let err = expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &[
                "RegisterCompanyPrefix",
                PREFIX,
                "Synthetic Pharma Manufacturing Co.",
            ],
        ),
        403,
        "must have role admin",
    );
    assert!(err.message().contains("Synthetic Packaging Line 1"), "{err}");

    let record = submit(
        &mut ctx,
        &manufacturer_admin(),
        &[
            "RegisterCompanyPrefix",
            PREFIX,
            "Synthetic Pharma Manufacturing Co.",
        ],
    )
    .expect("first claim");
    assert_eq!(record["owner"], MANUFACTURER);
    assert_eq!(record["companyName"], "Synthetic Pharma Manufacturing Co.");
    assert_eq!(
        ctx.event().map(|e| e.name.as_str()),
        Some("CompanyPrefixRegistered")
    );

    // Another org's admin can claim neither the prefix, nor one inside it, nor one containing it.
    for (prefix, needle) in [
        (PREFIX.to_string(), "is already registered to ManufacturerMSP"),
        (format!("{PREFIX}5"), "overlaps registered prefix 9521234"),
        ("952123".to_string(), "overlaps registered prefix 9521234"),
    ] {
        let height = ctx.height();
        expect_err(
            submit(
                &mut ctx,
                &other_admin(),
                &["RegisterCompanyPrefix", &prefix, "Synthetic Copycat Ltd."],
            ),
            409,
            needle,
        );
        assert_eq!(ctx.height(), height, "refused claim of {prefix} committed");
    }
    // The owner cannot re-register it either; a disjoint prefix is fine.
    expect_err(
        submit(
            &mut ctx,
            &manufacturer_admin(),
            &["RegisterCompanyPrefix", PREFIX, "Again"],
        ),
        409,
        "already registered",
    );
    submit(
        &mut ctx,
        &other_admin(),
        &[
            "RegisterCompanyPrefix",
            OTHER_PREFIX,
            "Synthetic Other Pharma Inc.",
        ],
    )
    .expect("disjoint prefix");
}

#[test]
fn only_the_prefix_owner_registers_products() {
    let mut ctx = registered();
    submit(
        &mut ctx,
        &other_admin(),
        &[
            "RegisterCompanyPrefix",
            OTHER_PREFIX,
            "Synthetic Other Pharma Inc.",
        ],
    )
    .expect("other prefix");
    let err = expect_err(
        submit(
            &mut ctx,
            &other_maker(),
            &["RegisterProduct", &gtin(2), "Synthetic Fake", "2", "8", "365"],
        ),
        403,
        "its GS1 company prefix 9521234 belongs to ManufacturerMSP",
    );
    assert!(err.message().contains("OtherPharmaMSP"), "{err}");
    // A GTIN under no registered prefix.
    let orphan = chaincode_supply::gs1::with_check_digit("0951000000001").expect("digits");
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["RegisterProduct", &orphan, "Synthetic Orphan", "2", "8", "365"],
        ),
        403,
        "has no registered GS1 company prefix",
    );
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["RegisterProduct", &vaccine(), "Renamed", "2", "8", "365"],
        ),
        409,
        "already registered",
    );
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["RegisterProduct", &gtin(3), "Synthetic Tablet", "25", "15", "365"],
        ),
        400,
        "must be below maximum",
    );
    let product = evaluate(&mut ctx, &distributor(), &["ReadProduct", &vaccine()]).expect("read");
    assert_eq!(product["owner"], MANUFACTURER);
    assert_eq!(product["companyPrefix"], PREFIX);
    assert_eq!(
        (product["minTempC"].as_f64(), product["maxTempC"].as_f64()),
        (Some(2.0), Some(8.0))
    );
}

#[test]
fn commissioning_by_a_non_manufacturer_is_refused_and_writes_nothing() {
    let mut ctx = registered();
    let list = serde_json::to_string(&serials(0, 3)).expect("json");
    for who in [distributor(), pharmacist(), other_maker()] {
        let height = ctx.height();
        let err = expect_err(
            submit(
                &mut ctx,
                &who,
                &["CommissionPacks", &vaccine(), LOT, EXPIRY, &list],
            ),
            403,
            "may not commission serials for GTIN",
        );
        assert!(err.message().contains(&who.msp_id), "{err}");
        assert!(err.message().contains("belongs to ManufacturerMSP"), "{err}");
        assert_eq!(ctx.height(), height);
    }
    let v = verify(&mut ctx, &pack(0));
    assert_eq!(v["known"], false);
}

#[test]
fn commissioning_writes_packs_lot_index_and_one_shared_event() {
    let mut ctx = registered();
    let summary = commission(&mut ctx, LOT, &serials(0, 3)).expect("commission");
    assert_eq!(summary["commissioned"], 3);
    // 3 packs + 3 lot-index entries + the lot + one event.
    assert_eq!(
        ctx.writes().len(),
        8,
        "{:?}",
        ctx.writes().keys().collect::<Vec<_>>()
    );
    let event = ctx.event().expect("event");
    assert_eq!(event.name, "PacksCommissioned");
    let event: serde_json::Value = serde_json::from_slice(&event.payload).expect("json");
    assert_eq!(event["type"], "ObjectEvent");
    assert_eq!(event["action"], "ADD");
    assert_eq!(event["bizStep"], "commissioning");
    assert_eq!(event["disposition"], "active");
    assert_eq!(event["epcList"].as_array().map(Vec::len), Some(3));
    assert_eq!(event["ilmd"]["cbvmda:lotNumber"], LOT);
    assert_eq!(event["ilmd"]["cbvmda:itemExpirationDate"], EXPIRY);
    assert_eq!(
        event["readPoint"]["id"],
        format!("https://id.gs1.org/414/{}", plant())
    );
    let index = create_composite_key("supply.lotpack", &[&vaccine(), LOT, &serial(1)]).expect("key");
    assert_eq!(ctx.state(&index), Some(&b"1"[..]));
}

#[test]
fn duplicate_serials_refuse_the_whole_batch() {
    let mut ctx = with_packs(5);
    let height = ctx.height();
    let err = expect_err(
        commission(&mut ctx, LOT, &serials(3, 4)),
        409,
        "duplicate serial: 2 of GTIN",
    );
    assert!(err.message().contains("SYN0000003, SYN0000004"), "{err}");
    assert!(err.message().contains("nothing was commissioned"), "{err}");
    assert_eq!(ctx.height(), height);
    assert_eq!(
        verify(&mut ctx, &pack(6))["known"],
        false,
        "the new serials of the batch were not written"
    );
}

#[test]
fn lots_keep_one_expiry_and_expiry_respects_shelf_life() {
    let mut ctx = with_packs(1);
    let list = serde_json::to_string(&serials(10, 1)).expect("json");
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["CommissionPacks", &vaccine(), LOT, "2026-05-31", &list],
        ),
        409,
        "has expiry 2026-06-30, not 2026-05-31",
    );
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["CommissionPacks", &vaccine(), LOT2, "2030-01-01", &list],
        ),
        400,
        "shelf life of 1095 days",
    );
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["CommissionPacks", &vaccine(), LOT2, "2023-12-31", &list],
        ),
        400,
        "before the transaction date 2024-01-01",
    );
    expect_err(
        submit(
            &mut ctx,
            &manufacturer(),
            &["CommissionPacks", &gtin(9), LOT2, EXPIRY, &list],
        ),
        404,
        "is not a registered product",
    );
    // GS1 YYMMDD works and lands in the same lot.
    submit(
        &mut ctx,
        &manufacturer(),
        &["CommissionPacks", &vaccine(), LOT, "260630", &list],
    )
    .expect("YYMMDD");
}

#[test]
fn a_thousand_pack_batch_is_one_reasonable_transaction() {
    let mut ctx = registered();
    commission(&mut ctx, LOT, &serials(0, 1000)).expect("1,000 packs in one transaction");
    let writes = ctx.writes();
    assert_eq!(
        writes.len(),
        2002,
        "1,000 packs + 1,000 lot-index entries + the lot + one event"
    );
    let bytes: usize = writes
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    println!("1,000-pack commissioning writes {bytes} bytes");
    assert!(bytes < 1_000_000, "{bytes} bytes");
    assert_eq!(verify(&mut ctx, &pack(999))["verified"], true);
}
