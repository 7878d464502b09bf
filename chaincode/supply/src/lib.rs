//! `supply`: drug supply-chain traceability — serialised packs traced from manufacturer to dispensing with
//! GS1 identifiers and EPCIS 2.0 events, against counterfeits (DSCSA-style verification).
//!
//! Like every contract it runs only in the endorse step of endorse → order → validate: the endorser's
//! simulator hands it a [`Context`] over committed state, and its writes commit only after ordering and
//! validation. It is deterministic: the only clock is the transaction timestamp (event times, expiry checks).
//!
//! # Actors (from certificates)
//! * **Manufacturer**: an org that registered a GS1 company prefix. An org **admin** claims a prefix once with
//!   `RegisterCompanyPrefix`; first claim wins, and no org may later claim the same, a containing or a
//!   contained prefix. Only members of the owning org may register products (GTINs) under it, commission
//!   serials for them, and recall their lots.
//! * **Trading partners** are orgs (MSP ids). Any member of the holder org may ship, pack, unpack, observe and
//!   decommission; any member of the named recipient org may accept or reject.
//! * **Certifier**: any identity whose certificate has attribute `role=certifier` may observe any object and
//!   clear suspect flags after inspection.
//! * **Hospital pharmacy**: dispensing needs attribute `role=pharmacist` *and* the caller's org holding the pack.
//!
//! # Functions
//! | function | arguments (`?` = optional, may be "") | who | writes |
//! |---|---|---|---|
//! | `RegisterCompanyPrefix` | prefix, companyName | an admin of any org | prefix record |
//! | `RegisterProduct` | gtin, name, minTempC, maxTempC, shelfLifeDays | prefix owner org | product |
//! | `CommissionPacks` | gtin, lot, expiry (YYYY-MM-DD or YYMMDD), serials JSON array (≤1000), gln? | product owner org | packs, lot, lot index, one event |
//! | `PackCase` | sscc, SGTINs JSON array (≤1000), gln? | holder of every pack | case, packs, case index, event |
//! | `UnpackCase` | sscc, gln? | case holder | case, its packs, event |
//! | `Ship` | object, toMsp, tradeDocRef? , gln? (+ transient `trade`) | holder | object, event, private trade doc |
//! | `Receive` | object, `accept`/`reject`, reason (required to reject), gln? | recipient org | object, event |
//! | `Observe` | object, gln, temperature °C?, weight kg? | holder, pending recipient, `role=certifier` | object, event |
//! | `ClearSuspect` | object, gln, note | `role=certifier` | object, event |
//! | `Dispense` | sgtin, gln? | `role=pharmacist` of the holder org | pack (+ case index), event |
//! | `Decommission` | object, reason, gln? | holder | object, event |
//! | `RecallLot` | gtin, lot, reason | manufacturer | lot, event |
//! | `ReportScan` | sgtin, gln, note? | anyone | counterfeit report when the scan contradicts the ledger |
//! | `Verify` | sgtin | anyone | — |
//! | `Provenance` | sgtin | anyone | — |
//! | `ReadCase` / `ReadProduct` / `LotStatus` | sscc / gtin / gtin, lot | anyone | — |
//! | `GetTrade` | tradeDocRef, counterpartyMsp | the two trading orgs' peers | — |
//!
//! An *object* is a pack — `(01)<GTIN-14>(21)<serial>` or a GS1 Digital Link URI — or a case — `(00)<SSCC>`,
//! the bare 18 digits, or a Digital Link URI. Every state change sets one chaincode event (named after what
//! happened: `PacksCommissioned`, `CasePacked`, `Shipped`, `TransferAccepted`, `TransferRejected`,
//! `Observed`, `TemperatureExcursion`, `Dispensed`, `LotRecalled`, `CounterfeitSuspected`, …) whose payload
//! is the EPCIS event JSON.
//!
//! # Layout
//! * `gs1`: identifiers and check digits; `action`: arguments → [`Action`]; `state`: records and keys;
//!   `epcis`: event vocabulary; `trade`: private trade documents.
//! * `registry` (prefixes, products), `commission` (commission, pack, unpack, recall), `custody` (ship,
//!   receive, observe, dispense, decommission), `verify` (verify, provenance, counterfeit reports).
//! * `story`: the demo's drug story as data (steps, actors, expected outcomes), tested against the mock.

pub mod action;
mod commission;
mod custody;
pub mod epcis;
pub mod gs1;
mod registry;
pub mod state;
pub mod story;
pub mod trade;
mod verify;

pub use action::{Action, MAX_BATCH};
pub use custody::{CERTIFIER, PHARMACIST};
pub use verify::Verification;

use chaincode_api::{Call, Context, Contract, ContractError};

use crate::epcis::Stamp;

/// The chaincode name clients use.
pub const CHAINCODE_NAME: &str = "supply";

/// Functions served.
pub const FUNCTIONS: &[&str] = &[
    "RegisterCompanyPrefix",
    "RegisterProduct",
    "CommissionPacks",
    "PackCase",
    "UnpackCase",
    "Ship",
    "Receive",
    "Observe",
    "ClearSuspect",
    "Dispense",
    "Decommission",
    "RecallLot",
    "ReportScan",
    "Verify",
    "Provenance",
    "ReadCase",
    "ReadProduct",
    "LotStatus",
    "GetTrade",
];

/// The drug supply-chain contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct SupplyContract;

impl Contract for SupplyContract {
    fn name(&self) -> &str {
        CHAINCODE_NAME
    }

    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        let action = Action::parse(self, call)?;
        apply(ctx, action)
    }

    fn functions(&self) -> &[&'static str] {
        FUNCTIONS
    }
}

/// Runs a parsed action; the returned bytes are the response payload (JSON).
fn apply(ctx: &mut dyn Context, action: Action) -> Result<Vec<u8>, ContractError> {
    let stamp = Stamp::of(ctx);
    let s = &stamp;
    match action {
        Action::RegisterCompanyPrefix { prefix, company } => {
            registry::register_prefix(ctx, s, &prefix, &company)
        }
        Action::RegisterProduct(spec) => registry::register_product(ctx, s, spec),
        Action::CommissionPacks {
            gtin,
            lot,
            expiry,
            serials,
            gln,
        } => commission::commission(ctx, s, &gtin, &lot, &expiry, &serials, gln.as_ref()),
        Action::PackCase { sscc, packs, gln } => commission::pack_case(ctx, s, &sscc, &packs, gln.as_ref()),
        Action::UnpackCase { sscc, gln } => commission::unpack_case(ctx, s, &sscc, gln.as_ref()),
        Action::Ship {
            object,
            to,
            trade_doc_ref,
            gln,
        } => custody::ship(ctx, s, &object, &to, trade_doc_ref.as_deref(), gln.as_ref()),
        Action::Receive {
            object,
            accept,
            reason,
            gln,
        } => custody::receive(ctx, s, &object, accept, reason.as_deref(), gln.as_ref()),
        Action::Observe {
            object,
            gln,
            temperature,
            weight,
        } => custody::observe(ctx, s, &object, &gln, temperature, weight),
        Action::ClearSuspect { object, gln, note } => custody::clear_suspect(ctx, s, &object, &gln, &note),
        Action::Dispense { sgtin, gln } => custody::dispense(ctx, s, &sgtin, gln.as_ref()),
        Action::Decommission { object, reason, gln } => {
            custody::decommission(ctx, s, &object, &reason, gln.as_ref())
        }
        Action::RecallLot { gtin, lot, reason } => commission::recall(ctx, s, &gtin, &lot, &reason),
        Action::ReportScan { sgtin, gln, note } => verify::report_scan(ctx, s, &sgtin, &gln, note.as_deref()),
        Action::Verify(sgtin) => verify::verify(ctx, s, &sgtin),
        Action::Provenance(sgtin) => verify::provenance(ctx, &sgtin),
        Action::ReadCase(sscc) => verify::read_case(ctx, &sscc),
        Action::ReadProduct(gtin) => registry::read_product(ctx, &gtin),
        Action::LotStatus { gtin, lot } => commission::lot_status(ctx, &gtin, &lot),
        Action::GetTrade {
            trade_doc_ref,
            counterparty,
        } => trade::get(ctx, &trade_doc_ref, &counterparty),
    }
}
