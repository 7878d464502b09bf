//! Every key the claims contract reads or writes, public and private, and the collection naming rule.
//!
//! Keys decide what the endorse step records and what validation re-checks: point keys get MVCC checks,
//! and the secondary indexes below are scanned as ranges, which validation re-runs (phantom check) when the
//! scan fed a write. All keys are Fabric composite keys (U+0000-separated), so they look the same as keys
//! written by Go or Node chaincode and partial-key scans work.
//!
//! Public (namespace `claims`):
//! * `claim` `<id>` → [`ClaimRecord`]
//! * `claim~status` `<insurer> <status> <created> <id>` → the same record (a covering index)
//! * `claim~provider` `<insurer> <provider> <created> <id>` → the same record
//! * `claim~patient` `<insurer> <patient pseudonym> <created> <id>` → the same record
//! * `claim~created` `<insurer> <created> <id>` → the same record
//! * `coverage` `<insurer> <coverage id>` → [`crate::record::CoverageRecord`]
//!
//! Every index starts with the insurer, so an insurer's query is one contiguous range it alone may read,
//! and ends with `<created> <id>`, so every query returns claims in submission order (ties by id), and a
//! period filter is a sub-range of any index. Index values repeat the public record so a query page is one
//! range scan with no point reads; every transition rewrites all four in the same transaction as the record.
//!
//! Private (collection `claims_<providerMSP>_<insurerMSP>`, see [`collection`]):
//! * `claim` `<id>` → FHIR `Claim`
//! * `claimresponse` `<id>` → FHIR `ClaimResponse`
//! * `claim~service` `<patient> <serviced date> <code system> <code>` → id of the claim billing it (duplicate
//!   detection, see `lifecycle`)

use chaincode_api::{ContractError, Timestamp, create_composite_key};

use crate::record::ClaimRecord;

/// Object type of claim records (public) and FHIR Claims (private).
pub const CLAIM: &str = "claim";
/// Object type of coverage records.
pub const COVERAGE: &str = "coverage";
/// Index by insurer, status, creation.
pub const BY_STATUS: &str = "claim~status";
/// Index by insurer, provider, creation.
pub const BY_PROVIDER: &str = "claim~provider";
/// Index by insurer, patient pseudonym, creation.
pub const BY_PATIENT: &str = "claim~patient";
/// Index by insurer, creation.
pub const BY_CREATED: &str = "claim~created";
/// Object type of private ClaimResponses.
pub const CLAIM_RESPONSE: &str = "claimresponse";
/// Object type of the private duplicate-detection entries.
pub const SERVICE: &str = "claim~service";

/// Highest code point: appended to a key prefix to bound a range over everything under it.
pub const RANGE_END: char = '\u{10FFFF}';

/// The private data collection shared by exactly `provider` and `insurer` (both MSP ids):
/// `claims_<provider>_<insurer>`. The network must define one per (hospital, insurer) pair.
pub fn collection(provider: &str, insurer: &str) -> String {
    format!("claims_{provider}_{insurer}")
}

/// Public claim record key (also the private FHIR Claim key in the pair's collection).
pub fn claim(id: &str) -> Result<String, ContractError> {
    create_composite_key(CLAIM, &[id])
}

/// Private ClaimResponse key.
pub fn claim_response(id: &str) -> Result<String, ContractError> {
    create_composite_key(CLAIM_RESPONSE, &[id])
}

/// Coverage record key.
pub fn coverage(insurer: &str, id: &str) -> Result<String, ContractError> {
    create_composite_key(COVERAGE, &[insurer, id])
}

/// Private duplicate-detection key for one billed service.
pub fn service(patient: &str, date: &str, system: &str, code: &str) -> Result<String, ContractError> {
    create_composite_key(SERVICE, &[patient, date, system, code])
}

/// The four index keys of a record, in a fixed order.
pub fn indexes(record: &ClaimRecord) -> Result<[String; 4], ContractError> {
    let (insurer, created, id) = (
        record.insurer.as_str(),
        record.created.as_str(),
        record.id.as_str(),
    );
    Ok([
        create_composite_key(BY_STATUS, &[insurer, record.status.as_str(), created, id])?,
        create_composite_key(BY_PROVIDER, &[insurer, &record.provider, created, id])?,
        create_composite_key(BY_PATIENT, &[insurer, &record.patient, created, id])?,
        create_composite_key(BY_CREATED, &[insurer, created, id])?,
    ])
}

/// A transaction timestamp as fixed-width RFC 3339 UTC with nine fraction digits
/// (`2024-01-01T00:00:00.000000000Z`), so instants sort correctly as strings (the trimmed form does not:
/// `…:00.5Z` < `…:00Z`).
pub fn instant(ts: Timestamp) -> String {
    const NANOS: i64 = 1_000_000_000;
    let nanos = i64::from(ts.nanos);
    let seconds = ts.seconds.saturating_add(nanos.div_euclid(NANOS));
    let whole = Timestamp::new(seconds, 0).to_rfc3339();
    let base = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{base}.{:09}Z", nanos.rem_euclid(NANOS))
}

/// Lowercase hex of `text`'s bytes: bookmarks are composite keys (with U+0000), hex keeps them printable.
pub fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Inverse of [`hex`]; `None` if `text` is not the hex of UTF-8 bytes.
pub fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_fixed_width_and_sort_as_time() {
        let a = instant(Timestamp::new(1_704_067_200, 0));
        let b = instant(Timestamp::new(1_704_067_200, 500_000_000));
        let c = instant(Timestamp::new(1_704_067_201, 0));
        assert_eq!(a, "2024-01-01T00:00:00.000000000Z");
        assert_eq!(b, "2024-01-01T00:00:00.500000000Z");
        assert!(a < b && b < c);
        assert_eq!(instant(Timestamp::new(10, -1)), "1970-01-01T00:00:09.999999999Z");
    }

    #[test]
    fn bookmarks_round_trip_through_hex() {
        let key = "\u{0}claim~status\u{0}InsurerAMSP\u{0}é\u{0}";
        assert_eq!(unhex(&hex(key)).as_deref(), Some(key));
        for bad in ["0", "zz", "c3"] {
            assert_eq!(unhex(bad), None, "{bad}");
        }
    }
}
