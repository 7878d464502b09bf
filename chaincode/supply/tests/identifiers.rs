//! GS1 identifier validation: check digits (GTIN-14, GLN-13, SSCC-18), serial and lot character sets,
//! expiry dates and the accepted text forms, both in the `gs1` module and at the contract boundary, where bad
//! input is a `BadRequest` naming the value that reads no state. Identifiers are GS1 examples or synthetic.

mod common;

use chaincode_api::testing::MockContext;
use chaincode_supply::SupplyContract;
use chaincode_supply::gs1::{self, Gln, Gtin, ObjectId, Sscc, check_digit};
use common::*;

#[test]
fn check_digits_follow_the_gs1_mod_10_algorithm() {
    // GS1 Digital Link example GTIN, a well-known EAN-13 and GS1's example SSCC.
    assert_eq!(check_digit("0950600013435"), Some(2));
    assert_eq!(check_digit("400638133393"), Some(1));
    assert_eq!(check_digit("00614141123456789"), Some(0));
    assert_eq!(check_digit(""), None);
    assert_eq!(check_digit("12a"), None);
    assert!(Gtin::parse("09506000134352").is_ok());
    assert!(Gln::parse("4006381333931").is_ok());
    assert!(Sscc::parse("006141411234567890").is_ok());
}

#[test]
fn wrong_check_digits_and_lengths_are_refused_naming_the_value() {
    let err = Gtin::parse("09506000134353").expect_err("bad check digit");
    assert_eq!(
        err.message(),
        "GTIN-14 \"09506000134353\" has a wrong check digit: expected 2, found 3"
    );
    let err = Gtin::parse("9506000134352").expect_err("13 digits");
    assert_eq!(
        err.message(),
        "GTIN-14 \"9506000134352\" must be exactly 14 digits"
    );
    let err = Gln::parse("4006381333932").expect_err("bad GLN");
    assert!(
        err.message()
            .starts_with("GLN \"4006381333932\" has a wrong check digit"),
        "{err}"
    );
    let err = Sscc::parse("006141411234567891").expect_err("bad SSCC");
    assert!(
        err.message()
            .starts_with("SSCC-18 \"006141411234567891\" has a wrong check digit"),
        "{err}"
    );
    assert!(Sscc::parse("00614141123456789x").is_err());
}

#[test]
fn serials_lots_and_prefixes_have_gs1_character_sets() {
    assert!(gs1::parse_serial("SYN0000001").is_ok());
    assert!(gs1::parse_serial(&"A".repeat(20)).is_ok());
    for bad in ["", "SYN-0001", "SYN 01", "ÄBC", &"A".repeat(21)] {
        let err = gs1::parse_serial(bad).expect_err(bad);
        assert!(err.message().contains(&format!("{bad:?}")), "{err}");
        assert!(err.message().contains("GS1 AI 21"), "{err}");
    }
    assert!(gs1::parse_lot("SYNLOT-001.a_b").is_ok());
    assert!(gs1::parse_lot("LOT/1").is_err());
    assert!(gs1::parse_company_prefix("9521234").is_ok());
    assert!(gs1::parse_company_prefix("95212").is_err());
    assert!(gs1::parse_company_prefix("9521234567890").is_err());
}

#[test]
fn expiry_accepts_iso_dates_and_gs1_yymmdd() {
    assert_eq!(gs1::parse_expiry("2026-06-30").expect("iso"), "2026-06-30");
    assert_eq!(gs1::parse_expiry("260630").expect("AI 17"), "2026-06-30");
    // Day 00 means the last day of the month (GS1 General Specifications, AI 17).
    assert_eq!(gs1::parse_expiry("280200").expect("leap"), "2028-02-29");
    for bad in ["2026-02-30", "261301", "2026/06/30", "20260630", "2026-6-30"] {
        let err = gs1::parse_expiry(bad).expect_err(bad);
        assert!(err.message().contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn objects_are_named_by_element_string_or_digital_link() {
    let g = "09506000134352";
    for text in [
        format!("(01){g}(21)SYN1"),
        format!("https://id.gs1.org/01/{g}/21/SYN1"),
        format!("https://example.invalid/01/{g}/10/LOT1/21/SYN1?17=260630"),
    ] {
        match ObjectId::parse(&text).expect(&text) {
            ObjectId::Pack(p) => assert_eq!(p.element_string(), format!("(01){g}(21)SYN1")),
            other => panic!("{text} parsed as {other:?}"),
        }
    }
    for text in [
        "(00)006141411234567890",
        "006141411234567890",
        "https://id.gs1.org/00/006141411234567890",
    ] {
        assert!(matches!(ObjectId::parse(text), Ok(ObjectId::Case(_))), "{text}");
    }
    let err = ObjectId::parse("SYN1").expect_err("not an identifier");
    assert!(
        err.message()
            .starts_with("\"SYN1\" is not a pack or case identifier"),
        "{err}"
    );
    let err = gs1::parse_sgtin("(00)006141411234567890").expect_err("a case is not a pack");
    assert!(err.message().contains("but a pack (SGTIN) is required"), "{err}");
}

#[test]
fn the_contract_refuses_bad_identifiers_before_reading_state() {
    let mut ctx = MockContext::new();
    let cases: [(&[&str], &str); 6] = [
        (&["Verify", "(01)09506000134353(21)SYN1"], "wrong check digit"),
        (&["Verify", "(01)09506000134352(21)SYN_1"], "serial \"SYN_1\""),
        (
            &["Observe", "(00)006141411234567890", "4006381333932"],
            "GLN \"4006381333932\"",
        ),
        (
            &["PackCase", "006141411234567891", "[]"],
            "SSCC-18 \"006141411234567891\"",
        ),
        (
            &["CommissionPacks", "09506000134352", "L1", "2026-13-01", "[\"A\"]"],
            "expiry \"2026-13-01\"",
        ),
        (
            &["Receive", "(00)006141411234567890", "maybe"],
            "decision \"maybe\"",
        ),
    ];
    for (args, needle) in cases {
        let err = ctx.submit(&SupplyContract, args).expect_err(needle);
        assert_eq!(err.status(), 400, "{err}");
        assert!(
            err.message().contains(needle),
            "{:?} lacks {needle:?}",
            err.message()
        );
        assert!(
            ctx.reads().is_empty() && ctx.range_reads().is_empty(),
            "{args:?} read state"
        );
        assert!(ctx.writes().is_empty());
    }
    assert_eq!(ctx.height(), 0);
}

#[test]
fn batch_lists_are_checked_whole() {
    let mut ctx = registered();
    let g = vaccine();
    let twice = r#"["SYN1","SYN2","SYN1"]"#;
    let err = ctx
        .submit(&SupplyContract, &["CommissionPacks", &g, LOT, EXPIRY, twice])
        .expect_err("duplicate in batch");
    assert_eq!(err.message(), "CommissionPacks: serial \"SYN1\" is listed twice");
    let too_many = serde_json::to_string(&serials(0, 1001)).expect("json");
    let err = ctx
        .submit(&SupplyContract, &["CommissionPacks", &g, LOT, EXPIRY, &too_many])
        .expect_err("too many");
    assert!(
        err.message()
            .contains("1001 packs listed; a batch holds 1 to 1000"),
        "{err}"
    );
    let err = ctx
        .submit(&SupplyContract, &["CommissionPacks", &g, LOT, EXPIRY, "[]"])
        .expect_err("empty");
    assert!(err.message().contains("0 packs listed"), "{err}");
}

#[test]
fn unknown_functions_list_the_served_ones() {
    let mut ctx = MockContext::new();
    let err = ctx.submit(&SupplyContract, &["Teleport"]).expect_err("unknown");
    assert_eq!(err.status(), 400);
    assert!(
        err.message()
            .contains("Function Teleport not found in contract supply"),
        "{err}"
    );
    assert!(err.message().contains("CommissionPacks"), "{err}");
}
