//! Conveniences built only on [`Context`]'s methods: typed JSON state, existence checks and composite keys.
//!
//! They run inside the endorser's simulation like any contract code, so every read they make is recorded
//! exactly as if the contract had called `get_state` / `get_state_by_range` itself. Keeping them out of the
//! trait keeps the simulator small (it implements 11 methods, not the 41 of Fabric's stub) while contract
//! authors still get Fabric's helpers. Composite keys use Fabric's byte format, so keys written here look the
//! same as keys written by Go or Node chaincode: U+0000, object type, U+0000, each attribute and U+0000.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Context, ContractError, Page};

/// First character of every composite key (Fabric's `compositeKeyNamespace`).
pub const COMPOSITE_KEY_NAMESPACE: char = '\u{0}';

/// Upper bound appended to a partial composite key to range over everything under it (Fabric's
/// `maxUnicodeRuneValue`).
const MAX_UNICODE_RUNE: char = '\u{10FFFF}';

/// Where simple (non-composite) keys begin: Fabric substitutes it for an empty start key so that
/// `GetStateByRange("", "")` skips composite keys.
pub const SIMPLE_KEYS_START: &str = "\u{1}";

/// Builds Fabric's composite key: U+0000 + object_type + U+0000 + (attr + U+0000)*.
///
/// `BadRequest` if any part contains U+0000 or U+10FFFF, which would make the key ambiguous.
pub fn create_composite_key(object_type: &str, attrs: &[&str]) -> Result<String, ContractError> {
    check_composite_part(object_type)?;
    let mut key =
        String::with_capacity(2 + object_type.len() + attrs.iter().map(|a| a.len() + 1).sum::<usize>());
    key.push(COMPOSITE_KEY_NAMESPACE);
    key.push_str(object_type);
    key.push(COMPOSITE_KEY_NAMESPACE);
    for attr in attrs {
        check_composite_part(attr)?;
        key.push_str(attr);
        key.push(COMPOSITE_KEY_NAMESPACE);
    }
    Ok(key)
}

/// Splits a composite key into its object type and attributes; `BadRequest` if `key` is not one.
pub fn split_composite_key(key: &str) -> Result<(&str, Vec<&str>), ContractError> {
    let inner = key
        .strip_prefix(COMPOSITE_KEY_NAMESPACE)
        .and_then(|rest| rest.strip_suffix(COMPOSITE_KEY_NAMESPACE))
        .ok_or_else(|| ContractError::BadRequest(format!("{key:?} is not a composite key")))?;
    let mut parts = inner.split(COMPOSITE_KEY_NAMESPACE);
    let object_type = parts.next().unwrap_or_default();
    Ok((object_type, parts.collect()))
}

fn check_composite_part(part: &str) -> Result<(), ContractError> {
    match part
        .char_indices()
        .find(|(_, c)| *c == COMPOSITE_KEY_NAMESPACE || *c == MAX_UNICODE_RUNE)
    {
        Some((at, c)) => Err(ContractError::BadRequest(format!(
            "composite key part {part:?} contains U+{:04X} at byte {at}; U+0000 and U+10FFFF are not allowed",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// Helpers for every [`Context`] (blanket-implemented, including for `dyn Context`).
pub trait ContextExt: Context {
    /// The committed value of `key` parsed as JSON, or `None` if absent. A stored value that does not parse
    /// is `Internal` (the contract wrote it, so it is a bug, not bad input).
    fn get_json<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, ContractError> {
        match self.get_state(key)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                ContractError::Internal(format!("stored value of key {key:?} does not parse: {e}"))
            }),
            None => Ok(None),
        }
    }

    /// Like [`ContextExt::get_json`] but `NotFound` naming the key when absent.
    fn must_get_json<T: DeserializeOwned>(&mut self, key: &str) -> Result<T, ContractError> {
        self.get_json(key)?.ok_or_else(|| not_found(key))
    }

    /// Writes `value` serialized as compact JSON (struct fields in declaration order).
    fn put_json<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), ContractError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| ContractError::Internal(format!("cannot serialize value for key {key:?}: {e}")))?;
        self.put_state(key, &bytes)
    }

    /// Whether `key` has a committed value (a recorded read, like `get_state`).
    fn state_exists(&mut self, key: &str) -> Result<bool, ContractError> {
        Ok(self.get_state(key)?.is_some())
    }

    /// The committed value of `key`, or `NotFound` naming the key.
    fn must_get(&mut self, key: &str) -> Result<Vec<u8>, ContractError> {
        self.get_state(key)?.ok_or_else(|| not_found(key))
    }

    /// See [`create_composite_key`].
    fn create_composite_key(&self, object_type: &str, attrs: &[&str]) -> Result<String, ContractError> {
        create_composite_key(object_type, attrs)
    }

    /// See [`split_composite_key`].
    fn split_composite_key<'k>(&self, key: &'k str) -> Result<(&'k str, Vec<&'k str>), ContractError> {
        split_composite_key(key)
    }

    /// All composite keys of `object_type` whose first attributes are `attrs` (Fabric's
    /// `GetStateByPartialCompositeKeyWithPagination`; `page_size` 0 = everything). Phantom-checked like any
    /// range query.
    fn get_state_by_partial_composite_key(
        &mut self,
        object_type: &str,
        attrs: &[&str],
        page_size: u32,
        bookmark: &str,
    ) -> Result<Page, ContractError> {
        let start = create_composite_key(object_type, attrs)?;
        let mut end = start.clone();
        end.push(MAX_UNICODE_RUNE);
        self.get_state_by_range(&start, &end, page_size, bookmark)
    }

    /// Fabric's `GetStateByRange` over simple keys only: an empty `start` begins after all composite keys,
    /// and `start`/`end` may not themselves be composite keys (`BadRequest`).
    fn get_simple_state_by_range(
        &mut self,
        start: &str,
        end: &str,
        page_size: u32,
        bookmark: &str,
    ) -> Result<Page, ContractError> {
        for key in [start, end] {
            if key.starts_with(COMPOSITE_KEY_NAMESPACE) {
                return Err(ContractError::BadRequest(format!(
                    "range key {key:?} starts with U+0000, which is reserved for composite keys"
                )));
            }
        }
        let start = if start.is_empty() {
            SIMPLE_KEYS_START
        } else {
            start
        };
        self.get_state_by_range(start, end, page_size, bookmark)
    }
}

impl<C: Context + ?Sized> ContextExt for C {}

fn not_found(key: &str) -> ContractError {
    ContractError::NotFound(format!("key {key:?} does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_keys_use_fabric_format() {
        let key = create_composite_key("consent", &["patient-0001", "hospitalA"]).expect("valid");
        assert_eq!(key, "\u{0}consent\u{0}patient-0001\u{0}hospitalA\u{0}");
        assert_eq!(create_composite_key("t", &[]).expect("valid"), "\u{0}t\u{0}");
        let (object_type, attrs) = split_composite_key(&key).expect("composite");
        assert_eq!(object_type, "consent");
        assert_eq!(attrs, ["patient-0001", "hospitalA"]);
    }

    #[test]
    fn composite_keys_round_trip_empty_parts() {
        let key = create_composite_key("", &["", "x"]).expect("valid");
        let (object_type, attrs) = split_composite_key(&key).expect("composite");
        assert_eq!(object_type, "");
        assert_eq!(attrs, ["", "x"]);
    }

    #[test]
    fn reserved_characters_are_rejected() {
        let err = create_composite_key("a\u{0}b", &[]).expect_err("nul");
        assert!(err.message().contains("U+0000 at byte 1"), "{err}");
        let err = create_composite_key("t", &["ok", "x\u{10FFFF}"]).expect_err("max rune");
        assert!(err.message().contains("U+10FFFF"), "{err}");
    }

    #[test]
    fn simple_keys_are_not_composite() {
        for key in ["asset1", "", "\u{0}unterminated", "x\u{0}"] {
            let err = split_composite_key(key).expect_err("not composite");
            assert!(matches!(err, ContractError::BadRequest(_)), "{key:?}");
        }
    }
}
