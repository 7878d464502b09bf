//! Client-supplied FHIR resources (Patient, Observation, DiagnosticReport, DocumentReference): the checks
//! they pass and the few facts the contract reads from them.
//!
//! They arrive as transient data in the endorse step and go, whole, into a private collection. The contract
//! reads only what the public ledger or the de-identified event needs: the category code, the year of the
//! clinical date, and (from the Patient) birth date, gender and postal code. It overwrites `id` and the
//! patient reference so no client-chosen identifier (an MRN in `subject.reference`, say) can slip into a
//! stored resource under our pseudonym.

use chaincode_api::ContractError;
use serde_json::{Map, Value, json};

use crate::fhirtime::Date;
use crate::ids::is_code;

/// Largest resource accepted, in bytes of JSON.
pub const MAX_RESOURCE_BYTES: usize = 256 * 1024;

/// Resource types `AddRecord` accepts.
pub const RECORD_TYPES: &[&str] = &["Observation", "DiagnosticReport", "DocumentReference"];

/// The resource from transient field `field`: a JSON object of one of `types`, at most
/// [`MAX_RESOURCE_BYTES`]. Returns the object and its `resourceType`.
pub fn parse(
    raw: Option<&[u8]>,
    field: &str,
    types: &[&str],
    doing: &str,
) -> Result<(Map<String, Value>, String), ContractError> {
    let raw = raw.ok_or_else(|| {
        ContractError::BadRequest(format!(
            "{doing} needs the FHIR resource in transient field {field:?} (PHI never travels as an argument)"
        ))
    })?;
    if raw.len() > MAX_RESOURCE_BYTES {
        return Err(ContractError::BadRequest(format!(
            "{doing}: transient field {field:?} holds {} bytes; at most {MAX_RESOURCE_BYTES} are accepted",
            raw.len()
        )));
    }
    let value: Value = serde_json::from_slice(raw).map_err(|e| {
        ContractError::BadRequest(format!("{doing}: transient field {field:?} is not JSON: {e}"))
    })?;
    let Value::Object(map) = value else {
        return Err(ContractError::BadRequest(format!(
            "{doing}: transient field {field:?} must be a JSON object"
        )));
    };
    let kind = map
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !types.contains(&kind.as_str()) {
        return Err(ContractError::BadRequest(format!(
            "{doing}: the resource must have resourceType {}, got {kind:?}",
            types.join(" or ")
        )));
    }
    Ok((map, kind))
}

/// Sets `id` and the patient reference (`subject`, or `managingOrganization` for a Patient) the contract
/// decides.
pub fn bind(map: &mut Map<String, Value>, id: &str, pseudonym: &str) {
    map.insert("id".into(), Value::String(id.to_string()));
    if map.get("resourceType").and_then(Value::as_str) != Some("Patient") {
        map.insert(
            "subject".into(),
            json!({"reference": format!("Patient/{pseudonym}")}),
        );
    }
}

/// The record category: the first coding code of `category` (DocumentReference's `category` too). Must be a
/// plain code, since it is published.
pub fn category(map: &Map<String, Value>, doing: &str) -> Result<String, ContractError> {
    let code = map
        .get("category")
        .and_then(Value::as_array)
        .and_then(|cats| cats.first())
        .and_then(|cat| cat.get("coding"))
        .and_then(Value::as_array)
        .and_then(|codings| codings.first())
        .and_then(|c| c.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if is_code(code) {
        return Ok(code.to_string());
    }
    Err(ContractError::BadRequest(format!(
        "{doing}: the resource needs category[0].coding[0].code (1 to 64 of A-Z a-z 0-9 - . _; it is the \
         public category of the record), got {code:?}"
    )))
}

/// The clinical date: `effectiveDateTime`, `effectivePeriod.start`, `effectiveInstant`, `issued`, `date`
/// (DocumentReference) or `context.period.start`, whichever comes first and parses.
pub fn clinical_date(map: &Map<String, Value>) -> Option<Date> {
    let candidates = [
        map.get("effectiveDateTime"),
        map.get("effectivePeriod").and_then(|p| p.get("start")),
        map.get("effectiveInstant"),
        map.get("issued"),
        map.get("date"),
        map.get("context")
            .and_then(|c| c.get("period"))
            .and_then(|p| p.get("start")),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(Date::parse_prefix)
}

/// `Patient.birthDate`.
pub fn birth_date(patient: &Value) -> Option<Date> {
    patient
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(Date::parse_prefix)
}

/// `Patient.gender` when it is one of FHIR's codes, else `unknown`.
pub fn gender(patient: &Value) -> &'static str {
    match patient.get("gender").and_then(Value::as_str) {
        Some("male") => "male",
        Some("female") => "female",
        Some("other") => "other",
        _ => "unknown",
    }
}

/// The first `Patient.address[].postalCode`.
pub fn postal_code(patient: &Value) -> Option<&str> {
    patient
        .get("address")?
        .as_array()?
        .iter()
        .find_map(|a| a.get("postalCode").and_then(Value::as_str))
}
