//! Collection names, the caller's identity, and the check that a client talks to a peer of its own org.
//!
//! These run in the endorse step. An org's private collection (`<MSPID>PrivateCollection`) exists in
//! plaintext only on that org's peers, so a client must send private-data proposals to a peer of its own
//! org. The Go sample enforces this with `verifyClientOrgMatchesPeerOrg`, which compares the client's MSP id
//! with the peer's (`shim.GetMSPID()`).
//!
//! carechain's `Context` does not expose the peer's MSP id. This contract instead *reads* the client org's
//! collection at the point where the Go sample makes its comparison. On carechain's peer that read succeeds
//! only when both of these hold:
//! * the endorsing peer is a member of `<clientMSP>PrivateCollection`;
//! * the client's org is a member too, because the collection has `memberOnlyRead`.
//!
//! If the collection is not defined, the read is refused. With the sample's collection config, each
//! `<MSPID>PrivateCollection` has exactly one member org, so this check passes exactly when Fabric's does.
//! It is weaker only if a deployment gives an org collection more than one member. That is a
//! misconfiguration, and `collections_config.json` next to this crate does not do it. The failure is
//! `Forbidden` and quotes the peer's own reason, which names the peer's org.
//!
//! The read is recorded as a hashed read of the same collection and key that the function then writes,
//! deletes or purges. So it adds no collection to the transaction and changes nothing about who must
//! endorse it.

use chaincode_api::{Context, ContractError, create_composite_key};

/// The collection shared by Org1MSP and Org2MSP that holds assets and transfer agreements.
pub const ASSET_COLLECTION: &str = "assetCollection";

/// Object type of the composite key under which a transfer agreement is stored in [`ASSET_COLLECTION`].
pub const TRANSFER_AGREEMENT_OBJECT_TYPE: &str = "transferAgreement";

/// Suffix that turns an MSP id into its org's private collection name (the Go sample's `getCollectionName`).
pub const PRIVATE_COLLECTION_SUFFIX: &str = "PrivateCollection";

/// The private collection of org `msp_id`, e.g. `Org1MSPPrivateCollection`.
pub fn org_collection(msp_id: &str) -> String {
    format!("{msp_id}{PRIVATE_COLLECTION_SUFFIX}")
}

/// The calling client's org collection.
pub(crate) fn caller_collection(ctx: &dyn Context) -> String {
    org_collection(&ctx.caller().msp_id)
}

/// The calling client's id, recorded as an asset's owner or a buyer. On carechain this is
/// [`chaincode_api::Caller::id`]. Fabric uses the base64-decoded `GetID()`, `x509::<subject>::<issuer>`.
pub(crate) fn client_id(ctx: &dyn Context) -> String {
    ctx.caller().id.clone()
}

/// The composite key of `asset_id`'s transfer agreement. On failure the error carries the Go sample's
/// "failed to create composite key" prefix.
pub(crate) fn agreement_key(asset_id: &str) -> Result<String, ContractError> {
    create_composite_key(TRANSFER_AGREEMENT_OBJECT_TYPE, &[asset_id])
        .map_err(|e| wrap("failed to create composite key: ", e))
}

/// Refuses a client whose org's private collection this peer cannot serve (see the module docs). On success
/// it returns the committed value of `key` in that collection, because several callers need it next.
pub(crate) fn verify_client_org_matches_peer_org(
    ctx: &mut dyn Context,
    function: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, ContractError> {
    let collection = caller_collection(ctx);
    match ctx.get_private_data(&collection, key) {
        Ok(value) => Ok(value),
        Err(ContractError::State(m)) => Err(ContractError::State(m)),
        Err(e) => Err(ContractError::Forbidden(format!(
            "{function} cannot be performed: Error client from org {} is not authorized to read or write \
             private data from this peer: {}",
            ctx.caller().msp_id,
            e.message()
        ))),
    }
}

/// Prefixes `err`'s message as Go's `fmt.Errorf("prefix%v", err)` does, and keeps its status.
pub(crate) fn wrap(prefix: &str, err: ContractError) -> ContractError {
    let message = format!("{prefix}{}", err.message());
    match err {
        ContractError::BadRequest(_) => ContractError::BadRequest(message),
        ContractError::Forbidden(_) => ContractError::Forbidden(message),
        ContractError::NotFound(_) => ContractError::NotFound(message),
        ContractError::Conflict(_) => ContractError::Conflict(message),
        ContractError::Internal(_) => ContractError::Internal(message),
        ContractError::State(_) => ContractError::State(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_go_sample() {
        assert_eq!(org_collection("Org1MSP"), "Org1MSPPrivateCollection");
        assert_eq!(
            agreement_key("asset1").expect("valid"),
            "\u{0}transferAgreement\u{0}asset1\u{0}"
        );
        let err = agreement_key("bad\u{0}id").expect_err("nul");
        assert!(
            err.message().starts_with("failed to create composite key: "),
            "{err}"
        );
    }

    #[test]
    fn wrap_keeps_the_status() {
        let err = wrap("failed to read asset: ", ContractError::Forbidden("no".into()));
        assert_eq!((err.status(), err.message()), (403, "failed to read asset: no"));
    }
}
