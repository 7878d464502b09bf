//! Go's `encoding/json`, as far as the private-data sample depends on it: decoding transient input and stored
//! private values, and encoding what is stored and returned.
//!
//! This runs in the endorse step, and the bytes matter twice. First, endorsers must write identical private
//! values, and every peer checks them against the hashes on the ledger. Second, `TransferAsset` compares the
//! SHA-256 of the owner's stored `{"assetID":…,"appraisedValue":…}` with the SHA-256 of the bytes the buyer
//! sent to `AgreeToTransfer`, so our encoding must be byte-identical to Go's `json.Marshal`. Otherwise a
//! client that agrees with the exact JSON the Go sample would store gets refused.
//!
//! Decoding follows `json.Unmarshal` into a Go struct, so clients see the Go sample's behaviour:
//! * An object key matches a field when it is equal ignoring case (Go's rule). Unknown keys are ignored.
//! * Keys are applied in document order, so the last key wins.
//! * `null` leaves a field at its zero value. A top-level `null` gives the zero struct, reported as `None`.
//! * A value of the wrong JSON type is an error that names the struct field. Non-integer numbers are refused
//!   for `int` fields.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use thiserror::Error;

use chaincode_api::ContractError;

/// The Go type of a struct field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GoKind {
    /// Go `string`.
    Str,
    /// Go `int` (64-bit on every platform Fabric supports).
    Int,
}

impl GoKind {
    fn name(self) -> &'static str {
        match self {
            GoKind::Str => "string",
            GoKind::Int => "int",
        }
    }
}

/// A Go struct as `encoding/json` sees it: its type name and its fields' JSON names and kinds.
#[derive(Debug)]
pub(crate) struct GoStruct {
    /// Type name without the package, e.g. `assetTransientInput`.
    pub name: &'static str,
    /// `(json tag, kind)` per field.
    pub fields: &'static [(&'static str, GoKind)],
}

/// Why bytes do not decode into a [`GoStruct`]. The message is the reason that the Go sample's
/// "failed to unmarshal JSON: …" carries.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum GoJsonError {
    /// Not JSON at all. The wording is serde_json's and does not match Go's.
    #[error("{0}")]
    Syntax(String),
    /// The top-level value is not an object (or null).
    #[error("json: cannot unmarshal {found} into Go value of type chaincode.{ty}")]
    NotObject {
        /// JSON kind found: string, number, bool or array.
        found: &'static str,
        /// Go type name.
        ty: &'static str,
    },
    /// A field holds a value of the wrong type.
    #[error("json: cannot unmarshal {found} into Go struct field {ty}.{field} of type {kind}")]
    FieldType {
        /// JSON kind found, with the literal for numbers that are not integers (`number 20.5`).
        found: String,
        /// Go type name.
        ty: &'static str,
        /// The field's JSON name.
        field: &'static str,
        /// Go type of the field.
        kind: &'static str,
    },
}

/// Decoded field values by JSON name. Absent fields read as Go's zero values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GoFields(BTreeMap<&'static str, Value>);

impl GoFields {
    /// A string field ("" when absent).
    pub fn str(&self, field: &str) -> String {
        self.0
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// An int field (0 when absent).
    pub fn int(&self, field: &str) -> i64 {
        self.0.get(field).and_then(Value::as_i64).unwrap_or_default()
    }
}

/// `json.Unmarshal(bytes, &ptr)` with `ptr` a pointer to `ty`: `Ok(None)` for a top-level `null` (the pointer
/// stays nil), else the fields. `json.Unmarshal` into a struct value behaves the same way, except that a
/// top-level `null` leaves the struct at its zero value. Callers treat `None` as that zero value.
pub(crate) fn unmarshal(bytes: &[u8], ty: &GoStruct) -> Result<Option<GoFields>, GoJsonError> {
    let top: TopLevel = serde_json::from_slice(bytes).map_err(|e| GoJsonError::Syntax(e.to_string()))?;
    let entries = match top {
        TopLevel::Null => return Ok(None),
        TopLevel::Other(found) => return Err(GoJsonError::NotObject { found, ty: ty.name }),
        TopLevel::Object(entries) => entries,
    };
    let mut fields = GoFields::default();
    // Go keeps decoding after a type error and reports the first one, so later keys cannot hide it.
    let mut first_error = None;
    for (key, value) in entries {
        let Some(&(field, kind)) = ty.fields.iter().find(|(name, _)| fold_eq(&key, name)) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        match check_kind(&value, kind) {
            Ok(()) => {
                fields.0.insert(field, value);
            }
            Err(found) => {
                first_error.get_or_insert(GoJsonError::FieldType {
                    found,
                    ty: ty.name,
                    field,
                    kind: kind.name(),
                });
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(Some(fields)),
    }
}

/// Like [`unmarshal`], for bytes this contract stored itself: a failure is `Internal` with the Go sample's
/// "failed to unmarshal JSON: …".
pub(crate) fn unmarshal_stored(bytes: &[u8], ty: &GoStruct) -> Result<Option<GoFields>, ContractError> {
    unmarshal(bytes, ty).map_err(|e| ContractError::Internal(format!("failed to unmarshal JSON: {e}")))
}

/// Checks `value` against `kind`. On mismatch, returns what Go calls the found value.
fn check_kind(value: &Value, kind: GoKind) -> Result<(), String> {
    match (kind, value) {
        (GoKind::Str, Value::String(_)) => Ok(()),
        (GoKind::Int, Value::Number(n)) if n.as_i64().is_some() => Ok(()),
        (GoKind::Int, Value::Number(n)) => Err(format!("number {n}")),
        (_, other) => Err(json_kind(other).to_string()),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Go's case-insensitive key match. Every field name here is ASCII, and only two non-ASCII characters fold to
/// ASCII letters: U+017F (long s → s) and U+212A (Kelvin sign → k).
fn fold_eq(key: &str, field: &str) -> bool {
    fn fold(c: char) -> char {
        match c {
            '\u{017F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        }
    }
    key.chars().map(fold).eq(field.chars().map(fold))
}

/// A top-level JSON value, keeping an object's entries in document order (with duplicates) because Go
/// applies them in that order.
enum TopLevel {
    Null,
    Object(Vec<(String, Value)>),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("bool"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("string"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel::Other("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            entries.push(entry);
        }
        Ok(TopLevel::Object(entries))
    }
}

/// Serializes like Go's `json.Marshal`: compact, struct fields in declaration order, and HTML-safe escaping
/// of `<`, `>`, `&`, U+2028 and U+2029.
pub(crate) fn marshal<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ContractError> {
    let json = serde_json::to_string(value)
        .map_err(|e| ContractError::Internal(format!("cannot encode JSON: {e}")))?;
    Ok(escape_like_go(json).into_bytes())
}

/// Adds the escapes Go applies on top of serde_json's. These characters occur only inside JSON strings,
/// never in numbers or syntax, so replacing them anywhere is safe.
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

    const INPUT: GoStruct = GoStruct {
        name: "assetTransientInput",
        fields: &[("assetID", GoKind::Str), ("size", GoKind::Int)],
    };

    fn decode(json: &str) -> Result<Option<GoFields>, GoJsonError> {
        unmarshal(json.as_bytes(), &INPUT)
    }

    #[test]
    fn keys_match_case_insensitively_and_the_last_one_wins() {
        let fields = decode(r#"{"ASSETID":"a","assetid":"b","Size":3,"extra":[1]}"#)
            .expect("decodes")
            .expect("object");
        assert_eq!((fields.str("assetID"), fields.int("size")), ("b".into(), 3));
        let fields = decode("{\"a\u{17F}\u{17F}etID\":\"long s\"}")
            .expect("decodes")
            .expect("object");
        assert_eq!(fields.str("assetID"), "long s");
    }

    #[test]
    fn null_means_zero_value() {
        assert_eq!(decode("null"), Ok(None));
        let fields = decode(r#"{"assetID":null,"size":null}"#)
            .expect("decodes")
            .expect("object");
        assert_eq!((fields.str("assetID"), fields.int("size")), (String::new(), 0));
    }

    #[test]
    fn type_errors_name_the_go_field() {
        assert_eq!(
            decode(r#"{"size":"20"}"#)
                .expect_err("string for int")
                .to_string(),
            "json: cannot unmarshal string into Go struct field assetTransientInput.size of type int"
        );
        assert_eq!(
            decode(r#"{"size":20.5,"assetID":7}"#)
                .expect_err("fraction")
                .to_string(),
            "json: cannot unmarshal number 20.5 into Go struct field assetTransientInput.size of type int"
        );
        assert_eq!(
            decode("[1,2]").expect_err("array").to_string(),
            "json: cannot unmarshal array into Go value of type chaincode.assetTransientInput"
        );
        assert!(matches!(decode("{"), Err(GoJsonError::Syntax(_))));
        assert!(matches!(decode(r#"{"a":1} x"#), Err(GoJsonError::Syntax(_))));
    }

    #[test]
    fn marshal_escapes_like_go() {
        let json = marshal(&serde_json::json!({"a": "<b> & \u{2028}"})).expect("encode");
        assert_eq!(json, br#"{"a":"\u003cb\u003e \u0026 \u2028"}"#);
    }
}
