//! Turns a [`Call`] into a typed [`Action`] with every check that needs no state.
//!
//! This runs first in the endorse step, before the contract reads the ledger, so a wrong check digit, an
//! unknown decision word or a malformed serial list is refused with a `BadRequest` naming the value and the
//! transaction records no reads at all. Optional trailing arguments (a GLN, a note) may be omitted or given
//! as "".

use std::collections::BTreeSet;

use chaincode_api::{Call, Contract, ContractError};

use crate::gs1::{self, Gln, Gtin, ObjectId, Sgtin, Sscc};

mod args;

use args::{arity, bad, batch_size, msp_id, number, object, opt_gln, opt_text, sscc, text, trade_ref};

/// Most packs one `CommissionPacks` or `PackCase` transaction may name (keeps a transaction's write set
/// around half a megabyte).
pub const MAX_BATCH: usize = 1_000;

/// A product to register.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSpec {
    /// GTIN-14.
    pub gtin: Gtin,
    /// Name, strength and form.
    pub name: String,
    /// Lowest allowed temperature, °C.
    pub min_temp_c: f64,
    /// Highest allowed temperature, °C.
    pub max_temp_c: f64,
    /// Longest time from commissioning to expiry.
    pub shelf_life_days: u32,
}

/// One request to the supply chaincode, arguments parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Claim a GS1 company prefix for the caller's org.
    RegisterCompanyPrefix {
        /// Prefix digits.
        prefix: String,
        /// Company name.
        company: String,
    },
    /// Register a product under one of the caller's prefixes.
    RegisterProduct(ProductSpec),
    /// Commission serials of one lot.
    CommissionPacks {
        /// Product.
        gtin: Gtin,
        /// Lot.
        lot: String,
        /// `YYYY-MM-DD`.
        expiry: String,
        /// Distinct serials.
        serials: Vec<String>,
        /// Where.
        gln: Option<Gln>,
    },
    /// Aggregate packs into a new case.
    PackCase {
        /// New case.
        sscc: Sscc,
        /// Distinct packs.
        packs: Vec<Sgtin>,
        /// Where.
        gln: Option<Gln>,
    },
    /// Take every pack out of a case.
    UnpackCase {
        /// Case.
        sscc: Sscc,
        /// Where.
        gln: Option<Gln>,
    },
    /// Offer an object to another org.
    Ship {
        /// Pack or case.
        object: ObjectId,
        /// Recipient MSP id.
        to: String,
        /// Public trade document reference.
        trade_doc_ref: Option<String>,
        /// Where.
        gln: Option<Gln>,
    },
    /// Accept or reject a transfer offered to the caller's org.
    Receive {
        /// Pack or case.
        object: ObjectId,
        /// Accept (`true`) or reject.
        accept: bool,
        /// Reject reason (required) or accept note.
        reason: Option<String>,
        /// Where.
        gln: Option<Gln>,
    },
    /// Record a location and sensor readings.
    Observe {
        /// Pack or case.
        object: ObjectId,
        /// Where.
        gln: Gln,
        /// °C.
        temperature: Option<f64>,
        /// kg.
        weight: Option<f64>,
    },
    /// A certifier clears suspect flags after inspection.
    ClearSuspect {
        /// Pack or case.
        object: ObjectId,
        /// Where.
        gln: Gln,
        /// Inspection result.
        note: String,
    },
    /// A pharmacist dispenses a pack.
    Dispense {
        /// Pack.
        sgtin: Sgtin,
        /// Pharmacy.
        gln: Option<Gln>,
    },
    /// Destroy or withdraw an object.
    Decommission {
        /// Pack or case.
        object: ObjectId,
        /// Why.
        reason: String,
        /// Where.
        gln: Option<Gln>,
    },
    /// Recall a lot.
    RecallLot {
        /// Product.
        gtin: Gtin,
        /// Lot.
        lot: String,
        /// Why.
        reason: String,
    },
    /// Anyone reports a physical scan of a pack; contradictions are recorded as counterfeit suspicion.
    ReportScan {
        /// Pack as scanned.
        sgtin: Sgtin,
        /// Where.
        gln: Gln,
        /// Optional remark.
        note: Option<String>,
    },
    /// Verification verdict for a pack.
    Verify(Sgtin),
    /// EPCIS events of a pack, in time order.
    Provenance(Sgtin),
    /// A case record and its packs.
    ReadCase(Sscc),
    /// A product record.
    ReadProduct(Gtin),
    /// A lot and the custody of each of its packs.
    LotStatus {
        /// Product.
        gtin: Gtin,
        /// Lot.
        lot: String,
    },
    /// Trade documents of a reference between the caller's org and `counterparty`.
    GetTrade {
        /// Reference.
        trade_doc_ref: String,
        /// Other org.
        counterparty: String,
    },
}

impl Action {
    /// Parses `call` for `contract`.
    pub fn parse(contract: &dyn Contract, call: &Call<'_>) -> Result<Action, ContractError> {
        match call.function {
            "RegisterCompanyPrefix" => {
                call.expect_args(2)?;
                Ok(Action::RegisterCompanyPrefix {
                    prefix: gs1::parse_company_prefix(call.str_arg(0)?)?.to_string(),
                    company: text(call, 1, "company name")?,
                })
            }
            "RegisterProduct" => product(call).map(Action::RegisterProduct),
            "CommissionPacks" => commission(call),
            "PackCase" => pack_case(call),
            "Ship" => ship(call),
            "Receive" => receive(call),
            "Observe" => observe(call),
            "UnpackCase" | "ClearSuspect" | "Dispense" | "Decommission" | "RecallLot" | "ReportScan" => {
                other_change(call)
            }
            "Verify" | "Provenance" | "ReadCase" | "ReadProduct" | "LotStatus" | "GetTrade" => query(call),
            _ => Err(chaincode_api::unknown_function(contract, call.function)),
        }
    }
}

/// The state-changing functions with short argument lists.
fn other_change(call: &Call<'_>) -> Result<Action, ContractError> {
    Ok(match call.function {
        "UnpackCase" => {
            arity(call, 1, 2)?;
            Action::UnpackCase {
                sscc: sscc(call, 0)?,
                gln: opt_gln(call, 1)?,
            }
        }
        "ClearSuspect" => {
            call.expect_args(3)?;
            Action::ClearSuspect {
                object: object(call, 0)?,
                gln: Gln::parse(call.str_arg(1)?)?,
                note: text(call, 2, "inspection note")?,
            }
        }
        "Dispense" => {
            arity(call, 1, 2)?;
            Action::Dispense {
                sgtin: gs1::parse_sgtin(call.str_arg(0)?)?,
                gln: opt_gln(call, 1)?,
            }
        }
        "Decommission" => {
            arity(call, 2, 3)?;
            Action::Decommission {
                object: object(call, 0)?,
                reason: text(call, 1, "decommission reason")?,
                gln: opt_gln(call, 2)?,
            }
        }
        "RecallLot" => {
            call.expect_args(3)?;
            Action::RecallLot {
                gtin: Gtin::parse(call.str_arg(0)?)?,
                lot: gs1::parse_lot(call.str_arg(1)?)?.to_string(),
                reason: text(call, 2, "recall reason")?,
            }
        }
        _ => {
            arity(call, 2, 3)?;
            Action::ReportScan {
                sgtin: gs1::parse_sgtin(call.str_arg(0)?)?,
                gln: Gln::parse(call.str_arg(1)?)?,
                note: opt_text(call, 2, "scan note")?,
            }
        }
    })
}

/// The read-only functions.
fn query(call: &Call<'_>) -> Result<Action, ContractError> {
    Ok(match call.function {
        "Verify" | "Provenance" | "ReadCase" | "ReadProduct" => {
            call.expect_args(1)?;
            let arg = call.str_arg(0)?;
            match call.function {
                "Verify" => Action::Verify(gs1::parse_sgtin(arg)?),
                "Provenance" => Action::Provenance(gs1::parse_sgtin(arg)?),
                "ReadCase" => Action::ReadCase(sscc(call, 0)?),
                _ => Action::ReadProduct(Gtin::parse(arg)?),
            }
        }
        "LotStatus" => {
            call.expect_args(2)?;
            Action::LotStatus {
                gtin: Gtin::parse(call.str_arg(0)?)?,
                lot: gs1::parse_lot(call.str_arg(1)?)?.to_string(),
            }
        }
        _ => {
            call.expect_args(2)?;
            Action::GetTrade {
                trade_doc_ref: trade_ref(call.str_arg(0)?)?,
                counterparty: msp_id(call.str_arg(1)?)?,
            }
        }
    })
}

fn product(call: &Call<'_>) -> Result<ProductSpec, ContractError> {
    call.expect_args(5)?;
    let min_temp_c = number(call, 2, "minimum temperature")?;
    let max_temp_c = number(call, 3, "maximum temperature")?;
    if !(-100.0..=100.0).contains(&min_temp_c) || !(-100.0..=100.0).contains(&max_temp_c) {
        return Err(bad(format!(
            "RegisterProduct: temperature range {min_temp_c}..{max_temp_c} °C must lie within -100..100 °C"
        )));
    }
    if min_temp_c >= max_temp_c {
        return Err(bad(format!(
            "RegisterProduct: minimum temperature {min_temp_c} °C must be below maximum {max_temp_c} °C"
        )));
    }
    let days = call.int_arg(4)?;
    let shelf_life_days = u32::try_from(days)
        .ok()
        .filter(|d| (1..=36_500).contains(d))
        .ok_or_else(|| {
            bad(format!(
                "RegisterProduct: shelf life {days} days must be 1 to 36500"
            ))
        })?;
    Ok(ProductSpec {
        gtin: Gtin::parse(call.str_arg(0)?)?,
        name: text(call, 1, "product name")?,
        min_temp_c,
        max_temp_c,
        shelf_life_days,
    })
}

fn commission(call: &Call<'_>) -> Result<Action, ContractError> {
    arity(call, 4, 5)?;
    let gtin = Gtin::parse(call.str_arg(0)?)?;
    let lot = gs1::parse_lot(call.str_arg(1)?)?.to_string();
    let expiry = gs1::parse_expiry(call.str_arg(2)?)?;
    let raw: Vec<String> = call.json_arg(3)?;
    batch_size(call, raw.len())?;
    let mut seen = BTreeSet::new();
    for serial in &raw {
        gs1::parse_serial(serial)?;
        if !seen.insert(serial.as_str()) {
            return Err(bad(format!("CommissionPacks: serial {serial:?} is listed twice")));
        }
    }
    Ok(Action::CommissionPacks {
        gtin,
        lot,
        expiry,
        serials: raw,
        gln: opt_gln(call, 4)?,
    })
}

fn pack_case(call: &Call<'_>) -> Result<Action, ContractError> {
    arity(call, 2, 3)?;
    let sscc = sscc(call, 0)?;
    let raw: Vec<String> = call.json_arg(1)?;
    batch_size(call, raw.len())?;
    let mut packs = Vec::with_capacity(raw.len());
    let mut seen = BTreeSet::new();
    for text in &raw {
        let sgtin = gs1::parse_sgtin(text)?;
        if !seen.insert(sgtin.clone()) {
            return Err(bad(format!("PackCase: pack {sgtin} is listed twice")));
        }
        packs.push(sgtin);
    }
    Ok(Action::PackCase {
        sscc,
        packs,
        gln: opt_gln(call, 2)?,
    })
}

fn ship(call: &Call<'_>) -> Result<Action, ContractError> {
    arity(call, 3, 4)?;
    let trade = call.str_arg(2)?;
    Ok(Action::Ship {
        object: object(call, 0)?,
        to: msp_id(call.str_arg(1)?)?,
        trade_doc_ref: if trade.is_empty() {
            None
        } else {
            Some(trade_ref(trade)?)
        },
        gln: opt_gln(call, 3)?,
    })
}

fn receive(call: &Call<'_>) -> Result<Action, ContractError> {
    arity(call, 2, 4)?;
    let accept = match call.str_arg(1)? {
        "accept" => true,
        "reject" => false,
        other => {
            return Err(bad(format!(
                "Receive: decision {other:?} must be \"accept\" or \"reject\""
            )));
        }
    };
    let reason = opt_text(call, 2, "reason")?;
    if !accept && reason.is_none() {
        return Err(bad("Receive: a reject needs a reason (argument 3)".into()));
    }
    Ok(Action::Receive {
        object: object(call, 0)?,
        accept,
        reason,
        gln: opt_gln(call, 3)?,
    })
}

fn observe(call: &Call<'_>) -> Result<Action, ContractError> {
    arity(call, 2, 4)?;
    let reading = |i: usize, what: &str| -> Result<Option<f64>, ContractError> {
        match call.args.get(i) {
            Some(raw) if !raw.is_empty() => number(call, i, what).map(Some),
            _ => Ok(None),
        }
    };
    let temperature = reading(2, "temperature")?;
    let weight = reading(3, "weight")?;
    if let Some(w) = weight
        && w < 0.0
    {
        return Err(bad(format!("Observe: weight {w} kg must not be negative")));
    }
    Ok(Action::Observe {
        object: object(call, 0)?,
        gln: Gln::parse(call.str_arg(1)?)?,
        temperature,
        weight,
    })
}
