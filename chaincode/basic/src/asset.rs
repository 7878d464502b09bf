//! The asset record and its byte-exact JSON encoding.
//!
//! Endorsers must produce identical write sets, and clients built for Fabric's asset-transfer-basic parse
//! these bytes, so the stored and returned JSON is exactly what the Go sample's `json.Marshal` produces:
//! fields in alphabetical order under the Go struct's tags (`AppraisedValue`, `Color`, `ID`, `Owner`, `Size`),
//! no whitespace, and Go's HTML-safe escaping of `<`, `>`, `&`, U+2028 and U+2029.

use serde::{Deserialize, Serialize};

use chaincode_api::ContractError;

/// An asset of Fabric's asset-transfer-basic sample (synthetic demo data, no health information).
///
/// Field order is the JSON order; `#[serde(default)]` mirrors Go's `json.Unmarshal`, which leaves missing
/// fields at their zero value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Asset {
    /// Appraised value (Go `int`).
    #[serde(rename = "AppraisedValue")]
    pub appraised_value: i64,
    /// Colour.
    #[serde(rename = "Color")]
    pub color: String,
    /// Asset id; also the state key.
    #[serde(rename = "ID")]
    pub id: String,
    /// Current owner.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// Size (Go `int`).
    #[serde(rename = "Size")]
    pub size: i64,
}

impl Asset {
    /// The asset's JSON, byte-identical to Go's `json.Marshal(asset)`.
    pub fn to_json(&self) -> Result<Vec<u8>, ContractError> {
        go_json(self)
    }

    /// Parses a stored asset; `Internal` naming the key when the stored bytes are not an asset.
    pub fn from_stored(key: &str, bytes: &[u8]) -> Result<Asset, ContractError> {
        serde_json::from_slice(bytes)
            .map_err(|e| ContractError::Internal(format!("the value of {key} is not a valid asset: {e}")))
    }
}

/// The six assets `InitLedger` writes, as in the Go sample.
pub fn initial_assets() -> Vec<Asset> {
    [
        ("asset1", "blue", 5, "Tomoko", 300),
        ("asset2", "red", 5, "Brad", 400),
        ("asset3", "green", 10, "Jin Soo", 500),
        ("asset4", "yellow", 10, "Max", 600),
        ("asset5", "black", 15, "Adriana", 700),
        ("asset6", "white", 15, "Michel", 800),
    ]
    .into_iter()
    .map(|(id, color, size, owner, appraised_value)| Asset {
        appraised_value,
        color: color.into(),
        id: id.into(),
        owner: owner.into(),
        size,
    })
    .collect()
}

/// Serializes like Go's `encoding/json`: compact, struct fields in declaration order, HTML-safe escaping.
pub fn go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ContractError> {
    let json = serde_json::to_string(value)
        .map_err(|e| ContractError::Internal(format!("cannot encode JSON: {e}")))?;
    Ok(escape_like_go(json).into_bytes())
}

/// Applies the escapes Go adds on top of serde_json's. The characters only occur inside JSON strings (never
/// in field names or numbers), so replacing them anywhere is safe.
fn escape_like_go(json: String) -> String {
    const GO_ESCAPED: [char; 5] = ['<', '>', '&', '\u{2028}', '\u{2029}'];
    if !json.contains(GO_ESCAPED) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset1_encodes_exactly_like_the_go_sample() {
        let asset1 = &initial_assets()[0];
        let json = String::from_utf8(asset1.to_json().expect("encode")).expect("utf8");
        assert_eq!(
            json,
            r#"{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5}"#
        );
    }

    #[test]
    fn strings_are_escaped_like_go() {
        let asset = Asset {
            owner: "Synthetic <Owner> & Co\u{2028}\n\"q\"\u{1}\u{8}é".into(),
            ..Asset::default()
        };
        let json = String::from_utf8(asset.to_json().expect("encode")).expect("utf8");
        assert!(
            json.contains(r#""Owner":"Synthetic \u003cOwner\u003e \u0026 Co\u2028\n\"q\"\u0001\bé""#),
            "{json}"
        );
    }

    #[test]
    fn missing_fields_decode_to_zero_values_and_unknown_fields_are_ignored() {
        let asset = Asset::from_stored("a", br#"{"ID":"a","Extra":true}"#).expect("decode");
        assert_eq!(
            asset,
            Asset {
                id: "a".into(),
                ..Asset::default()
            }
        );
        let err = Asset::from_stored("a", br#"{"ID":"a","Size":5.5}"#).expect_err("float size");
        assert_eq!(err.status(), 500);
        assert!(
            err.message().starts_with("the value of a is not a valid asset"),
            "{err}"
        );
    }
}
