//! Salted hashes of records and salted commitments to certificates: what the shared ledger may hold instead
//! of the data.
//!
//! Private data reaches only member peers, but every block carries SHA-256 hashes of the private writes, and
//! Fabric's documentation warns that a predictable value can be brute-forced from its hash. So nothing
//! predictable is hashed without a secret: a record's public hash is `SHA-256(salt ‖ canonical JSON)` with a
//! 256-bit client-chosen salt kept next to the record in the private collection, and a patient's certificate
//! appears publicly only as the commitment `SHA-256(salt ‖ certificate id)`, whose salt the patient holds.
//! Purging the salt (erasure) leaves hashes nobody can link back to a person.
//!
//! **Canonical JSON** (so any client can recompute a record hash): objects with keys sorted by Unicode code
//! point, no insignificant whitespace, strings escaped as JSON requires (serde_json's escaping), numbers as
//! serde_json prints them (integers as written, other numbers in shortest round-trip form). The salt enters
//! the hash as its 32 raw bytes, not as hex text.

use chaincode_api::ContractError;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ids::{SALT_HEX, check_hex, hex, unhex};

/// `value` in canonical form (see the module docs).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The 32 bytes of a salt given as 64 lowercase hex digits; `BadRequest` otherwise.
pub fn salt_bytes(salt: &str, what: &str) -> Result<Vec<u8>, ContractError> {
    check_hex(salt, SALT_HEX, what)?;
    unhex(salt).ok_or_else(|| ContractError::BadRequest(format!("{what} is not hex")))
}

/// Hex `SHA-256(salt ‖ canonical_json(resource))`: the hash published for a record.
pub fn record_hash(salt: &str, resource: &Value) -> Result<String, ContractError> {
    let salt = salt_bytes(salt, "record salt")?;
    let digest = Sha256::new()
        .chain_update(&salt)
        .chain_update(canonical_json(resource).as_bytes())
        .finalize();
    Ok(hex(&digest))
}

/// Hex `SHA-256(salt ‖ certificate id)`: the public commitment binding a certificate to a pseudonym.
pub fn commitment(salt: &str, cert_id: &str) -> Result<String, ContractError> {
    let salt = salt_bytes(salt, "binding salt")?;
    let digest = Sha256::new()
        .chain_update(&salt)
        .chain_update(cert_id.as_bytes())
        .finalize();
    Ok(hex(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_form_sorts_keys_at_every_level() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[{"d":2,"c":"é"}],"x":null}}"#).expect("json");
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":null,"y":[{"c":"é","d":2}]},"b":1}"#
        );
        let b = json!({"a": {"y": [{"c": "é", "d": 2}], "x": null}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&json!("q\"\n")), r#""q\"\n""#);
    }

    #[test]
    fn record_hash_is_sha256_of_salt_bytes_then_canonical_json() {
        let salt = "00".repeat(32);
        let resource = json!({"resourceType": "Observation", "id": "x"});
        let expected = Sha256::new()
            .chain_update([0u8; 32])
            .chain_update(br#"{"id":"x","resourceType":"Observation"}"#)
            .finalize();
        assert_eq!(record_hash(&salt, &resource).expect("hash"), hex(&expected));
        let other = "01".repeat(32);
        assert_ne!(record_hash(&other, &resource).expect("hash"), hex(&expected));
        assert!(record_hash("abc", &resource).is_err());
    }

    #[test]
    fn commitments_depend_on_salt_and_certificate() {
        let salt = "ab".repeat(32);
        let c = commitment(&salt, "x509::CN=Synthetic Patient 0001").expect("commit");
        assert_eq!(c.len(), 64);
        assert_ne!(
            c,
            commitment(&salt, "x509::CN=Synthetic Patient 0002").expect("commit")
        );
        assert_ne!(
            c,
            commitment(&"cd".repeat(32), "x509::CN=Synthetic Patient 0001").expect("commit")
        );
    }
}
