//! Prices and trade documents: private data shared only by the two trading orgs.
//!
//! Custody and EPCIS events are public on the supply channel, but what a distributor paid a manufacturer is
//! not. The sender passes the document as transient input named [`TRANSIENT_KEY`] (so it never appears in the
//! proposal's arguments, the block or the event); `Ship` stores it in the collection of the trading pair,
//! named by [`collection_name`], and only the reference (`tradeDocRef`) and the collection name appear in
//! public state. The ledger carries the SHA-256 of the private write, so either party can later prove the
//! document to a third party. The chaincode definition must declare a collection for every pair of orgs
//! that trade (members: the two orgs; `memberOnlyRead`), or `Ship` with a document fails.

use chaincode_api::{Context, ContractError};
use serde::{Deserialize, Serialize};

use crate::epcis::Stamp;

/// Name of the transient field carrying the trade document (a JSON object: price, currency, invoice…).
pub const TRANSIENT_KEY: &str = "trade";

/// `trade_<A>_<B>`, the two MSP ids sorted, so both parties compute the same name.
pub fn collection_name(org_a: &str, org_b: &str) -> String {
    let (first, second) = if org_a <= org_b {
        (org_a, org_b)
    } else {
        (org_b, org_a)
    };
    format!("trade_{first}_{second}")
}

/// A stored trade document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradeDocument {
    /// Public reference.
    pub trade_doc_ref: String,
    /// What was shipped (Digital Link URI).
    pub object: String,
    /// Sender MSP id.
    pub from: String,
    /// Recipient MSP id.
    pub to: String,
    /// Shipping transaction.
    pub tx_id: String,
    /// Shipping time.
    pub at: String,
    /// The document as sent (a JSON object).
    pub document: serde_json::Value,
}

/// The transient trade document, if any: `BadRequest` unless it is a JSON object, or if there is no
/// reference to file it under. Checked before state is read.
pub fn transient_document(
    ctx: &dyn Context,
    trade_doc_ref: Option<&str>,
) -> Result<Option<serde_json::Value>, ContractError> {
    let Some(raw) = ctx.transient(TRANSIENT_KEY) else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_slice(raw)
        .map_err(|e| ContractError::BadRequest(format!("transient {TRANSIENT_KEY:?} is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ContractError::BadRequest(format!(
            "transient {TRANSIENT_KEY:?} must be a JSON object"
        )));
    }
    if trade_doc_ref.is_none() {
        return Err(ContractError::BadRequest(format!(
            "Ship: a trade document in transient {TRANSIENT_KEY:?} needs a trade document reference (argument 3)"
        )));
    }
    Ok(Some(value))
}

/// Writes the document to the pair's collection under `<ref>/<tx id>` (one reference may cover several
/// shipments); returns the collection name.
pub fn store(
    ctx: &mut dyn Context,
    stamp: &Stamp,
    to: &str,
    trade_doc_ref: &str,
    object: String,
    document: serde_json::Value,
) -> Result<String, ContractError> {
    let collection = collection_name(&stamp.org, to);
    let doc = TradeDocument {
        trade_doc_ref: trade_doc_ref.to_string(),
        object,
        from: stamp.org.clone(),
        to: to.to_string(),
        tx_id: stamp.tx_id.clone(),
        at: stamp.time.clone(),
        document,
    };
    let bytes = crate::state::to_json(&doc)?;
    ctx.put_private_data(&collection, &format!("{trade_doc_ref}/{}", stamp.tx_id), &bytes)?;
    Ok(collection)
}

/// Every document filed under `trade_doc_ref` between the caller's org and `counterparty` (a JSON array).
/// Only member peers of the pair's collection can answer.
pub fn get(ctx: &mut dyn Context, trade_doc_ref: &str, counterparty: &str) -> Result<Vec<u8>, ContractError> {
    let collection = collection_name(&ctx.caller().msp_id, counterparty);
    // '0' is the character after '/', so this is exactly the keys "<ref>/…".
    let items = ctx.get_private_data_by_range(
        &collection,
        &format!("{trade_doc_ref}/"),
        &format!("{trade_doc_ref}0"),
    )?;
    if items.is_empty() {
        return Err(ContractError::NotFound(format!(
            "no trade document {trade_doc_ref} in collection {collection}"
        )));
    }
    let docs = items
        .into_iter()
        .map(|(key, bytes)| {
            serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| {
                ContractError::Internal(format!(
                    "private value {key:?} in {collection} does not parse: {e}"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    crate::state::to_json(&docs)
}
