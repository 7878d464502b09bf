//! Reading one claim: its public record, its history, and (for the two parties' claims staff) its private
//! FHIR documents.
//!
//! These are evaluated in the endorse step and never ordered. The public record is on every peer of the
//! channel anyway, but the contract only serves it to the claim's two organizations, and the details only to
//! their billing and claims identities. The caller is checked before any private read, so another insurer
//! is refused with `Forbidden` whichever peer it asks; a peer outside the collection would refuse the
//! private read itself.

use serde::Serialize;

use chaincode_api::{Context, ContractError};

use crate::fhir::{Claim, ClaimResponse};
use crate::keys;
use crate::party;
use crate::record::{ClaimRecord, to_json};
use crate::store::{self, load_claim};

/// `ReadClaim`: the public record, for either party.
pub fn read_claim(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    let record = load_claim(ctx, id)?;
    party::require_party(ctx.caller(), &record)?;
    record.to_json()
}

/// What `ReadClaimDetails` returns.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Details {
    claim: Claim,
    claim_response: Option<ClaimResponse>,
}

/// `ReadClaimDetails`: the FHIR Claim and (once adjudicated) ClaimResponse from the pair's collection.
pub fn read_details(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    let record = load_claim(ctx, id)?;
    party::require_details_reader(ctx.caller(), &record)?;
    let collection = keys::collection(&record.provider, &record.insurer);
    let claim = store::must_get_private(ctx, &collection, &keys::claim(id)?)?;
    let claim_response = store::get_private(ctx, &collection, &keys::claim_response(id)?)?;
    to_json(&Details {
        claim,
        claim_response,
    })
}

/// One committed version of a claim's public record (field names of Fabric's ledger-queries sample).
#[derive(Serialize)]
struct HistoryEntry {
    #[serde(rename = "txId")]
    tx_id: String,
    timestamp: String,
    #[serde(rename = "isDelete")]
    is_delete: bool,
    record: Option<ClaimRecord>,
}

/// `ClaimHistory`: every committed version of the public record, newest first, for either party.
pub fn history(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    let current = load_claim(ctx, id)?;
    party::require_party(ctx.caller(), &current)?;
    let key = keys::claim(id)?;
    let entries = ctx
        .get_history_for_key(&key)?
        .into_iter()
        .map(|m| {
            let record = if m.is_delete {
                None
            } else {
                Some(ClaimRecord::from_stored(&key, &m.value)?)
            };
            Ok(HistoryEntry {
                tx_id: m.tx_id,
                timestamp: keys::instant(m.timestamp),
                is_delete: m.is_delete,
                record,
            })
        })
        .collect::<Result<Vec<_>, ContractError>>()?;
    to_json(&entries)
}
