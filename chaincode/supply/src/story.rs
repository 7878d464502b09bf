//! The drug supply-chain story as data, for `carechain demo` and for tests.
//!
//! The demo runs these steps through real gateways (each step is one proposal: endorse → order → validate);
//! the crate's tests run the same list against `MockContext`, and the integration tests against a real
//! network, so the script and the contract cannot drift apart. Every identifier, name and price is
//! synthetic: company prefix 952… is GS1's range for demonstrations, serials start with `SYN`, and the
//! counterfeit serial is `FAKE0001`. A [`Run`] other than the first tags serials, lots, cases and trade
//! references, so the story can be replayed on a ledger that already holds an earlier run's objects.

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
/// Trade reference of the first shipment in the first run (its price goes to the private collection).
pub const TRADE_REF: &str = "PO-SYN-0001";
/// Unit price in the first shipment's trade document.
pub const UNIT_PRICE: &str = "12.34";

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

/// Pack `n` of the first run as `(01)…(21)SYN…`.
pub fn pack(n: usize) -> String {
    Run::FIRST.pack(n)
}

/// One playing of the story. [`Run::FIRST`] uses the plain identifiers (serials `SYN0000000`…, cases 1–11,
/// lots `SYNLOT-001`/`-002`, references `PO-SYN-0001`…); run `r` > 0 tags every serial, lot, case number
/// and trade reference with `r` (below 10,000,000), so its objects are new on a ledger that holds earlier
/// runs. The company prefix, product and locations are the same in every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Run(pub u32);

impl Run {
    /// The first run.
    pub const FIRST: Run = Run(0);

    /// Serial `n` (GS1 AI 21, alphanumeric, at most 18 characters here).
    pub fn serial(self, n: usize) -> String {
        match self.0 {
            0 => format!("SYN{n:07}"),
            r => format!("SYN{r}R{n:07}"),
        }
    }

    /// Pack `n` as `(01)<GTIN>(21)<serial>`.
    pub fn pack(self, n: usize) -> String {
        format!("(01){}(21){}", gtin(), self.serial(n))
    }

    /// SSCC-18 of this run's case `n` (1..=99).
    pub fn sscc(self, n: u32) -> String {
        sscc(self.0.saturating_mul(100).saturating_add(n))
    }

    /// This run's case `n` as `(00)<SSCC>`.
    pub fn case(self, n: u32) -> String {
        format!("(00){}", self.sscc(n))
    }

    /// This run's lot `n` (`SYNLOT-00n`).
    pub fn lot(self, n: u32) -> String {
        match self.0 {
            0 => format!("SYNLOT-{n:03}"),
            r => format!("SYNLOT-{r}-{n:03}"),
        }
    }

    /// This run's trade reference `n` (`PO-SYN-000n`).
    pub fn trade_ref(self, n: u32) -> String {
        match self.0 {
            0 => format!("PO-SYN-{n:04}"),
            r => format!("PO-SYN-{r}-{n:04}"),
        }
    }
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

fn serial_list(run: Run, from: usize, count: usize) -> String {
    let serials: Vec<String> = (from..from + count)
        .map(|n| format!("\"{}\"", run.serial(n)))
        .collect();
    format!("[{}]", serials.join(","))
}

fn pack_list(run: Run, from: usize, count: usize) -> String {
    let packs: Vec<String> = (from..from + count)
        .map(|n| format!("\"{}\"", run.pack(n)))
        .collect();
    format!("[{}]", packs.join(","))
}

/// The whole story (first run): 1,000 packs in ten cases, a shipment accepted twice and one rejected, an
/// excursion, dispensing (and a refused second dispense, then its report), a recall, a refused commissioning
/// by a non-manufacturer, and verification of a genuine, an unknown, a recalled, an excursion and a dispensed
/// pack.
pub fn drug_story(orgs: &Orgs, expiry: &str) -> Vec<Step> {
    drug_story_run(orgs, expiry, Run::FIRST)
}

/// [`drug_story`] for `run`. Its first two steps (claiming the prefix, registering the product) succeed
/// once per ledger; a replay skips them (see [`is_registration`]).
pub fn drug_story_run(orgs: &Orgs, expiry: &str, run: Run) -> Vec<Step> {
    let mut b = Builder { steps: Vec::new() };
    registration(&mut b);
    commissioning(&mut b, run, expiry);
    custody(&mut b, run, orgs);
    dispensing_and_recall(&mut b, run, orgs, expiry);
    verification(&mut b, run);
    b.steps
}

/// Whether `step` is one of the registrations that succeed once per ledger (prefix, product).
pub fn is_registration(step: &Step) -> bool {
    matches!(
        step.args.first().map(String::as_str),
        Some("RegisterCompanyPrefix" | "RegisterProduct")
    )
}

fn registration(b: &mut Builder) {
    let company = "Synthetic Pharma Manufacturing Co.";
    b.ok(
        Actor::ManufacturerAdmin,
        "Manufacturer claims GS1 company prefix 9521234",
        &["RegisterCompanyPrefix", PREFIX, company],
    );
    let g = gtin();
    let product = [
        "RegisterProduct",
        &g,
        "Synthetic Vaccine 10 mL vial",
        "2",
        "8",
        "1095",
    ];
    b.ok(
        Actor::Manufacturer,
        "Manufacturer registers a 2-8 °C product",
        &product,
    );
}

fn commissioning(b: &mut Builder, run: Run, expiry: &str) {
    let (g, plant, lot) = (gtin(), gln(1), run.lot(1));
    let first = serial_list(run, 0, 500);
    b.refused(
        Actor::Distributor,
        403,
        "A distributor tries to commission serials: refused",
        &["CommissionPacks", &g, &lot, expiry, &first],
    );
    b.ok(
        Actor::Manufacturer,
        "Commission packs 0-499",
        &["CommissionPacks", &g, &lot, expiry, &first, &plant],
    );
    let second = serial_list(run, 500, 500);
    b.ok(
        Actor::Manufacturer,
        "Commission packs 500-999",
        &["CommissionPacks", &g, &lot, expiry, &second, &plant],
    );
    for n in 1..=10u32 {
        let list = pack_list(run, (n as usize - 1) * 100, 100);
        b.ok(
            Actor::Manufacturer,
            &format!("Pack 100 packs into case {n}"),
            &["PackCase", &run.sscc(n), &list, &plant],
        );
    }
}

fn custody(b: &mut Builder, run: Run, orgs: &Orgs) {
    use Actor::*;
    let (plant, warehouse, pharmacy) = (gln(1), gln(2), gln(3));
    let (case1, case2) = (run.case(1), run.case(2));
    let (distributor, hospital) = (&orgs.distributor, &orgs.hospital);
    let first_ref = run.trade_ref(1);
    b.ok(
        Manufacturer,
        "Ship case 1 to the distributor (price in the private trade collection)",
        &["Ship", &case1, distributor, &first_ref, &plant],
    );
    if let Some(step) = b.steps.last_mut() {
        let doc =
            format!(r#"{{"unitPrice":"{UNIT_PRICE}","currency":"USD","quantity":100,"note":"synthetic"}}"#);
        step.transient.push((TRANSIENT_KEY.to_string(), doc.into_bytes()));
    }
    b.ok(
        Distributor,
        "Distributor accepts case 1",
        &["Receive", &case1, "accept", "", &warehouse],
    );
    b.query(
        Distributor,
        "Distributor reads the private trade document",
        &["GetTrade", &first_ref, &orgs.manufacturer],
    );
    b.ok(
        Distributor,
        "Distributor observes case 1: 5.0 °C, 12.5 kg",
        &["Observe", &case1, &warehouse, "5.0", "12.5"],
    );
    b.ok(
        Distributor,
        "Ship case 1 to the hospital",
        &["Ship", &case1, hospital, &run.trade_ref(2), &warehouse],
    );
    b.ok(
        HospitalClerk,
        "Hospital accepts case 1",
        &["Receive", &case1, "accept", "", &pharmacy],
    );
    b.ok(
        Manufacturer,
        "Ship case 2 to the distributor",
        &["Ship", &case2, distributor, &run.trade_ref(3), &plant],
    );
    b.ok(
        Distributor,
        "Distributor rejects case 2: custody stays",
        &[
            "Receive",
            &case2,
            "reject",
            "Synthetic damaged outer carton",
            &warehouse,
        ],
    );
    b.ok(
        Manufacturer,
        "Ship case 2 again",
        &["Ship", &case2, distributor, &run.trade_ref(4), &plant],
    );
    b.ok(
        Distributor,
        "Distributor accepts case 2",
        &["Receive", &case2, "accept", "", &warehouse],
    );
    b.ok(
        Distributor,
        "Distributor observes case 2 at 12.5 °C: excursion",
        &["Observe", &case2, &warehouse, "12.5", ""],
    );
}

fn dispensing_and_recall(b: &mut Builder, run: Run, orgs: &Orgs, expiry: &str) {
    use Actor::*;
    let (g, plant, pharmacy) = (gtin(), gln(1), gln(3));
    let (lot2, case11) = (run.lot(2), run.case(11));
    b.ok(
        Pharmacist,
        "Pharmacist dispenses pack 0",
        &["Dispense", &run.pack(0), &pharmacy],
    );
    b.refused(
        Pharmacist,
        409,
        "Dispensing pack 0 again: refused (counterfeit suspicion)",
        &["Dispense", &run.pack(0), &pharmacy],
    );
    b.ok(
        Pharmacist,
        "Pharmacy reports the scan: recorded on the ledger",
        &["ReportScan", &run.pack(0), &pharmacy],
    );
    b.ok(
        Manufacturer,
        "Commission 20 packs of lot SYNLOT-002",
        &[
            "CommissionPacks",
            &g,
            &lot2,
            expiry,
            &serial_list(run, 1000, 20),
            &plant,
        ],
    );
    b.ok(
        Manufacturer,
        "Pack them into case 11",
        &["PackCase", &run.sscc(11), &pack_list(run, 1000, 20), &plant],
    );
    b.ok(
        Manufacturer,
        "Ship case 11 to the hospital",
        &["Ship", &case11, &orgs.hospital, &run.trade_ref(5), &plant],
    );
    b.ok(
        HospitalClerk,
        "Hospital accepts case 11",
        &["Receive", &case11, "accept", "", &pharmacy],
    );
    b.ok(
        Manufacturer,
        "Manufacturer recalls lot SYNLOT-002",
        &["RecallLot", &g, &lot2, "Synthetic sterility deviation"],
    );
    b.refused(
        Pharmacist,
        409,
        "Dispensing a recalled pack: refused",
        &["Dispense", &run.pack(1005), &pharmacy],
    );
}

fn verification(b: &mut Builder, run: Run) {
    use Actor::*;
    b.query(Certifier, "Verify a genuine pack", &["Verify", &run.pack(1)]);
    b.query(
        Certifier,
        "Verify an unknown serial",
        &["Verify", &format!("(01){}(21)FAKE0001", gtin())],
    );
    b.query(Certifier, "Verify a recalled pack", &["Verify", &run.pack(1005)]);
    b.query(
        Certifier,
        "Verify a pack from the excursion case",
        &["Verify", &run.pack(150)],
    );
    b.query(Certifier, "Verify the dispensed pack", &["Verify", &run.pack(0)]);
    b.query(
        Certifier,
        "Provenance of the dispensed pack",
        &["Provenance", &run.pack(0)],
    );
}
