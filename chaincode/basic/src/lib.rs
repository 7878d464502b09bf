//! `basic`: Fabric's asset-transfer-basic chaincode, in Rust, with the same interface and bytes.
//!
//! It exists so Fabric's own sample applications (`asset-transfer-basic/application-gateway-*`) and
//! Caliper's standard asset workloads run against carechain unmodified, and so the network can be measured
//! against real Fabric on the same workload. Like every contract it runs only in the endorse step of
//! endorse → order → validate: the endorser's simulator hands it a [`Context`] over committed state, and what
//! it writes commits only after ordering and validation. It is deterministic (no clock, no randomness).
//!
//! Functions, argument order, JSON encoding and error wording follow the Go sample
//! (`asset-transfer-basic/chaincode-go/chaincode/smartcontract.go`) running on Fabric's Go contract API:
//!
//! | function | args | payload |
//! |---|---|---|
//! | `InitLedger` | — | empty; writes asset1…asset6 |
//! | `CreateAsset` | id, color, size, owner, appraisedValue | empty |
//! | `ReadAsset` | id | asset JSON |
//! | `UpdateAsset` | id, color, size, owner, appraisedValue | empty |
//! | `DeleteAsset` | id | empty |
//! | `AssetExists` | id | `true` / `false` |
//! | `TransferAsset` | id, newOwner | the previous owner, as plain text (Go's contract API does not quote strings) |
//! | `GetAllAssets` | — | JSON array of all assets, ascending by id |
//! | `GetAssetHistory` | id | JSON array of `{txId, timestamp, isDelete, record}`, newest first (extension, as in Fabric's asset-transfer-ledger-queries sample) |
//!
//! Writes emit an event named after the function with the asset JSON (as Fabric's asset-transfer-events
//! sample); clients of asset-transfer-basic ignore events and the extra function, so its interface is unchanged.
//!
//! Errors carry Go's messages ("the asset asset1 already exists", "the asset asset9 does not exist") with
//! statuses 409 / 404 / 400 (Fabric reports every chaincode error as 500; see [`ContractError::status`]).
//!
//! # Layout
//! * `action`: function name and arguments → [`Action`] (no state needed).
//! * `asset`: the [`Asset`] record and its Go-identical JSON.
//! * here: [`BasicContract`] and what each action does to state.

mod action;
mod asset;

pub use action::{Action, GO_CONTRACT_NAME};
pub use asset::{Asset, go_json, initial_assets};

use chaincode_api::{Call, Context, ContextExt, Contract, ContractError};

/// The chaincode name clients use (`ChaincodeID.name`), as in Fabric's test network deployment.
pub const CHAINCODE_NAME: &str = "basic";

/// Functions served, in the Go sample's order.
pub const FUNCTIONS: &[&str] = &[
    "InitLedger",
    "CreateAsset",
    "ReadAsset",
    "UpdateAsset",
    "DeleteAsset",
    "AssetExists",
    "TransferAsset",
    "GetAllAssets",
    "GetAssetHistory",
];

/// Fabric's asset-transfer-basic contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct BasicContract;

impl Contract for BasicContract {
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

/// Runs a parsed action against state; the returned bytes are the response payload. Writes emit an event
/// named after the function with the asset's JSON, as Fabric's asset-transfer-events sample does (clients of
/// asset-transfer-basic ignore events, so its interface is unchanged).
fn apply(ctx: &mut dyn Context, action: Action<'_>) -> Result<Vec<u8>, ContractError> {
    match action {
        Action::InitLedger => {
            for asset in initial_assets() {
                ctx.put_state(&asset.id, &asset.to_json()?)?;
            }
            Ok(Vec::new())
        }
        Action::CreateAsset(asset) => {
            if ctx.state_exists(&asset.id)? {
                return Err(ContractError::Conflict(format!(
                    "the asset {} already exists",
                    asset.id
                )));
            }
            let json = asset.to_json()?;
            ctx.put_state(&asset.id, &json)?;
            ctx.set_event("CreateAsset", &json)?;
            Ok(Vec::new())
        }
        Action::ReadAsset(id) => read_asset(ctx, id)?.to_json(),
        Action::UpdateAsset(asset) => {
            require_exists(ctx, &asset.id)?;
            let json = asset.to_json()?;
            ctx.put_state(&asset.id, &json)?;
            ctx.set_event("UpdateAsset", &json)?;
            Ok(Vec::new())
        }
        Action::DeleteAsset(id) => {
            let asset = read_asset(ctx, id)?;
            ctx.del_state(id)?;
            ctx.set_event("DeleteAsset", &asset.to_json()?)?;
            Ok(Vec::new())
        }
        Action::AssetExists(id) => Ok(ctx.state_exists(id)?.to_string().into_bytes()),
        Action::TransferAsset { id, new_owner } => {
            let mut asset = read_asset(ctx, id)?;
            let old_owner = std::mem::replace(&mut asset.owner, new_owner.to_string());
            let json = asset.to_json()?;
            ctx.put_state(id, &json)?;
            ctx.set_event("TransferAsset", &json)?;
            Ok(old_owner.into_bytes())
        }
        Action::GetAllAssets => get_all_assets(ctx),
        Action::GetAssetHistory(id) => asset_history(ctx, id),
    }
}

/// One history entry, with the field names of Fabric's ledger-queries sample.
#[derive(serde::Serialize)]
struct HistoryEntry {
    #[serde(rename = "txId")]
    tx_id: String,
    timestamp: String,
    #[serde(rename = "isDelete")]
    is_delete: bool,
    record: Option<Asset>,
}

fn asset_history(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    let entries = ctx
        .get_history_for_key(id)?
        .into_iter()
        .map(|m| {
            let record = if m.is_delete {
                None
            } else {
                Some(Asset::from_stored(id, &m.value)?)
            };
            Ok(HistoryEntry {
                tx_id: m.tx_id,
                timestamp: m.timestamp.to_rfc3339(),
                is_delete: m.is_delete,
                record,
            })
        })
        .collect::<Result<Vec<_>, ContractError>>()?;
    go_json(&entries)
}

fn does_not_exist(id: &str) -> ContractError {
    ContractError::NotFound(format!("the asset {id} does not exist"))
}

fn require_exists(ctx: &mut dyn Context, id: &str) -> Result<(), ContractError> {
    if ctx.state_exists(id)? {
        Ok(())
    } else {
        Err(does_not_exist(id))
    }
}

fn read_asset(ctx: &mut dyn Context, id: &str) -> Result<Asset, ContractError> {
    let bytes = ctx.get_state(id)?.ok_or_else(|| does_not_exist(id))?;
    Asset::from_stored(id, &bytes)
}

/// Every simple key in the namespace, as the Go sample's `GetStateByRange("", "")` (composite keys skipped).
/// An empty ledger gives `[]` (the Go sample returns an empty payload there; `[]` is what the TypeScript
/// sample returns and what the sample applications can parse).
fn get_all_assets(ctx: &mut dyn Context) -> Result<Vec<u8>, ContractError> {
    let page = ctx.get_simple_state_by_range("", "", 0, "")?;
    let assets = page
        .items
        .iter()
        .map(|(key, value)| Asset::from_stored(key, value))
        .collect::<Result<Vec<_>, _>>()?;
    go_json(&assets)
}
