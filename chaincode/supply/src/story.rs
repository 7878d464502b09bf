//! The drug supply-chain story as data, for `carechain demo` and for tests.
//!
//! The demo runs these steps through real gateways (each step is one proposal: endorse → order → validate);
//! the crate's tests run the same list against `MockContext`, so the script and the contract cannot drift
//! apart. Every identifier, name and price is synthetic: company prefix 952… is GS1's range for
//! demonstrations, serials start with `SYN`, and the counterfeit serial is `FAKE0001`.

use crate::gs1::with_check_digit;
use crate::trade::TRANSIENT_KEY;

/// Who performs a step; the demo maps each to a user of the matching org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An admin (NodeOU `admin`) of the manufacturer org.
    ManufacturerAdmin,
    /// A client of the manufacturer org.
    Manufacturer,
    /// A client of the distributor org.
    Distributor,
    /// A client of the hospital org without attributes (receiving dock).
    HospitalClerk,
    /// A client of the hospital org with attribute `role=pharmacist`.
    Pharmacist,
    /// A client with attribute `role=certifier` (any org; the demo may use a distributor QA user).
    Certifier,
}

/// What a step should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Success (status 200).
    Ok,
    /// Refusal with this status (403 forbidden, 409 conflict…).
    Refused(i32),
}

/// One step of the story.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What the step shows, for printing.
    pub title: String,
    /// Who does it.
    pub actor: Actor,
    /// `true`: submit a transaction; `false`: evaluate a query.
    pub submit: bool,
    /// Fabric args: function name first.
    pub args: Vec<String>,
    /// Transient input (name, bytes).
    pub transient: Vec<(String, Vec<u8>)>,
    /// Expected outcome.
    pub expect: Expect,
}

/// The three trading orgs' MSP ids.
#[derive(Debug, Clone)]
pub struct Orgs {
    /// Manufacturer.
    pub manufacturer: String,
    /// Distributor.
    pub distributor: String,
    /// Hospital pharmacy.
    pub hospital: String,
}

/// Synthetic GS1 company prefix of the manufacturer.
pub const PREFIX: &str = "9521234";
/// Trade reference of the first shipment (its price goes to the private collection).
pub const TRADE_REF: &str = "PO-SYN-0001";

/// The product's GTIN-14.
pub fn gtin() -> String {
    with_check_digit(&format!("0{PREFIX}00001")).unwrap_or_default()
}

/// Case `n`'s SSCC-18.
pub fn sscc(n: u32) -> String {
    with_check_digit(&format!("0{PREFIX}{n:09}")).unwrap_or_default()
}

/// GLN-13 of location `n` (1 plant, 2 warehouse, 3 pharmacy).
pub fn gln(n: u32) -> String {
    with_check_digit(&format!("{PREFIX}{n:05}")).unwrap_or_default()
}

/// Pack `n` as `(01)…(21)SYN…`.
pub fn pack(n: usize) -> String {
    format!("(01){}(21)SYN{n:07}", gtin())
}

/// The expiry to use: the date one year after the Unix time `now_seconds` (the demo passes its clock; the
/// contract checks expiry against the transaction time and the product's 3-year shelf life).
pub fn expiry_after(now_seconds: i64) -> String {
    let ts = chaincode_api::Timestamp::new(now_seconds.saturating_add(365 * 86_400), 0);
    ts.to_rfc3339().get(..10).unwrap_or_default().to_string()
}

struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(&mut self, actor: Actor, title: &str, args: &[&str], expect: Expect, submit: bool) {
        self.steps.push(Step {
            title: title.to_string(),
            actor,
            submit,
            args: args.iter().map(|a| a.to_string()).collect(),
            transient: Vec::new(),
            expect,
        });
    }

    fn ok(&mut self, actor: Actor, title: &str, args: &[&str]) {
        self.push(actor, title, args, Expect::Ok, true);
    }

    fn refused(&mut self, actor: Actor, status: i32, title: &str, args: &[&str]) {
        self.push(actor, title, args, Expect::Refused(status), true);
    }

    fn query(&mut self, actor: Actor, title: &str, args: &[&str]) {
        self.push(actor, title, args, Expect::Ok, false);
    }
}

fn serial_list(from: usize, count: usize) -> String {
    let serials: Vec<String> = (from..from + count).map(|n| format!("\"SYN{n:07}\"")).collect();
    format!("[{}]", serials.join(","))
}

fn pack_list(from: usize, count: usize) -> String {
    let packs: Vec<String> = (from..from + count).map(|n| format!("\"{}\"", pack(n))).collect();
    format!("[{}]", packs.join(","))
}

/// The whole story: 1,000 packs in ten cases, a shipment accepted twice and one rejected, an excursion,
/// dispensing (and a refused second dispense, then its report), a recall, a refused commissioning by a
/// non-manufacturer, and verification of a genuine, an unknown, a recalled, an excursion and a dispensed pack.
pub fn drug_story(orgs: &Orgs, expiry: &str) -> Vec<Step> {
    use Actor::*;
    let mut b = Builder { steps: Vec::new() };
    let (g, (plant, warehouse, pharmacy)) = (gtin(), (gln(1), gln(2), gln(3)));
    let case = |n: u32| format!("(00){}", sscc(n));
    let (manufacturer, distributor, hospital) = (&orgs.manufacturer, &orgs.distributor, &orgs.hospital);
    let company = "Synthetic Pharma Manufacturing Co.";
    b.ok(
        ManufacturerAdmin,
        "Manufacturer claims GS1 company prefix 9521234",
        &["RegisterCompanyPrefix", PREFIX, company],
    );
    let product = [
        "RegisterProduct",
        &g,
        "Synthetic Vaccine 10 mL vial",
        "2",
        "8",
        "1095",
    ];
    b.ok(Manufacturer, "Manufacturer registers a 2-8 °C product", &product);
    let first = serial_list(0, 500);
    b.refused(
        Distributor,
        403,
        "A distributor tries to commission serials: refused",
        &["CommissionPacks", &g, "SYNLOT-001", expiry, &first],
    );
    b.ok(
        Manufacturer,
        "Commission packs 0-499",
        &["CommissionPacks", &g, "SYNLOT-001", expiry, &first, &plant],
    );
    let second = serial_list(500, 500);
    b.ok(
        Manufacturer,
        "Commission packs 500-999",
        &["CommissionPacks", &g, "SYNLOT-001", expiry, &second, &plant],
    );
    for n in 1..=10u32 {
        let list = pack_list((n as usize - 1) * 100, 100);
        b.ok(
            Manufacturer,
            &format!("Pack 100 packs into case {n}"),
            &["PackCase", &sscc(n), &list, &plant],
        );
    }
    b.ok(
        Manufacturer,
        "Ship case 1 to the distributor (price in the private trade collection)",
        &["Ship", &case(1), distributor, TRADE_REF, &plant],
    );
    if let Some(step) = b.steps.last_mut() {
        let doc = br#"{"unitPrice":"12.34","currency":"USD","quantity":100,"note":"synthetic"}"#;
        step.transient.push((TRANSIENT_KEY.to_string(), doc.to_vec()));
    }
    b.ok(
        Distributor,
        "Distributor accepts case 1",
        &["Receive", &case(1), "accept", "", &warehouse],
    );
    b.query(
        Distributor,
        "Distributor reads the private trade document",
        &["GetTrade", TRADE_REF, manufacturer],
    );
    b.ok(
        Distributor,
        "Distributor observes case 1: 5.0 °C, 12.5 kg",
        &["Observe", &case(1), &warehouse, "5.0", "12.5"],
    );
    b.ok(
        Distributor,
        "Ship case 1 to the hospital",
        &["Ship", &case(1), hospital, "PO-SYN-0002", &warehouse],
    );
    b.ok(
        HospitalClerk,
        "Hospital accepts case 1",
        &["Receive", &case(1), "accept", "", &pharmacy],
    );
    b.ok(
        Manufacturer,
        "Ship case 2 to the distributor",
        &["Ship", &case(2), distributor, "PO-SYN-0003", &plant],
    );
    b.ok(
        Distributor,
        "Distributor rejects case 2: custody stays",
        &[
            "Receive",
            &case(2),
            "reject",
            "Synthetic damaged outer carton",
            &warehouse,
        ],
    );
    b.ok(
        Manufacturer,
        "Ship case 2 again",
        &["Ship", &case(2), distributor, "PO-SYN-0004", &plant],
    );
    b.ok(
        Distributor,
        "Distributor accepts case 2",
        &["Receive", &case(2), "accept", "", &warehouse],
    );
    b.ok(
        Distributor,
        "Distributor observes case 2 at 12.5 °C: excursion",
        &["Observe", &case(2), &warehouse, "12.5", ""],
    );
    b.ok(
        Pharmacist,
        "Pharmacist dispenses pack 0",
        &["Dispense", &pack(0), &pharmacy],
    );
    b.refused(
        Pharmacist,
        409,
        "Dispensing pack 0 again: refused (counterfeit suspicion)",
        &["Dispense", &pack(0), &pharmacy],
    );
    b.ok(
        Pharmacist,
        "Pharmacy reports the scan: recorded on the ledger",
        &["ReportScan", &pack(0), &pharmacy],
    );
    b.ok(
        Manufacturer,
        "Commission 20 packs of lot SYNLOT-002",
        &[
            "CommissionPacks",
            &g,
            "SYNLOT-002",
            expiry,
            &serial_list(1000, 20),
            &plant,
        ],
    );
    b.ok(
        Manufacturer,
        "Pack them into case 11",
        &["PackCase", &sscc(11), &pack_list(1000, 20), &plant],
    );
    b.ok(
        Manufacturer,
        "Ship case 11 to the hospital",
        &["Ship", &case(11), hospital, "PO-SYN-0005", &plant],
    );
    b.ok(
        HospitalClerk,
        "Hospital accepts case 11",
        &["Receive", &case(11), "accept", "", &pharmacy],
    );
    b.ok(
        Manufacturer,
        "Manufacturer recalls lot SYNLOT-002",
        &["RecallLot", &g, "SYNLOT-002", "Synthetic sterility deviation"],
    );
    b.refused(
        Pharmacist,
        409,
        "Dispensing a recalled pack: refused",
        &["Dispense", &pack(1005), &pharmacy],
    );
    b.query(Certifier, "Verify a genuine pack", &["Verify", &pack(1)]);
    b.query(
        Certifier,
        "Verify an unknown serial",
        &["Verify", &format!("(01){g}(21)FAKE0001")],
    );
    b.query(Certifier, "Verify a recalled pack", &["Verify", &pack(1005)]);
    b.query(
        Certifier,
        "Verify a pack from the excursion case",
        &["Verify", &pack(150)],
    );
    b.query(Certifier, "Verify the dispensed pack", &["Verify", &pack(0)]);
    b.query(
        Certifier,
        "Provenance of the dispensed pack",
        &["Provenance", &pack(0)],
    );
    b.steps
}
