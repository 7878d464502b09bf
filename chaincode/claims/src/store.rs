//! Reading and writing claims: the public record with its four indexes, the private documents, and
//! transient input.
//!
//! Everything here runs in the endorse step and goes through `Context`, so every read is recorded for MVCC
//! and every write is buffered into the transaction's read/write set. [`save_claim`] is the only place a
//! claim record is written: it writes the record and all four index entries and deletes the index entries
//! the previous version had and this one does not (a status change moves the claim between status ranges),
//! all in one transaction, so an index can never disagree with its record once committed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use chaincode_api::{Context, ContractError};

use crate::keys;
use crate::record::{ClaimRecord, Status, to_json};

/// The committed record of claim `id`, or `NotFound`.
pub fn load_claim(ctx: &mut dyn Context, id: &str) -> Result<ClaimRecord, ContractError> {
    let key = keys::claim(id)?;
    let bytes = ctx
        .get_state(&key)?
        .ok_or_else(|| ContractError::NotFound(format!("claim {id} does not exist")))?;
    ClaimRecord::from_stored(&key, &bytes)
}

/// Writes `new` and its index entries, removing index entries of `old` that no longer apply. Returns the
/// record's JSON (also the event payload).
pub fn save_claim(
    ctx: &mut dyn Context,
    old: Option<&ClaimRecord>,
    new: &ClaimRecord,
) -> Result<Vec<u8>, ContractError> {
    let json = new.to_json()?;
    let fresh = keys::indexes(new)?;
    if let Some(old) = old {
        for stale in keys::indexes(old)? {
            if !fresh.contains(&stale) {
                ctx.del_state(&stale)?;
            }
        }
    }
    ctx.put_state(&keys::claim(&new.id)?, &json)?;
    for key in &fresh {
        ctx.put_state(key, &json)?;
    }
    Ok(json)
}

/// `Conflict` unless the claim is in one of `allowed`; the message says what was tried, the current status
/// and what the action needs.
pub fn require_status(claim: &ClaimRecord, allowed: &[Status], doing: &str) -> Result<(), ContractError> {
    if allowed.contains(&claim.status) {
        return Ok(());
    }
    let needs = allowed
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" or ");
    Err(ContractError::Conflict(format!(
        "cannot {doing} claim {}: it is {} ({doing} needs status {needs})",
        claim.id, claim.status
    )))
}

/// Transient field `name` parsed as JSON; `BadRequest` when missing or malformed.
pub fn transient_json<T: DeserializeOwned>(
    ctx: &dyn Context,
    name: &str,
    function: &str,
) -> Result<T, ContractError> {
    optional_transient(ctx, name, function)?.ok_or_else(|| {
        ContractError::BadRequest(format!(
            "{function} needs its details in transient field {name:?} (transient data never reaches the \
             ledger; arguments do)"
        ))
    })
}

/// Transient field `name` parsed as JSON if present; `BadRequest` when malformed.
pub fn optional_transient<T: DeserializeOwned>(
    ctx: &dyn Context,
    name: &str,
    function: &str,
) -> Result<Option<T>, ContractError> {
    let Some(bytes) = ctx.transient(name) else {
        return Ok(None);
    };
    serde_json::from_slice(bytes).map(Some).map_err(|e| {
        ContractError::BadRequest(format!(
            "{function}: transient field {name:?} is not the expected JSON: {e}"
        ))
    })
}

/// A private document of the claim's collection; `Internal` if absent or unparsable (the contract wrote it
/// with the public record, so absence means a member peer is missing private data).
pub fn get_private<T: DeserializeOwned>(
    ctx: &mut dyn Context,
    collection: &str,
    key: &str,
) -> Result<Option<T>, ContractError> {
    match ctx.get_private_data(collection, key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            ContractError::Internal(format!(
                "private value of key {key:?} in collection {collection} does not parse: {e}"
            ))
        }),
    }
}

/// Like [`get_private`] but absence is `Internal`, naming the collection and key.
pub fn must_get_private<T: DeserializeOwned>(
    ctx: &mut dyn Context,
    collection: &str,
    key: &str,
) -> Result<T, ContractError> {
    get_private(ctx, collection, key)?.ok_or_else(|| {
        ContractError::Internal(format!(
            "private key {key:?} is missing from collection {collection} on this peer"
        ))
    })
}

/// Writes `value` as JSON to the private collection.
pub fn put_private<T: Serialize>(
    ctx: &mut dyn Context,
    collection: &str,
    key: &str,
    value: &T,
) -> Result<(), ContractError> {
    ctx.put_private_data(collection, key, &to_json(value)?)
}
