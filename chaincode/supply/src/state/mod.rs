//! The records the contract keeps in public state, their composite keys, and loading / saving them.
//!
//! These are what the endorser's simulator reads and writes for each function (endorse step); MVCC
//! validation later checks the versions read. Packs and cases, and how a pack takes its custody from its
//! case, are in `objects`.
//!
//! | record | composite key (object type, attributes) |
//! |---|---|
//! | company prefix | `supply.prefix`, prefix |
//! | product | `supply.product`, GTIN |
//! | lot (expiry, recall) | `supply.lot`, GTIN, lot |
//! | packs by lot (index, value `1`) | `supply.lotpack`, GTIN, lot, serial |
//! | pack | `supply.pack`, GTIN, serial |
//! | case | `supply.case`, SSCC |
//! | packs in a case (index, value `1`) | `supply.casechild`, SSCC, GTIN, serial |
//! | EPCIS event | `supply.event`, `sgtin`/GTIN/serial, `sscc`/SSCC or `lot`/GTIN/lot, then a 10-digit per-object sequence; or `batch`/tx id for a commissioning batch |
//! | counterfeit reports | `supply.incident`, GTIN, serial |

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use chaincode_api::{Context, ContractError, create_composite_key};

use crate::gs1::Sgtin;

mod objects;

pub use objects::{
    Case, Custody, Flag, Incidents, LotRef, Membership, Pack, Status, Tracked, Transfer, TransferStatus,
    effective,
};

/// Object type of company prefix records.
pub const PREFIX: &str = "supply.prefix";
const PRODUCT: &str = "supply.product";
const LOT: &str = "supply.lot";
/// Object type of the packs-by-lot index.
pub const LOT_PACK: &str = "supply.lotpack";
const PACK: &str = "supply.pack";
const CASE: &str = "supply.case";
/// Object type of the packs-in-a-case index.
pub const CASE_CHILD: &str = "supply.casechild";
/// Object type of stored EPCIS events.
pub const EVENT: &str = "supply.event";
const INCIDENT: &str = "supply.incident";

/// Value of index keys (state values may not be empty).
pub const INDEX_VALUE: &[u8] = b"1";

/// Compact JSON of a stored record; `Internal` if it cannot be encoded.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ContractError> {
    serde_json::to_vec(value).map_err(|e| ContractError::Internal(format!("cannot encode JSON: {e}")))
}

fn from_json<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, ContractError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ContractError::Internal(format!("stored value of key {key:?} does not parse: {e}")))
}

fn key(object_type: &str, attrs: &[&str]) -> Result<String, ContractError> {
    create_composite_key(object_type, attrs)
}

/// Key of a company prefix record.
pub fn prefix_key(prefix: &str) -> Result<String, ContractError> {
    key(PREFIX, &[prefix])
}

/// Key of a product.
pub fn product_key(gtin: &str) -> Result<String, ContractError> {
    key(PRODUCT, &[gtin])
}

/// Key of a lot.
pub fn lot_key(gtin: &str, lot: &str) -> Result<String, ContractError> {
    key(LOT, &[gtin, lot])
}

/// Key of one entry of the packs-by-lot index.
pub fn lot_pack_key(gtin: &str, lot: &str, serial: &str) -> Result<String, ContractError> {
    key(LOT_PACK, &[gtin, lot, serial])
}

/// Key of a pack.
pub fn pack_key(gtin: &str, serial: &str) -> Result<String, ContractError> {
    key(PACK, &[gtin, serial])
}

/// Key of a case.
pub fn case_key(sscc: &str) -> Result<String, ContractError> {
    key(CASE, &[sscc])
}

/// Key of one entry of the packs-in-a-case index.
pub fn case_child_key(sscc: &str, gtin: &str, serial: &str) -> Result<String, ContractError> {
    key(CASE_CHILD, &[sscc, gtin, serial])
}

/// Key of the counterfeit reports about a serial (known or not).
pub fn incident_key(gtin: &str, serial: &str) -> Result<String, ContractError> {
    key(INCIDENT, &[gtin, serial])
}

/// Key of event `seq` of the object whose event attributes are `object` (see [`Pack::event_object`]).
pub fn event_key(object: &[&str], seq: u64) -> Result<String, ContractError> {
    let seq = format!("{seq:010}");
    let mut attrs = object.to_vec();
    attrs.push(&seq);
    key(EVENT, &attrs)
}

/// Key of a commissioning batch's shared event.
pub fn batch_event_key(tx_id: &str) -> Result<String, ContractError> {
    key(EVENT, &["batch", tx_id])
}

/// A registered GS1 company prefix: which org may commission GTINs under it. Never changes owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyPrefix {
    /// The digits.
    pub prefix: String,
    /// MSP id of the manufacturer.
    pub owner: String,
    /// Company name as registered (synthetic in tests).
    pub company_name: String,
    /// Subject of the admin who registered it.
    pub registered_by: String,
    /// Transaction time.
    pub registered_at: String,
    /// Transaction id.
    pub tx_id: String,
}

/// A product (trade item) and its cold-chain and shelf-life rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// GTIN-14.
    pub gtin: String,
    /// Name, strength and form.
    pub name: String,
    /// MSP id of the manufacturer (owner of `company_prefix`).
    pub owner: String,
    /// The registered prefix this GTIN falls under.
    pub company_prefix: String,
    /// Lowest allowed temperature, °C.
    pub min_temp_c: f64,
    /// Highest allowed temperature, °C.
    pub max_temp_c: f64,
    /// Longest allowed time from commissioning to expiry.
    pub shelf_life_days: u32,
    /// Transaction time.
    pub registered_at: String,
}

/// A lot of one GTIN: one expiry, and a recall flag that applies to every pack of the lot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lot {
    /// GTIN-14.
    pub gtin: String,
    /// Lot number.
    pub lot: String,
    /// `YYYY-MM-DD`.
    pub expiry: String,
    /// MSP id of the manufacturer.
    pub manufacturer: String,
    /// Set once, by the manufacturer.
    pub recall: Option<Recall>,
    /// Number of the lot's last event.
    pub seq: u64,
}

/// A lot recall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recall {
    /// Why (free text from the manufacturer).
    pub reason: String,
    /// MSP id of the recalling org.
    pub org: String,
    /// Transaction time.
    pub at: String,
    /// Transaction id.
    pub tx_id: String,
}

/// Reads and parses a record; `None` if absent.
pub fn load<T: DeserializeOwned>(ctx: &mut dyn Context, key: &str) -> Result<Option<T>, ContractError> {
    match ctx.get_state(key)? {
        Some(bytes) => from_json(key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// Writes a record as compact JSON.
pub fn save<T: Serialize + ?Sized>(ctx: &mut dyn Context, key: &str, value: &T) -> Result<(), ContractError> {
    ctx.put_state(key, &to_json(value)?)
}

/// The pack, or `NotFound` naming the serial.
pub fn must_pack(ctx: &mut dyn Context, sgtin: &Sgtin) -> Result<Pack, ContractError> {
    load(ctx, &pack_key(sgtin.gtin.as_str(), &sgtin.serial)?)?.ok_or_else(|| {
        ContractError::NotFound(format!(
            "pack {sgtin} is not on the ledger: serial {} was never commissioned for GTIN {}",
            sgtin.serial, sgtin.gtin
        ))
    })
}

/// The case, or `NotFound` naming the SSCC.
pub fn must_case(ctx: &mut dyn Context, sscc: &str) -> Result<Case, ContractError> {
    load(ctx, &case_key(sscc)?)?
        .ok_or_else(|| ContractError::NotFound(format!("case (00){sscc} is not on the ledger")))
}

/// The product, or `NotFound` naming the GTIN.
pub fn must_product(ctx: &mut dyn Context, gtin: &str) -> Result<Product, ContractError> {
    load(ctx, &product_key(gtin)?)?.ok_or_else(|| {
        ContractError::NotFound(format!(
            "GTIN {gtin} is not a registered product (RegisterProduct first)"
        ))
    })
}

/// The lot, or `NotFound` naming it.
pub fn must_lot(ctx: &mut dyn Context, gtin: &str, lot: &str) -> Result<Lot, ContractError> {
    load(ctx, &lot_key(gtin, lot)?)?
        .ok_or_else(|| ContractError::NotFound(format!("lot {lot} of GTIN {gtin} is not on the ledger")))
}
