//! The three records of the private-data sample, and where each one is stored. All of them are private
//! data: none is ever written to public state.
//!
//! * [`Asset`] is stored in `assetCollection` (Org1MSP and Org2MSP) under the asset id. It holds the
//!   details both orgs may see, including the owner.
//! * [`AssetPrivateDetails`] is stored in the owner's org collection `<MSPID>PrivateCollection` under the
//!   asset id. It holds the appraised value, and a buyer's agreed value uses the same shape.
//! * [`TransferAgreement`] is returned by `ReadTransferAgreement`. The buyer's client id is stored as raw
//!   bytes in `assetCollection` under the composite key `transferAgreement` + asset id.
//!
//! Field names and order are the Go sample's JSON tags, so stored bytes and payloads match `json.Marshal`.
//! That matters because endorsers' private write hashes must agree, and so must the hashes that
//! `TransferAsset` compares.

use serde::Serialize;

use chaincode_api::ContractError;

use crate::gojson::{self, GoFields, GoKind, GoStruct};

/// The asset details shared by both organizations (synthetic demo data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// Object type chosen by the creator (e.g. "ValuableAsset"). CouchDB selectors use it.
    #[serde(rename = "objectType")]
    pub object_type: String,
    /// Asset id, which is also the key in `assetCollection`.
    #[serde(rename = "assetID")]
    pub asset_id: String,
    /// Colour.
    pub color: String,
    /// Size (Go `int`).
    pub size: i64,
    /// The owning client's id ([`chaincode_api::Caller::id`]).
    pub owner: String,
}

/// The appraised value, private to the owning (or agreeing) organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AssetPrivateDetails {
    /// Asset id.
    #[serde(rename = "assetID")]
    pub asset_id: String,
    /// Appraised value (Go `int`).
    #[serde(rename = "appraisedValue")]
    pub appraised_value: i64,
}

/// A buyer's agreement to purchase, as `ReadTransferAgreement` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TransferAgreement {
    /// Asset id.
    #[serde(rename = "assetID")]
    pub asset_id: String,
    /// The agreeing client's id.
    #[serde(rename = "buyerID")]
    pub buyer_id: String,
}

/// Go's `Asset` struct.
pub(crate) const ASSET: GoStruct = GoStruct {
    name: "Asset",
    fields: &[
        ("objectType", GoKind::Str),
        ("assetID", GoKind::Str),
        ("color", GoKind::Str),
        ("size", GoKind::Int),
        ("owner", GoKind::Str),
    ],
};

/// Go's `AssetPrivateDetails` struct, which is also `AgreeToTransfer`'s transient input.
pub(crate) const ASSET_PRIVATE_DETAILS: GoStruct = GoStruct {
    name: "AssetPrivateDetails",
    fields: &[("assetID", GoKind::Str), ("appraisedValue", GoKind::Int)],
};

impl Asset {
    /// The stored JSON, byte-identical to Go's `json.Marshal`.
    pub fn to_json(&self) -> Result<Vec<u8>, ContractError> {
        gojson::marshal(self)
    }

    /// Decodes a stored asset as Go's `json.Unmarshal(bytes, &asset)` with `asset *Asset`. `None` means the
    /// stored JSON is `null`, which the Go sample returns as an empty payload.
    pub fn from_stored(bytes: &[u8]) -> Result<Option<Asset>, ContractError> {
        Ok(gojson::unmarshal_stored(bytes, &ASSET)?.map(|f| Asset {
            object_type: f.str("objectType"),
            asset_id: f.str("assetID"),
            color: f.str("color"),
            size: f.int("size"),
            owner: f.str("owner"),
        }))
    }
}

impl AssetPrivateDetails {
    /// The stored JSON, byte-identical to Go's `json.Marshal`.
    pub fn to_json(&self) -> Result<Vec<u8>, ContractError> {
        gojson::marshal(self)
    }

    pub(crate) fn from_fields(fields: &GoFields) -> AssetPrivateDetails {
        AssetPrivateDetails {
            asset_id: fields.str("assetID"),
            appraised_value: fields.int("appraisedValue"),
        }
    }

    /// Decodes stored details. `AgreeToTransfer` stores the buyer's bytes as sent, so this accepts whatever
    /// Go accepts (key case, extra keys) and re-encodes it in canonical form.
    pub fn from_stored(bytes: &[u8]) -> Result<Option<AssetPrivateDetails>, ContractError> {
        Ok(gojson::unmarshal_stored(bytes, &ASSET_PRIVATE_DETAILS)?.map(|f| Self::from_fields(&f)))
    }
}

impl TransferAgreement {
    /// The returned JSON, byte-identical to Go's `json.Marshal`.
    pub fn to_json(&self) -> Result<Vec<u8>, ContractError> {
        gojson::marshal(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_encode_in_go_field_order() {
        let asset = Asset {
            object_type: "ValuableAsset".into(),
            asset_id: "asset1".into(),
            color: "green".into(),
            size: 20,
            owner: "x509::CN=Synthetic User 1".into(),
        };
        assert_eq!(
            String::from_utf8(asset.to_json().expect("encode")).expect("utf8"),
            r#"{"objectType":"ValuableAsset","assetID":"asset1","color":"green","size":20,"owner":"x509::CN=Synthetic User 1"}"#
        );
        let details = AssetPrivateDetails {
            asset_id: "asset1".into(),
            appraised_value: 100,
        };
        assert_eq!(
            details.to_json().expect("encode"),
            br#"{"assetID":"asset1","appraisedValue":100}"#
        );
        let agreement = TransferAgreement {
            asset_id: "asset1".into(),
            buyer_id: "buyer".into(),
        };
        assert_eq!(
            agreement.to_json().expect("encode"),
            br#"{"assetID":"asset1","buyerID":"buyer"}"#
        );
    }

    #[test]
    fn stored_details_are_normalised_like_go() {
        let details = AssetPrivateDetails::from_stored(br#"{"AssetId":"a1","appraisedValue":5,"note":"x"}"#)
            .expect("decodes")
            .expect("not null");
        assert_eq!(
            details.to_json().expect("encode"),
            br#"{"assetID":"a1","appraisedValue":5}"#
        );
        assert_eq!(Asset::from_stored(b"null").expect("decodes"), None);
        let err = Asset::from_stored(b"not json").expect_err("garbage");
        assert_eq!(err.status(), 500);
        assert!(err.message().starts_with("failed to unmarshal JSON: "), "{err}");
    }
}
