//! Identifier formats, hex, derived ids and instants: the rules every argument and every key part obeys.
//!
//! Checked first, when a `Call` becomes an `Action` (endorse step, before any state is read), so a malformed
//! pseudonym or salt is refused without recording a read. Contracts cannot make random numbers (every
//! endorser must produce the same result), so pseudonyms, record ids, salts and research tokens come from the
//! client; all we can check is their shape: lowercase hex of a fixed length, i.e. a fixed number of random
//! bits. Ids the ledger itself needs per transaction (audit events, grants) are derived from the transaction
//! id, which every endorser sees and which is unique on the channel.

use chaincode_api::{ContractError, Timestamp};
use sha2::{Digest, Sha256};

/// Hex digits of a patient pseudonym, a record id and a consent id: 128 random bits.
pub const ID_HEX: usize = 32;
/// Hex digits of a salt (record hash, binding commitment): 256 random bits.
pub const SALT_HEX: usize = 64;
/// Hex digits of a research token: 128 random bits.
pub const TOKEN_HEX: usize = 32;
/// Hex digits of a binding commitment (SHA-256).
pub const COMMITMENT_HEX: usize = 64;

/// Whether `text` is exactly `len` lowercase hex digits.
pub fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `BadRequest` unless `text` is `len` lowercase hex digits; `what` names the value ("pseudonym").
pub fn check_hex(text: &str, len: usize, what: &str) -> Result<(), ContractError> {
    if is_hex(text, len) {
        return Ok(());
    }
    Err(ContractError::BadRequest(format!(
        "{what} must be {len} lowercase hex digits ({} random bits chosen by the client), got {}",
        len * 4,
        preview(text)
    )))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Inverse of [`hex`]; `None` unless `text` is an even number of hex digits.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// `<prefix>-<32 hex>`: an id for the one `prefix` object a transaction creates (audit event, grant),
/// SHA-256 of the prefix and the transaction id, so every endorser derives the same id and no two
/// transactions share one.
pub fn derive_id(prefix: &str, tx_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(prefix.as_bytes())
        .chain_update([0u8])
        .chain_update(tx_id.as_bytes())
        .finalize();
    let full = hex(&digest);
    format!("{prefix}-{}", full.get(..ID_HEX).unwrap_or(&full))
}

/// Whether `text` is an MSP id usable in a collection name: 1 to 64 of `A-Z a-z 0-9 - . _`.
pub fn is_msp_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Whether `text` is a code (category, purpose, action): 1 to 64 of `A-Z a-z 0-9 - . _`.
pub fn is_code(text: &str) -> bool {
    is_msp_id(text)
}

/// A transaction timestamp as fixed-width RFC 3339 UTC with nine fraction digits
/// (`2024-01-01T00:00:00.000000000Z`), so instants sort correctly as strings (index keys, expiry checks).
pub fn instant(ts: Timestamp) -> String {
    const NANOS: i64 = 1_000_000_000;
    let nanos = i64::from(ts.nanos);
    let seconds = ts.seconds.saturating_add(nanos.div_euclid(NANOS));
    let whole = Timestamp::new(seconds, 0).to_rfc3339();
    let base = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{base}.{:09}Z", nanos.rem_euclid(NANOS))
}

/// Quotes `text` for an error message, cut to 48 characters.
pub fn preview(text: &str) -> String {
    if text.chars().count() <= 48 {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(48).collect();
    format!("{cut:?}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_rules() {
        assert!(is_hex("0123456789abcdef", 16));
        assert!(!is_hex("0123456789ABCDEF", 16), "uppercase is refused");
        assert!(!is_hex("0123", 16));
        assert_eq!(unhex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(hex(&[0, 255]), "00ff");
        let err = check_hex("MRN-0001", ID_HEX, "pseudonym").expect_err("not hex");
        assert!(
            err.message().contains("pseudonym must be 32 lowercase hex"),
            "{err}"
        );
    }

    #[test]
    fn derived_ids_differ_by_prefix_and_transaction() {
        let a = derive_id("audit", "tx1");
        assert!(a.starts_with("audit-") && a.len() == 6 + ID_HEX, "{a}");
        assert_ne!(a, derive_id("audit", "tx2"));
        assert_ne!(a[6..], derive_id("grant", "tx1")[6..]);
        assert_eq!(a, derive_id("audit", "tx1"));
    }

    #[test]
    fn instants_are_fixed_width() {
        assert_eq!(
            instant(Timestamp::new(1_704_067_200, 5)),
            "2024-01-01T00:00:00.000000005Z"
        );
        assert!(instant(Timestamp::new(1, 0)) < instant(Timestamp::new(1, 1)));
    }
}
