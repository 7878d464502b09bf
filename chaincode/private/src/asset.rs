//! `CreateAsset`, `DeleteAsset` and `PurgeAsset`: an asset's life in `assetCollection` and in the owner's org
//! collection.
//!
//! These run in the endorse step. Each one only buffers private writes: the endorser disseminates the
//! plaintext to member peers, the block carries only hashes, and the writes apply at commit if the
//! transaction is valid. Steps and their order follow the Go sample, so a bad request fails with the
//! sample's message at the same point. Nothing is written to public state and no event is set, because an
//! event would put its payload in the block for every channel member to read.

use chaincode_api::{Context, ContractError};

use crate::access::{
    ASSET_COLLECTION, caller_collection, client_id, verify_client_org_matches_peer_org, wrap,
};
use crate::action::AssetInput;
use crate::record::{Asset, AssetPrivateDetails};

/// Creates an asset owned by the caller. The shared details go to `assetCollection` and the appraised value
/// goes to the caller's org collection.
pub(crate) fn create(ctx: &mut dyn Context, input: &AssetInput) -> Result<(), ContractError> {
    let id = &input.asset_id;
    let existing = ctx
        .get_private_data(ASSET_COLLECTION, id)
        .map_err(|e| wrap("failed to get asset: ", e))?;
    if existing.is_some() {
        return Err(ContractError::Conflict(format!(
            "this asset already exists: {id}"
        )));
    }
    let owner = client_id(ctx);
    verify_client_org_matches_peer_org(ctx, "CreateAsset", id)?;

    let asset = Asset {
        object_type: input.object_type.clone(),
        asset_id: id.clone(),
        color: input.color.clone(),
        size: input.size,
        owner,
    };
    ctx.put_private_data(ASSET_COLLECTION, id, &asset.to_json()?)
        // "collecton" is the Go sample's spelling.
        .map_err(|e| wrap("failed to put asset into private data collecton: ", e))?;

    let details = AssetPrivateDetails {
        asset_id: id.clone(),
        appraised_value: input.appraised_value,
    };
    let org_collection = caller_collection(ctx);
    ctx.put_private_data(&org_collection, id, &details.to_json()?)
        .map_err(|e| wrap("failed to put asset private details: ", e))
}

/// Deletes an asset from `assetCollection` and from the caller's org collection. Like the Go sample, this
/// does not check the asset's owner. Deletion needs the asset's private details to be in the caller's org
/// collection, so only the org that created or received the asset can delete it.
pub(crate) fn delete(ctx: &mut dyn Context, asset_id: &str) -> Result<(), ContractError> {
    let details = verify_client_org_matches_peer_org(ctx, "DeleteAsset", asset_id)?;
    let asset = ctx
        .get_private_data(ASSET_COLLECTION, asset_id)
        .map_err(|e| wrap("failed to read asset: ", e))?;
    if asset.is_none() {
        return Err(ContractError::NotFound(format!("asset not found: {asset_id}")));
    }
    let owner_collection = caller_collection(ctx);
    if details.is_none() {
        // The asset exists but its private details are not this org's: the caller's org does not own it.
        return Err(ContractError::Forbidden(format!(
            "asset not found in owner's private Collection {owner_collection}: {asset_id}"
        )));
    }
    ctx.del_private_data(ASSET_COLLECTION, asset_id)
        .map_err(|e| wrap("failed to delete state: ", e))?;
    ctx.del_private_data(&owner_collection, asset_id)
}

/// Purges an asset from `assetCollection` and from the caller's org collection. Every version of the value
/// disappears from member peers, and only the hashes stay on the ledger (Fabric 2.5's `PurgePrivateData`).
/// As in the Go sample, the asset need not exist (it may have been deleted first) and ownership is not
/// checked. The transfer agreement, if any, is not purged.
pub(crate) fn purge(ctx: &mut dyn Context, asset_id: &str) -> Result<(), ContractError> {
    verify_client_org_matches_peer_org(ctx, "PurgeAsset", asset_id)?;
    let owner_collection = caller_collection(ctx);
    ctx.purge_private_data(ASSET_COLLECTION, asset_id)
        .map_err(|e| wrap("failed to purge state from asset collection: ", e))?;
    ctx.purge_private_data(&owner_collection, asset_id)
        .map_err(|e| wrap("failed to purge state from owner collection: ", e))
}
