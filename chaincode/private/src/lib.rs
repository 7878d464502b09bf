//! `private`: Fabric's asset-transfer-private-data chaincode in Rust, with the same interface and bytes.
//!
//! It exists so that Fabric's private-data sample applications (`asset-transfer-private-data/
//! application-gateway-{typescript,go}`, which call `getContract("private")`) run against carechain
//! unmodified, and so that private data collections can be exercised end to end. Like every contract, it runs
//! only in the endorse step of endorse → order → validate. Its writes are private-data writes: the plaintext
//! goes only to member peers, and the block carries only hashes. It never writes public state or sets an
//! event, and it reads private input only from the transient map.
//!
//! Functions, transient field names, JSON encoding and error wording follow the Go sample
//! (`chaincode-go/chaincode/asset_transfer.go`, `asset_queries.go`) running on Fabric's Go contract API:
//!
//! | function | args | transient (JSON) | payload |
//! |---|---|---|---|
//! | `CreateAsset` | — | `asset_properties`: `{objectType, assetID, color, size, appraisedValue}` | empty |
//! | `AgreeToTransfer` | — | `asset_value`: `{assetID, appraisedValue}` | empty |
//! | `TransferAsset` | — | `asset_owner`: `{assetID, buyerMSP}` | empty |
//! | `DeleteAsset` | — | `asset_delete`: `{assetID}` | empty |
//! | `PurgeAsset` | — | `asset_purge`: `{assetID}` | empty |
//! | `DeleteTranferAgreement` | — | `agreement_delete`: `{assetID}` | empty |
//! | `ReadAsset` | assetID | — | `{objectType, assetID, color, size, owner}` or empty |
//! | `ReadAssetPrivateDetails` | collection, assetID | — | `{assetID, appraisedValue}` or empty |
//! | `ReadTransferAgreement` | assetID | — | `{assetID, buyerID}` or empty |
//! | `GetAssetByRange` | startKey, endKey | — | JSON array of assets |
//! | `QueryAssetByOwner` | assetType, owner | — | JSON array of assets (range scan, no CouchDB) |
//! | `QueryAssets` | queryString | — | JSON array of assets (equality selectors only, no CouchDB) |
//!
//! Collections are those of the sample's `collections_config.json`, a copy of which sits next to this
//! crate: `assetCollection` (Org1MSP and Org2MSP), and one `<MSPID>PrivateCollection` per org, named after
//! the caller's MSP id. Errors carry the Go sample's messages with statuses 400 / 403 / 404 / 409 / 500,
//! where Fabric reports every chaincode error as 500.
//!
//! # Layout
//! * `action`: function name, arguments and transient input become an [`Action`] (no state needed).
//! * `gojson`: Go's `encoding/json` rules for what is decoded, stored and returned.
//! * `record`: the stored records. `access`: collection names, the caller's id, and the client-org check.
//! * `asset`: create, delete, purge. `transfer`: agree, transfer, withdraw. `query`: the read functions.
//! * here: [`PrivateContract`] and the dispatch.

mod access;
mod action;
mod asset;
mod gojson;
mod query;
mod record;
mod transfer;

pub use access::{
    ASSET_COLLECTION, PRIVATE_COLLECTION_SUFFIX, TRANSFER_AGREEMENT_OBJECT_TYPE, org_collection,
};
pub use action::{Action, AgreementInput, AssetInput, GO_CONTRACT_NAME};
pub use record::{Asset, AssetPrivateDetails, TransferAgreement};

use chaincode_api::{Call, Context, Contract, ContractError};

/// The chaincode name clients use (`ChaincodeID.name`). Fabric's sample applications hard-code "private"
/// (`chaincodeName = 'private'`), and its README deploys with `-ccn private`.
pub const CHAINCODE_NAME: &str = "private";

/// Fabric's sample collection definitions for Org1MSP and Org2MSP (`collections_config.json`).
pub const COLLECTIONS_CONFIG: &str = include_str!("../collections_config.json");

/// Functions served: the Go sample's exported methods.
pub const FUNCTIONS: &[&str] = &[
    "CreateAsset",
    "AgreeToTransfer",
    "TransferAsset",
    "DeleteAsset",
    "PurgeAsset",
    "DeleteTranferAgreement",
    "ReadAsset",
    "ReadAssetPrivateDetails",
    "ReadTransferAgreement",
    "GetAssetByRange",
    "QueryAssetByOwner",
    "QueryAssets",
];

/// Fabric's asset-transfer-private-data contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrivateContract;

impl Contract for PrivateContract {
    fn name(&self) -> &str {
        CHAINCODE_NAME
    }

    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        let action = Action::parse(self, ctx, call)?;
        apply(ctx, action)
    }

    fn functions(&self) -> &[&'static str] {
        FUNCTIONS
    }
}

/// Runs a parsed action. Write functions return an empty payload, as the Go sample's `error`-only methods do.
fn apply(ctx: &mut dyn Context, action: Action<'_>) -> Result<Vec<u8>, ContractError> {
    match action {
        Action::CreateAsset(input) => asset::create(ctx, &input).map(|()| Vec::new()),
        Action::AgreeToTransfer(input) => transfer::agree(ctx, &input).map(|()| Vec::new()),
        Action::TransferAsset { asset_id, buyer_msp } => {
            transfer::transfer(ctx, &asset_id, &buyer_msp).map(|()| Vec::new())
        }
        Action::DeleteAsset(id) => asset::delete(ctx, &id).map(|()| Vec::new()),
        Action::PurgeAsset(id) => asset::purge(ctx, &id).map(|()| Vec::new()),
        Action::DeleteTranferAgreement(id) => transfer::delete_agreement(ctx, &id).map(|()| Vec::new()),
        Action::ReadAsset(id) => query::payload(query::read_asset(ctx, id)?, Asset::to_json),
        Action::ReadAssetPrivateDetails { collection, asset_id } => query::payload(
            query::read_private_details(ctx, collection, asset_id)?,
            AssetPrivateDetails::to_json,
        ),
        Action::ReadTransferAgreement(id) => query::payload(
            query::read_transfer_agreement(ctx, id)?,
            TransferAgreement::to_json,
        ),
        Action::GetAssetByRange { start, end } => query::get_asset_by_range(ctx, start, end),
        Action::QueryAssetByOwner { asset_type, owner } => {
            query::query_asset_by_owner(ctx, asset_type, owner)
        }
        Action::QueryAssets(query) => query::query_assets(ctx, query),
    }
}
