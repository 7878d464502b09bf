//! Turns a [`Call`] into a typed [`Action`] with the checks that need no state.
//!
//! This is the first thing the contract does inside the endorser's simulation, before it reads the ledger,
//! so malformed input is refused without recording a single read. Argument handling copies Fabric's Go
//! contract API (`fabric-contract-api-go`), which the Go sample runs on, so clients see the same behaviour:
//! the function name's first letter may be lower case, missing arguments and non-integer sizes fail with the
//! same wording, extra arguments are ignored, and an empty integer argument counts as 0.

use std::borrow::Cow;

use chaincode_api::{Call, Contract, ContractError};

use crate::asset::Asset;

/// Name of the Go sample's only contract; clients may address functions as "SmartContract:ReadAsset".
pub const GO_CONTRACT_NAME: &str = "SmartContract";

/// One request to the basic chaincode, with its arguments parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Write the six sample assets.
    InitLedger,
    /// Create a new asset.
    CreateAsset(Asset),
    /// Return one asset's JSON.
    ReadAsset(&'a str),
    /// Overwrite an existing asset.
    UpdateAsset(Asset),
    /// Delete an existing asset.
    DeleteAsset(&'a str),
    /// Return `true` or `false`.
    AssetExists(&'a str),
    /// Change an asset's owner, returning the previous owner.
    TransferAsset {
        /// Asset id.
        id: &'a str,
        /// Owner to set.
        new_owner: &'a str,
    },
    /// Return every asset as a JSON array.
    GetAllAssets,
    /// Return every committed version of an asset, newest first (an extension from Fabric's
    /// asset-transfer-ledger-queries sample).
    GetAssetHistory(&'a str),
}

impl<'a> Action<'a> {
    /// Parses `call` for `contract` (used to list the functions when the name is unknown).
    pub fn parse(contract: &dyn Contract, call: &Call<'a>) -> Result<Action<'a>, ContractError> {
        if let Some(name) = call.contract
            && name != GO_CONTRACT_NAME
        {
            return Err(ContractError::BadRequest(format!(
                "Contract not found with name {name}; chaincode {} serves contract {GO_CONTRACT_NAME}",
                contract.name()
            )));
        }
        let action = match upper_first(call.function).as_ref() {
            "InitLedger" => Action::InitLedger,
            "CreateAsset" => Action::CreateAsset(asset_params(call)?),
            "ReadAsset" => Action::ReadAsset(id_param(call)?),
            "UpdateAsset" => Action::UpdateAsset(asset_params(call)?),
            "DeleteAsset" => Action::DeleteAsset(id_param(call)?),
            "AssetExists" => Action::AssetExists(id_param(call)?),
            "TransferAsset" => {
                require_params(call, 2)?;
                Action::TransferAsset {
                    id: call.str_arg(0)?,
                    new_owner: call.str_arg(1)?,
                }
            }
            "GetAllAssets" => Action::GetAllAssets,
            "GetAssetHistory" => Action::GetAssetHistory(id_param(call)?),
            _ => return Err(chaincode_api::unknown_function(contract, call.function)),
        };
        Ok(action)
    }
}

/// Go's contract API upper-cases the first letter before looking the function up ("readAsset" works).
fn upper_first(function: &str) -> Cow<'_, str> {
    let mut chars = function.chars();
    match chars.next() {
        Some(first) if !first.is_uppercase() => Cow::Owned(first.to_uppercase().chain(chars).collect()),
        _ => Cow::Borrowed(function),
    }
}

/// Go's contract API requires at least as many arguments as parameters and ignores any extra.
fn require_params(call: &Call<'_>, n: usize) -> Result<(), ContractError> {
    if call.args.len() < n {
        return Err(ContractError::BadRequest(format!(
            "incorrect number of params. Expected {n}, received {}",
            call.args.len()
        )));
    }
    Ok(())
}

fn id_param<'a>(call: &Call<'a>) -> Result<&'a str, ContractError> {
    require_params(call, 1)?;
    call.str_arg(0)
}

/// `(id, color, size, owner, appraisedValue)`, the parameter order of CreateAsset and UpdateAsset.
fn asset_params(call: &Call<'_>) -> Result<Asset, ContractError> {
    require_params(call, 5)?;
    Ok(Asset {
        id: call.str_arg(0)?.into(),
        color: call.str_arg(1)?.into(),
        size: go_int_param(call, 2)?,
        owner: call.str_arg(3)?.into(),
        appraised_value: go_int_param(call, 4)?,
    })
}

/// Parameter `i` as Go's `strconv.Atoi` after the contract API's rule that "" means 0, with its error text.
fn go_int_param(call: &Call<'_>, i: usize) -> Result<i64, ContractError> {
    let text = call.str_arg(i)?;
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i64>().map_err(|_| {
        ContractError::BadRequest(format!(
            "error managing parameter param{i}. conversion error. cannot convert passed value {text} to int"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_letter_is_upper_cased_like_go() {
        assert_eq!(upper_first("readAsset"), "ReadAsset");
        assert_eq!(upper_first("ReadAsset"), "ReadAsset");
        assert_eq!(upper_first("éclair"), "Éclair");
        assert_eq!(upper_first("1x"), "1x");
    }
}
