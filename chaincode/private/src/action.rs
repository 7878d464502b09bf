//! Turns a [`Call`] and its transient input into a typed [`Action`], with every check that needs no state.
//!
//! This is the first thing the contract does inside the endorser's simulation. In the Go sample, every
//! function decodes and validates its transient input before it touches the ledger, so malformed input here
//! is refused before a single read is recorded, with the sample's wording. Argument handling copies Fabric's
//! Go contract API, which the sample runs on:
//! * a lower-case first letter is accepted;
//! * `SmartContract:` may prefix the function name;
//! * too few arguments gives "incorrect number of params";
//! * extra arguments are ignored.
//!
//! Private values (asset properties, appraised values, buyer org) arrive only as transient data, which never
//! reaches the block. Arguments are used only for ids and query bounds, as in the sample.

use std::borrow::Cow;

use chaincode_api::{Call, Context, Contract, ContractError};

use crate::gojson::{self, GoFields, GoKind, GoStruct};
use crate::record::{ASSET_PRIVATE_DETAILS, AssetPrivateDetails};

/// Name of the Go sample's only contract; clients may call "SmartContract:ReadAsset".
pub const GO_CONTRACT_NAME: &str = "SmartContract";

/// `CreateAsset`'s transient input (`asset_properties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetInput {
    /// Object type, e.g. "ValuableAsset".
    pub object_type: String,
    /// New asset id.
    pub asset_id: String,
    /// Colour.
    pub color: String,
    /// Size, positive.
    pub size: i64,
    /// Appraised value, positive; stored only in the creator's org collection.
    pub appraised_value: i64,
}

/// `AgreeToTransfer`'s transient input (`asset_value`), decoded, plus the bytes as sent. The Go sample stores
/// those bytes unchanged, and `TransferAsset` compares their hash with the owner's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementInput {
    /// The decoded value.
    pub details: AssetPrivateDetails,
    /// The transient bytes, stored as sent.
    pub raw: Vec<u8>,
}

/// One request to the private-data chaincode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Create an asset owned by the caller.
    CreateAsset(AssetInput),
    /// Record the caller's agreement to buy at a value.
    AgreeToTransfer(AgreementInput),
    /// Transfer an asset to the client that agreed, after checking both orgs agreed on the same value.
    TransferAsset {
        /// Asset id.
        asset_id: String,
        /// The buyer's MSP id, which names the collection holding the buyer's agreed value.
        buyer_msp: String,
    },
    /// Delete an asset and its private details in the caller's org.
    DeleteAsset(String),
    /// Purge an asset and its private details in the caller's org (Fabric 2.5 `PurgePrivateData`).
    PurgeAsset(String),
    /// Withdraw a transfer agreement (the Go sample's spelling).
    DeleteTranferAgreement(String),
    /// Return an asset's JSON (empty payload when absent).
    ReadAsset(&'a str),
    /// Return an asset's private details from a collection (empty payload when absent).
    ReadAssetPrivateDetails {
        /// Collection name.
        collection: &'a str,
        /// Asset id.
        asset_id: &'a str,
    },
    /// Return an asset's transfer agreement (empty payload when absent).
    ReadTransferAgreement(&'a str),
    /// Return assets with ids in `[start, end)`.
    GetAssetByRange {
        /// Inclusive start ("" = first simple key).
        start: &'a str,
        /// Exclusive end ("" = unbounded).
        end: &'a str,
    },
    /// Return assets of a type owned by a client (a range scan here; a CouchDB selector in the sample).
    QueryAssetByOwner {
        /// `objectType` to match.
        asset_type: &'a str,
        /// Owner id to match.
        owner: &'a str,
    },
    /// Return assets matching a CouchDB-style query (equality selectors only; see `query`).
    QueryAssets(&'a str),
}

const ASSET_TRANSIENT_INPUT: GoStruct = GoStruct {
    name: "assetTransientInput",
    fields: &[
        ("objectType", GoKind::Str),
        ("assetID", GoKind::Str),
        ("color", GoKind::Str),
        ("size", GoKind::Int),
        ("appraisedValue", GoKind::Int),
    ],
};

const TRANSFER_TRANSIENT_INPUT: GoStruct = GoStruct {
    name: "assetTransferTransientInput",
    fields: &[("assetID", GoKind::Str), ("buyerMSP", GoKind::Str)],
};

/// A transient `{"assetID": …}` input: its field name, and the Go sample's messages when it is missing or
/// the id is empty.
struct IdInput {
    field: &'static str,
    missing: &'static str,
    ty: GoStruct,
    empty: &'static str,
}

const DELETE_ASSET: IdInput = IdInput {
    field: "asset_delete",
    missing: "asset to delete not found in the transient map",
    ty: GoStruct {
        name: "assetDelete",
        fields: &[("assetID", GoKind::Str)],
    },
    empty: "assetID field must be a non-empty string",
};

const PURGE_ASSET: IdInput = IdInput {
    field: "asset_purge",
    missing: "asset to purge not found in the transient map",
    ty: GoStruct {
        name: "assetPurge",
        fields: &[("assetID", GoKind::Str)],
    },
    empty: "assetID field must be a non-empty string",
};

// The sample reads `agreement_delete` into the same `assetDelete` struct, with its own empty-id message.
const DELETE_AGREEMENT: IdInput = IdInput {
    field: "agreement_delete",
    missing: "asset to delete not found in the transient map",
    ty: GoStruct {
        name: "assetDelete",
        fields: &[("assetID", GoKind::Str)],
    },
    empty: "transient input ID field must be a non-empty string",
};

impl<'a> Action<'a> {
    /// Parses `call` and the transient input in `ctx` for `contract`, which supplies the function list when
    /// the name is unknown.
    pub fn parse(
        contract: &dyn Contract,
        ctx: &dyn Context,
        call: &Call<'a>,
    ) -> Result<Action<'a>, ContractError> {
        if let Some(name) = call.contract
            && name != GO_CONTRACT_NAME
        {
            return Err(ContractError::BadRequest(format!(
                "Contract not found with name {name}; chaincode {} serves contract {GO_CONTRACT_NAME}",
                contract.name()
            )));
        }
        let action = match upper_first(call.function).as_ref() {
            "CreateAsset" => Action::CreateAsset(asset_input(ctx)?),
            "AgreeToTransfer" => Action::AgreeToTransfer(agreement_input(ctx)?),
            "TransferAsset" => transfer_input(ctx)?,
            "DeleteAsset" => Action::DeleteAsset(id_input(ctx, &DELETE_ASSET)?),
            "PurgeAsset" => Action::PurgeAsset(id_input(ctx, &PURGE_ASSET)?),
            "DeleteTranferAgreement" => Action::DeleteTranferAgreement(id_input(ctx, &DELETE_AGREEMENT)?),
            "ReadAsset" => Action::ReadAsset(params(call, 1)?[0]),
            "ReadAssetPrivateDetails" => {
                let p = params(call, 2)?;
                Action::ReadAssetPrivateDetails {
                    collection: p[0],
                    asset_id: p[1],
                }
            }
            "ReadTransferAgreement" => Action::ReadTransferAgreement(params(call, 1)?[0]),
            "GetAssetByRange" => {
                let p = params(call, 2)?;
                Action::GetAssetByRange {
                    start: p[0],
                    end: p[1],
                }
            }
            "QueryAssetByOwner" => {
                let p = params(call, 2)?;
                Action::QueryAssetByOwner {
                    asset_type: p[0],
                    owner: p[1],
                }
            }
            "QueryAssets" => Action::QueryAssets(params(call, 1)?[0]),
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

/// The first `n` string arguments. Go's contract API needs at least `n` and ignores any extra.
fn params<'a>(call: &Call<'a>, n: usize) -> Result<Vec<&'a str>, ContractError> {
    if call.args.len() < n {
        return Err(ContractError::BadRequest(format!(
            "incorrect number of params. Expected {n}, received {}",
            call.args.len()
        )));
    }
    (0..n).map(|i| call.str_arg(i)).collect()
}

/// Transient field `name` decoded as Go struct `ty`. A top-level `null` decodes to the zero struct, as in Go.
fn transient(
    ctx: &dyn Context,
    name: &str,
    missing: &str,
    ty: &GoStruct,
) -> Result<(GoFields, Vec<u8>), ContractError> {
    let raw = ctx
        .transient(name)
        .ok_or_else(|| ContractError::BadRequest(missing.to_string()))?;
    let fields = gojson::unmarshal(raw, ty)
        .map_err(|e| ContractError::BadRequest(format!("failed to unmarshal JSON: {e}")))?
        .unwrap_or_default();
    Ok((fields, raw.to_vec()))
}

fn require(ok: bool, message: &str) -> Result<(), ContractError> {
    if ok {
        Ok(())
    } else {
        Err(ContractError::BadRequest(message.to_string()))
    }
}

fn asset_input(ctx: &dyn Context) -> Result<AssetInput, ContractError> {
    let (f, _) = transient(
        ctx,
        "asset_properties",
        "asset not found in the transient map input",
        &ASSET_TRANSIENT_INPUT,
    )?;
    let input = AssetInput {
        object_type: f.str("objectType"),
        asset_id: f.str("assetID"),
        color: f.str("color"),
        size: f.int("size"),
        appraised_value: f.int("appraisedValue"),
    };
    require(
        !input.object_type.is_empty(),
        "objectType field must be a non-empty string",
    )?;
    require(
        !input.asset_id.is_empty(),
        "assetID field must be a non-empty string",
    )?;
    require(!input.color.is_empty(), "color field must be a non-empty string")?;
    require(input.size > 0, "size field must be a positive integer")?;
    require(
        input.appraised_value > 0,
        "appraisedValue field must be a positive integer",
    )?;
    Ok(input)
}

fn agreement_input(ctx: &dyn Context) -> Result<AgreementInput, ContractError> {
    let (f, raw) = transient(
        ctx,
        "asset_value",
        "asset_value key not found in the transient map",
        &ASSET_PRIVATE_DETAILS,
    )?;
    let details = AssetPrivateDetails::from_fields(&f);
    require(
        !details.asset_id.is_empty(),
        "assetID field must be a non-empty string",
    )?;
    require(
        details.appraised_value > 0,
        "appraisedValue field must be a positive integer",
    )?;
    Ok(AgreementInput { details, raw })
}

fn transfer_input<'a>(ctx: &dyn Context) -> Result<Action<'a>, ContractError> {
    let (f, _) = transient(
        ctx,
        "asset_owner",
        "asset owner not found in the transient map",
        &TRANSFER_TRANSIENT_INPUT,
    )?;
    let (asset_id, buyer_msp) = (f.str("assetID"), f.str("buyerMSP"));
    require(!asset_id.is_empty(), "assetID field must be a non-empty string")?;
    require(!buyer_msp.is_empty(), "buyerMSP field must be a non-empty string")?;
    Ok(Action::TransferAsset { asset_id, buyer_msp })
}

/// The `{"assetID": …}` inputs of the delete and purge functions.
fn id_input(ctx: &dyn Context, spec: &IdInput) -> Result<String, ContractError> {
    let (f, _) = transient(ctx, spec.field, spec.missing, &spec.ty)?;
    let id = f.str("assetID");
    require(!id.is_empty(), spec.empty)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_letter_is_upper_cased_like_go() {
        assert_eq!(upper_first("readAsset"), "ReadAsset");
        assert_eq!(upper_first("ReadAsset"), "ReadAsset");
        assert_eq!(upper_first(""), "");
    }
}
