//! Shared fixture for the supply chaincode tests: synthetic orgs, identities and GS1 identifiers.
//!
//! All data is synthetic: company names say "Synthetic", GS1 identifiers use prefix 952, which GS1 reserves
//! for demonstrations and examples, and serials start with "SYN".

#![allow(dead_code)]

use chaincode_api::testing::{MockContext, synthetic_caller};
use chaincode_api::{Caller, ContractError, Role, Timestamp};
use chaincode_supply::SupplyContract;
use chaincode_supply::gs1::with_check_digit;
use chaincode_supply::trade::collection_name;
use serde_json::Value;

pub const MANUFACTURER: &str = "ManufacturerMSP";
pub const DISTRIBUTOR: &str = "DistributorMSP";
pub const HOSPITAL: &str = "HospitalMSP";
pub const CERTIFIER_ORG: &str = "CertifierMSP";
pub const OTHER_MAKER: &str = "OtherPharmaMSP";

/// GS1 demonstration prefixes (952…), one per synthetic manufacturer.
pub const PREFIX: &str = "9521234";
pub const OTHER_PREFIX: &str = "9527777";

pub const LOT: &str = "SYNLOT-001";
pub const LOT2: &str = "SYNLOT-002";
pub const EXPIRY: &str = "2026-06-30";

/// 2024-01-01T00:00:00Z, MockContext's first timestamp.
pub const START: i64 = 1_704_067_200;

pub fn manufacturer_admin() -> Caller {
    synthetic_caller(MANUFACTURER, Role::Admin, "Synthetic Manufacturer Admin")
}
pub fn manufacturer() -> Caller {
    synthetic_caller(MANUFACTURER, Role::Client, "Synthetic Packaging Line 1")
}
pub fn distributor() -> Caller {
    synthetic_caller(DISTRIBUTOR, Role::Client, "Synthetic Warehouse Clerk")
}
pub fn pharmacist() -> Caller {
    synthetic_caller(HOSPITAL, Role::Client, "Synthetic Pharmacist 0001").with_attr("role", "pharmacist")
}
pub fn hospital_clerk() -> Caller {
    synthetic_caller(HOSPITAL, Role::Client, "Synthetic Receiving Clerk")
}
pub fn certifier() -> Caller {
    synthetic_caller(CERTIFIER_ORG, Role::Client, "Synthetic Inspector").with_attr("role", "certifier")
}
pub fn other_admin() -> Caller {
    synthetic_caller(OTHER_MAKER, Role::Admin, "Synthetic Other Pharma Admin")
}
pub fn other_maker() -> Caller {
    synthetic_caller(OTHER_MAKER, Role::Client, "Synthetic Other Pharma Line")
}

/// GTIN-14 `0 952 1234 <item> <check>` under [`PREFIX`].
pub fn gtin(item: u32) -> String {
    with_check_digit(&format!("0{PREFIX}{item:05}")).expect("digits")
}

/// The fixture's cold-chain product (2–8 °C).
pub fn vaccine() -> String {
    gtin(1)
}

/// SSCC-18 `0 952 1234 <serial ref> <check>`.
pub fn sscc(n: u32) -> String {
    with_check_digit(&format!("0{PREFIX}{n:09}")).expect("digits")
}

/// `(00)` form.
pub fn case(n: u32) -> String {
    format!("(00){}", sscc(n))
}

/// GLN-13 `952 1234 <location> <check>`.
pub fn gln(n: u32) -> String {
    with_check_digit(&format!("{PREFIX}{n:05}")).expect("digits")
}

pub fn plant() -> String {
    gln(1)
}
pub fn warehouse() -> String {
    gln(2)
}
pub fn pharmacy() -> String {
    gln(3)
}

pub fn serial(n: usize) -> String {
    format!("SYN{n:07}")
}

pub fn serials(from: usize, count: usize) -> Vec<String> {
    (from..from + count).map(serial).collect()
}

/// `(01)<gtin>(21)<serial>`.
pub fn sgtin(gtin: &str, serial: &str) -> String {
    format!("(01){gtin}(21){serial}")
}

pub fn pack(n: usize) -> String {
    sgtin(&vaccine(), &serial(n))
}

/// A mock peer that is a member of every trade collection of the fixture's orgs.
pub fn ledger() -> MockContext {
    let mut ctx = MockContext::new();
    let orgs = [MANUFACTURER, DISTRIBUTOR, HOSPITAL, OTHER_MAKER];
    for (i, a) in orgs.iter().enumerate() {
        for b in &orgs[i + 1..] {
            ctx = ctx.with_collection(&collection_name(a, b), true);
        }
    }
    ctx
}

/// Runs one transaction as `who`; JSON payload or the error.
pub fn submit(ctx: &mut MockContext, who: &Caller, args: &[&str]) -> Result<Value, ContractError> {
    ctx.set_caller(who.clone());
    let payload = ctx.submit(&SupplyContract, args)?;
    Ok(serde_json::from_slice(&payload).expect("JSON payload"))
}

/// Runs a query as `who`.
pub fn evaluate(ctx: &mut MockContext, who: &Caller, args: &[&str]) -> Result<Value, ContractError> {
    ctx.set_caller(who.clone());
    let payload = ctx.evaluate(&SupplyContract, args)?;
    Ok(serde_json::from_slice(&payload).expect("JSON payload"))
}

/// `Verify` as the certifier (anyone may verify).
pub fn verify(ctx: &mut MockContext, sgtin: &str) -> Value {
    evaluate(ctx, &certifier(), &["Verify", sgtin]).expect("Verify")
}

/// Expects an error with `status` whose message contains `needle`.
pub fn expect_err(result: Result<Value, ContractError>, status: i32, needle: &str) -> ContractError {
    let err = result.expect_err("expected an error");
    assert_eq!(err.status(), status, "{err}");
    assert!(
        err.message().contains(needle),
        "message {:?} lacks {needle:?}",
        err.message()
    );
    err
}

/// Registers the manufacturer's prefix and the 2–8 °C product (3-year shelf life).
pub fn registered() -> MockContext {
    let mut ctx = ledger();
    submit(
        &mut ctx,
        &manufacturer_admin(),
        &[
            "RegisterCompanyPrefix",
            PREFIX,
            "Synthetic Pharma Manufacturing Co.",
        ],
    )
    .expect("register prefix");
    submit(
        &mut ctx,
        &manufacturer(),
        &[
            "RegisterProduct",
            &vaccine(),
            "Synthetic Vaccine 10 mL vial",
            "2",
            "8",
            "1095",
        ],
    )
    .expect("register product");
    ctx
}

/// Commissions `serials` of the vaccine in `lot` as the manufacturer.
pub fn commission(ctx: &mut MockContext, lot: &str, serials: &[String]) -> Result<Value, ContractError> {
    let list = serde_json::to_string(serials).expect("json");
    submit(
        ctx,
        &manufacturer(),
        &["CommissionPacks", &vaccine(), lot, EXPIRY, &list, &plant()],
    )
}

/// Packs packs `from..from+count` into case `n` as `who`.
pub fn pack_case(ctx: &mut MockContext, who: &Caller, n: u32, from: usize, count: usize) -> Value {
    let packs: Vec<String> = (from..from + count).map(pack).collect();
    let list = serde_json::to_string(&packs).expect("json");
    submit(ctx, who, &["PackCase", &sscc(n), &list, &plant()]).expect("PackCase")
}

/// Registered, with `count` packs of [`LOT`] commissioned (serials 0..count), and no cases.
pub fn with_packs(count: usize) -> MockContext {
    let mut ctx = registered();
    commission(&mut ctx, LOT, &serials(0, count)).expect("commission");
    ctx
}

/// Ships `object` from `from` to `to` and has `receiver` accept it.
pub fn move_to(ctx: &mut MockContext, object: &str, from: &Caller, to: &str, receiver: &Caller) {
    submit(ctx, from, &["Ship", object, to, ""]).expect("Ship");
    submit(ctx, receiver, &["Receive", object, "accept", "", ""]).expect("Receive");
}

/// Sets the next transaction's timestamp to `days` after [`START`].
pub fn at_day(ctx: &mut MockContext, days: i64) {
    ctx.set_timestamp(Timestamp::new(START + days * 86_400, 0));
}
