//! The sample's read functions: `ReadAsset`, `ReadAssetPrivateDetails`, `ReadTransferAgreement`,
//! `GetAssetByRange`, and the two rich queries `QueryAssetByOwner` and `QueryAssets`.
//!
//! They run in the endorse step like everything else, but clients evaluate them, so nothing is ordered.
//! Reading private data needs plaintext, so only peers of the collection's member orgs can answer. Elsewhere
//! the `Context` refuses the read with `Forbidden`. As in the Go sample (returning a nil pointer), a missing
//! record is an **empty payload**, not an error. The sample applications test for exactly that.
//!
//! The Go sample runs the rich queries as CouchDB selectors (`GetPrivateDataQueryResult`). carechain has no
//! CouchDB, so both are a range scan over the simple keys of `assetCollection` followed by a filter. They
//! cost time proportional to the collection's size. `QueryAssets` understands only equality selectors on
//! top-level fields, see [`Selector`]. As with CouchDB queries, the result is not re-checked at commit
//! (private range reads have no phantom check).

use chaincode_api::{Context, ContractError, SIMPLE_KEYS_START};
use serde_json::Value;

use crate::access::{ASSET_COLLECTION, agreement_key, wrap};
use crate::gojson;
use crate::record::{Asset, AssetPrivateDetails, TransferAgreement};

/// The asset stored under `asset_id`, or `None`.
pub(crate) fn read_asset(ctx: &mut dyn Context, asset_id: &str) -> Result<Option<Asset>, ContractError> {
    let bytes = ctx
        .get_private_data(ASSET_COLLECTION, asset_id)
        .map_err(|e| wrap("failed to read asset: ", e))?;
    match bytes {
        Some(bytes) => Asset::from_stored(&bytes),
        None => Ok(None),
    }
}

/// The private details of `asset_id` in `collection`, or `None`.
pub(crate) fn read_private_details(
    ctx: &mut dyn Context,
    collection: &str,
    asset_id: &str,
) -> Result<Option<AssetPrivateDetails>, ContractError> {
    if collection.is_empty() {
        // The Go shim's own check, before the peer is asked.
        return Err(ContractError::BadRequest(
            "failed to read asset details: collection must not be an empty string".into(),
        ));
    }
    let bytes = ctx
        .get_private_data(collection, asset_id)
        .map_err(|e| wrap("failed to read asset details: ", e))?;
    match bytes {
        Some(bytes) => AssetPrivateDetails::from_stored(&bytes),
        None => Ok(None),
    }
}

/// The transfer agreement of `asset_id`, or `None`.
pub(crate) fn read_transfer_agreement(
    ctx: &mut dyn Context,
    asset_id: &str,
) -> Result<Option<TransferAgreement>, ContractError> {
    let key = agreement_key(asset_id)?;
    let buyer = ctx
        .get_private_data(ASSET_COLLECTION, &key)
        .map_err(|e| wrap("failed to read TransferAgreement: ", e))?;
    Ok(buyer.map(|bytes| TransferAgreement {
        asset_id: asset_id.to_string(),
        // Go's string(bytes) then json.Marshal turns invalid UTF-8 into U+FFFD, as this does.
        buyer_id: String::from_utf8_lossy(&bytes).into_owned(),
    }))
}

/// `Some(value)` as its JSON, `None` as the empty payload Go's contract API returns for a nil pointer.
pub(crate) fn payload<T>(
    value: Option<T>,
    to_json: impl FnOnce(&T) -> Result<Vec<u8>, ContractError>,
) -> Result<Vec<u8>, ContractError> {
    match value {
        Some(v) => to_json(&v),
        None => Ok(Vec::new()),
    }
}

/// Assets with ids in `[start, end)`, as the Go sample's `GetPrivateDataByRange` does. An empty `start`
/// begins after the composite keys, so transfer agreements are never returned. Bounds that are themselves
/// composite keys are refused with the shim's message.
pub(crate) fn get_asset_by_range(
    ctx: &mut dyn Context,
    start: &str,
    end: &str,
) -> Result<Vec<u8>, ContractError> {
    let assets = assets_in_range(ctx, start, end)?;
    gojson::marshal(&assets)
}

fn assets_in_range(
    ctx: &mut dyn Context,
    start: &str,
    end: &str,
) -> Result<Vec<Option<Asset>>, ContractError> {
    let start = if start.is_empty() {
        SIMPLE_KEYS_START
    } else {
        start
    };
    for key in [start, end] {
        if key.starts_with('\u{0}') {
            return Err(ContractError::BadRequest(format!(
                "first character of the key [{key}] contains a null character which is not allowed"
            )));
        }
    }
    ctx.get_private_data_by_range(ASSET_COLLECTION, start, end)?
        .iter()
        .map(|(_, value)| Asset::from_stored(value))
        .collect()
}

/// Assets of `asset_type` owned by `owner`: what the sample's selector
/// `{"selector":{"objectType":…,"owner":…}}` returns, ascending by id.
pub(crate) fn query_asset_by_owner(
    ctx: &mut dyn Context,
    asset_type: &str,
    owner: &str,
) -> Result<Vec<u8>, ContractError> {
    let matching: Vec<Asset> = assets_in_range(ctx, "", "")?
        .into_iter()
        .flatten()
        .filter(|a| a.object_type == asset_type && a.owner == owner)
        .collect();
    gojson::marshal(&matching)
}

/// Assets matching `query`, a CouchDB query restricted to what [`Selector`] supports.
pub(crate) fn query_assets(ctx: &mut dyn Context, query: &str) -> Result<Vec<u8>, ContractError> {
    let selector = Selector::parse(query)?;
    let mut matching = Vec::new();
    for asset in assets_in_range(ctx, "", "")?.into_iter().flatten() {
        let doc = serde_json::to_value(&asset)
            .map_err(|e| ContractError::Internal(format!("cannot encode asset {}: {e}", asset.asset_id)))?;
        if selector.matches(&doc) {
            matching.push(asset);
        }
    }
    gojson::marshal(&matching)
}

/// The part of CouchDB's query language that `QueryAssets` evaluates without CouchDB:
/// `{"selector": {"<field>": <scalar> | {"$eq": <scalar>}, …}}`. Conditions are combined with AND and
/// compared with the asset's top-level fields (numbers by value). `use_index` is accepted and ignored,
/// because it is only an index hint. Anything else, such as other operators, `sort`, `limit` or `fields`,
/// is refused by name. A partial answer would look like a complete one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Selector {
    conditions: Vec<(String, Value)>,
}

impl Selector {
    /// Parses a query string, refusing what it cannot evaluate exactly.
    pub fn parse(query: &str) -> Result<Selector, ContractError> {
        let unsupported = |what: String| {
            ContractError::BadRequest(format!(
                "QueryAssets: {what} is not supported: carechain has no CouchDB and evaluates only \
                 {{\"selector\":{{\"<field>\":<value>|{{\"$eq\":<value>}},…}}}}"
            ))
        };
        let query: Value = serde_json::from_str(query)
            .map_err(|e| ContractError::BadRequest(format!("QueryAssets: the query is not JSON: {e}")))?;
        let Value::Object(query) = query else {
            return Err(unsupported("a query that is not a JSON object".into()));
        };
        if let Some(key) = query.keys().find(|k| *k != "selector" && *k != "use_index") {
            return Err(unsupported(format!("{key:?}")));
        }
        let Some(Value::Object(selector)) = query.get("selector") else {
            return Err(unsupported("a query without a \"selector\" object".into()));
        };
        let mut conditions = Vec::with_capacity(selector.len());
        for (field, condition) in selector {
            if field.starts_with('$') {
                return Err(unsupported(format!("operator {field}")));
            }
            let wanted = match condition {
                Value::Object(op) if op.len() == 1 && op.contains_key("$eq") => &op["$eq"],
                Value::Object(_) | Value::Array(_) => {
                    return Err(unsupported(format!("the condition on field {field:?}")));
                }
                scalar => scalar,
            };
            if wanted.is_object() || wanted.is_array() {
                return Err(unsupported(format!(
                    "comparing field {field:?} with an object or array"
                )));
            }
            conditions.push((field.clone(), wanted.clone()));
        }
        Ok(Selector { conditions })
    }

    /// Whether `doc` satisfies every condition (a missing field satisfies none, as in CouchDB).
    pub fn matches(&self, doc: &Value) -> bool {
        self.conditions
            .iter()
            .all(|(field, wanted)| doc.get(field).is_some_and(|v| scalar_eq(v, wanted)))
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equality_selectors_match_top_level_fields() {
        let doc = json!({"objectType":"ValuableAsset","assetID":"a1","color":"green","size":20,"owner":"o1"});
        let s =
            Selector::parse(r#"{"selector":{"objectType":"ValuableAsset","owner":"o1"}}"#).expect("valid");
        assert!(s.matches(&doc));
        let s = Selector::parse(r#"{"selector":{"size":{"$eq":20.0}},"use_index":["_design/x"]}"#)
            .expect("valid");
        assert!(s.matches(&doc));
        let s = Selector::parse(r#"{"selector":{"color":"blue"}}"#).expect("valid");
        assert!(!s.matches(&doc));
        let s = Selector::parse(r#"{"selector":{"missing":null}}"#).expect("valid");
        assert!(!s.matches(&doc));
        let s = Selector::parse(r#"{"selector":{}}"#).expect("valid");
        assert!(s.matches(&doc), "an empty selector matches everything");
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for (query, named) in [
            (r#"{"selector":{"size":{"$gt":3}}}"#, "\"size\""),
            (r#"{"selector":{"$or":[]}}"#, "operator $or"),
            (r#"{"selector":{"color":"x"},"sort":["color"]}"#, "\"sort\""),
            (r#"{"selector":{"color":["x"]}}"#, "\"color\""),
            (r#"{"selector":{"color":{"$eq":{"a":1}}}}"#, "\"color\""),
            (r#"{"fields":["color"]}"#, "\"fields\""),
            (r#"{}"#, "without a \"selector\""),
            (r#"[1]"#, "not a JSON object"),
        ] {
            let err = Selector::parse(query).expect_err(query);
            assert_eq!(err.status(), 400, "{query}");
            assert!(err.message().contains(named), "{query}: {err}");
        }
        let err = Selector::parse("{").expect_err("not JSON");
        assert!(
            err.message().starts_with("QueryAssets: the query is not JSON"),
            "{err}"
        );
    }
}
