//! The transfer protocol: `AgreeToTransfer` by the buyer, `TransferAsset` by the owner, and
//! `DeleteTranferAgreement` (the Go sample's spelling) to withdraw an agreement.
//!
//! The appraised value never leaves its org's peers, yet both sides must agree on it. The owner's org
//! collection holds `{"assetID":…,"appraisedValue":…}`. The buyer stores the JSON it agrees to in its own org
//! collection, exactly as sent. At transfer, the owner's peer compares the two **hashes**: every peer on the
//! channel holds the hashes, but only members hold the plaintext. The bytes must therefore be identical, not
//! merely equal as JSON. The Go sample's applications send exactly what Go's `json.Marshal` stores, and so
//! does `record`.
//!
//! Like all contract code this runs in the endorse step. The hash reads are recorded, so if either value
//! changes before the transfer commits, MVCC validation invalidates the transfer.

use chaincode_api::{Context, ContractError};

use crate::access::{
    ASSET_COLLECTION, agreement_key, caller_collection, client_id, org_collection,
    verify_client_org_matches_peer_org, wrap,
};
use crate::action::AgreementInput;
use crate::query::{read_asset, read_transfer_agreement};
use crate::record::Asset;

/// Records the caller's agreement to buy `input.details.asset_id` at the given value. The value goes to the
/// caller's org collection (bytes as sent), and the caller's id goes to `assetCollection` under the
/// agreement key. As in the Go sample, a later agreement for the same asset replaces an earlier one.
pub(crate) fn agree(ctx: &mut dyn Context, input: &AgreementInput) -> Result<(), ContractError> {
    let buyer = client_id(ctx);
    let id = &input.details.asset_id;
    existing_asset(ctx, id)?;
    verify_client_org_matches_peer_org(ctx, "AgreeToTransfer", id)?;

    let org_collection = caller_collection(ctx);
    ctx.put_private_data(&org_collection, id, &input.raw)
        .map_err(|e| wrap("failed to put asset bid: ", e))?;
    let key = agreement_key(id)?;
    ctx.put_private_data(ASSET_COLLECTION, &key, buyer.as_bytes())
        .map_err(|e| wrap("failed to put asset bid: ", e))
}

/// Transfers `asset_id` from the caller to the client that agreed to buy it. The caller must own the asset,
/// and the buyer's org (`buyer_msp`) must have agreed to the owner's appraised value. The owner's private
/// details and the agreement are then deleted.
pub(crate) fn transfer(ctx: &mut dyn Context, asset_id: &str, buyer_msp: &str) -> Result<(), ContractError> {
    let mut asset = existing_asset(ctx, asset_id)?;
    verify_client_org_matches_peer_org(ctx, "TransferAsset", asset_id)?;
    verify_agreement(ctx, asset_id, &asset.owner, buyer_msp)
        .map_err(|e| wrap("failed transfer verification: ", e))?;

    let agreement = read_transfer_agreement(ctx, asset_id)
        .map_err(|e| wrap("failed ReadTransferAgreement to find buyerID: ", e))?;
    // The Go sample dereferences a missing agreement (a nil pointer) here. This returns the same error it
    // gives for an empty buyer id.
    let buyer_id = agreement.map(|a| a.buyer_id).unwrap_or_default();
    if buyer_id.is_empty() {
        return Err(ContractError::NotFound(format!(
            "BuyerID not found in TransferAgreement for {asset_id}"
        )));
    }

    asset.owner = buyer_id;
    ctx.put_private_data(ASSET_COLLECTION, asset_id, &asset.to_json()?)?;
    let owner_collection = caller_collection(ctx);
    ctx.del_private_data(&owner_collection, asset_id)?;
    ctx.del_private_data(ASSET_COLLECTION, &agreement_key(asset_id)?)
}

/// The caller owns `asset_id`, and the hash of the owner org's private details equals the hash of the
/// buyer org's agreed value.
fn verify_agreement(
    ctx: &mut dyn Context,
    asset_id: &str,
    owner: &str,
    buyer_msp: &str,
) -> Result<(), ContractError> {
    if client_id(ctx) != owner {
        return Err(ContractError::Forbidden(
            "error: submitting client identity does not own asset".into(),
        ));
    }
    let owner_collection = caller_collection(ctx);
    let buyer_collection = org_collection(buyer_msp);

    let owner_hash = ctx
        .get_private_data_hash(&owner_collection, asset_id)
        .map_err(|e| {
            wrap(
                &format!("failed to get hash of appraised value from owners collection {owner_collection}: "),
                e,
            )
        })?;
    let Some(owner_hash) = owner_hash else {
        return Err(ContractError::NotFound(format!(
            "hash of appraised value for {asset_id} does not exist in collection {owner_collection}"
        )));
    };
    let buyer_hash = ctx
        .get_private_data_hash(&buyer_collection, asset_id)
        .map_err(|e| {
            wrap(
                &format!("failed to get hash of appraised value from buyer collection {buyer_collection}: "),
                e,
            )
        })?;
    let Some(buyer_hash) = buyer_hash else {
        return Err(ContractError::NotFound(format!(
            "hash of appraised value for {asset_id} does not exist in collection {buyer_collection}. \
             AgreeToTransfer must be called by the buyer first"
        )));
    };
    if owner_hash != buyer_hash {
        // The Go sample's wording, garbled as it is.
        return Err(ContractError::Conflict(format!(
            "hash for appraised value for owner {} does not value for seller {}",
            hex(&owner_hash),
            hex(&buyer_hash)
        )));
    }
    Ok(())
}

/// Withdraws the agreement on `asset_id`: it deletes the caller org's private value for the asset and the
/// agreement record. Like the Go sample, this does not check that the caller is the buyer.
pub(crate) fn delete_agreement(ctx: &mut dyn Context, asset_id: &str) -> Result<(), ContractError> {
    verify_client_org_matches_peer_org(ctx, "DeleteTranferAgreement", asset_id)?;
    let org_collection = caller_collection(ctx);
    let key = agreement_key(asset_id)?;
    let agreement = ctx
        .get_private_data(ASSET_COLLECTION, &key)
        .map_err(|e| wrap("failed to read transfer_agreement: ", e))?;
    if agreement.is_none() {
        return Err(ContractError::NotFound(format!(
            "asset's transfer_agreement does not exist: {asset_id}"
        )));
    }
    ctx.del_private_data(&org_collection, asset_id)?;
    ctx.del_private_data(ASSET_COLLECTION, &key)
}

/// The asset, or the Go sample's "does not exist" error, with its "error reading asset" prefix on read
/// failures.
fn existing_asset(ctx: &mut dyn Context, asset_id: &str) -> Result<Asset, ContractError> {
    read_asset(ctx, asset_id)
        .map_err(|e| wrap("error reading asset: ", e))?
        .ok_or_else(|| ContractError::NotFound(format!("{asset_id} does not exist")))
}

/// Lower-case hex, as Go's `%x`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
