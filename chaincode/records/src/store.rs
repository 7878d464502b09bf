//! Reading and writing through the `Context`: typed public and private JSON, transient input, and the
//! lookups every function shares (a patient, a record, a patient's linked group).
//!
//! Everything runs in the endorse step: each read is recorded with its version for MVCC, each write is
//! buffered into the read/write set, and nothing here sees the transaction's own writes. Values were written
//! by this contract, so a stored value that does not parse is `Internal` (not the client's fault).

use serde::Serialize;
use serde::de::DeserializeOwned;

use chaincode_api::{Context, ContractError, KeyEndorsement, Role};

use crate::fhir::Consent;
use crate::ids::instant;
use crate::keys;
use crate::ledger::{PatientRecord, PatientStatus, RecordMeta, to_json};

/// The transaction time as a fixed-width instant.
pub fn now(ctx: &dyn Context) -> String {
    instant(ctx.tx().timestamp)
}

/// Committed public JSON at `key`.
pub fn get<T: DeserializeOwned>(ctx: &mut dyn Context, key: &str) -> Result<Option<T>, ContractError> {
    ctx.get_state(key)?
        .map(|bytes| parse(&bytes, key, "public"))
        .transpose()
}

/// Writes `value` as JSON at public `key`.
pub fn put<T: Serialize>(ctx: &mut dyn Context, key: &str, value: &T) -> Result<(), ContractError> {
    ctx.put_state(key, &to_json(value)?)
}

/// Committed private JSON at `key` of `collection` (`Forbidden` on a peer outside the collection).
pub fn get_private<T: DeserializeOwned>(
    ctx: &mut dyn Context,
    collection: &str,
    key: &str,
) -> Result<Option<T>, ContractError> {
    ctx.get_private_data(collection, key)?
        .map(|bytes| parse(&bytes, key, collection))
        .transpose()
}

/// Writes `value` as JSON to `collection`.
pub fn put_private<T: Serialize>(
    ctx: &mut dyn Context,
    collection: &str,
    key: &str,
    value: &T,
) -> Result<(), ContractError> {
    ctx.put_private_data(collection, key, &to_json(value)?)
}

/// Parses stored bytes, values and entries of index ranges alike.
pub fn parse<T: DeserializeOwned>(bytes: &[u8], key: &str, place: &str) -> Result<T, ContractError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ContractError::Internal(format!("stored value of {key:?} ({place}) does not parse: {e}"))
    })
}

/// Transient field `name` as JSON; `BadRequest` when missing or malformed. `doing` names the function.
pub fn transient_json<T: DeserializeOwned>(
    ctx: &dyn Context,
    name: &str,
    doing: &str,
) -> Result<T, ContractError> {
    let bytes = ctx
        .transient(name)
        .ok_or_else(|| missing_transient(name, doing))?;
    serde_json::from_slice(bytes).map_err(|e| {
        ContractError::BadRequest(format!(
            "{doing}: transient field {name:?} is not the expected JSON: {e}"
        ))
    })
}

/// Transient field `name` as UTF-8 text (surrounding whitespace trimmed); `BadRequest` when missing.
pub fn transient_text(ctx: &dyn Context, name: &str, doing: &str) -> Result<String, ContractError> {
    let bytes = ctx
        .transient(name)
        .ok_or_else(|| missing_transient(name, doing))?;
    std::str::from_utf8(bytes)
        .map(|t| t.trim().to_string())
        .map_err(|_| {
            ContractError::BadRequest(format!("{doing}: transient field {name:?} is not UTF-8 text"))
        })
}

fn missing_transient(name: &str, doing: &str) -> ContractError {
    ContractError::BadRequest(format!(
        "{doing} needs transient field {name:?} (transient data never reaches the ledger; arguments do, so \
         PHI and secrets travel only as transient data)"
    ))
}

/// The public record of pseudonym `p`, or `NotFound`.
pub fn load_patient(ctx: &mut dyn Context, p: &str) -> Result<PatientRecord, ContractError> {
    get(ctx, &keys::patient(p)?)?
        .ok_or_else(|| ContractError::NotFound(format!("patient {p} is not registered")))
}

/// Like [`load_patient`], but `NotFound` for an erased patient too (nothing left to act on).
pub fn load_active_patient(ctx: &mut dyn Context, p: &str) -> Result<PatientRecord, ContractError> {
    let patient = load_patient(ctx, p)?;
    if patient.status == PatientStatus::Erased {
        return Err(ContractError::NotFound(format!(
            "patient {p} was erased: their private data and salts were purged"
        )));
    }
    Ok(patient)
}

/// Writes a patient record.
pub fn save_patient(ctx: &mut dyn Context, patient: &PatientRecord) -> Result<(), ContractError> {
    put(ctx, &keys::patient(&patient.pseudonym)?, patient)
}

/// The public metadata of record `id`, or `NotFound`.
pub fn load_record(ctx: &mut dyn Context, id: &str) -> Result<RecordMeta, ContractError> {
    get(ctx, &keys::record(id)?)?
        .ok_or_else(|| ContractError::NotFound(format!("record {id} does not exist")))
}

/// Consent `id`, or `NotFound`.
pub fn load_consent(ctx: &mut dyn Context, id: &str) -> Result<Consent, ContractError> {
    get(ctx, &keys::consent(id)?)?
        .ok_or_else(|| ContractError::NotFound(format!("consent {id} does not exist")))
}

/// `patient` and every pseudonym linked to it that is not erased (one patient, several hospitals), in
/// pseudonym order after `patient` itself.
pub fn active_group(
    ctx: &mut dyn Context,
    patient: &PatientRecord,
) -> Result<Vec<PatientRecord>, ContractError> {
    let mut group = vec![patient.clone()];
    for other in &patient.linked {
        let record = load_patient(ctx, other)?;
        if record.status == PatientStatus::Active {
            group.push(record);
        }
    }
    Ok(group)
}

/// Values of every key under `object_type/<parts…>/`, ascending (whole range; phantom-checked if the
/// transaction writes).
pub fn index_values(
    ctx: &mut dyn Context,
    object_type: &str,
    parts: &[&str],
) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
    let start = keys::key(object_type, parts)?;
    let mut end = start.clone();
    end.push(keys::RANGE_END);
    Ok(ctx.get_state_by_range(&start, &end, 0, "")?.items)
}

/// Every consent filed under the pseudonyms of `group`.
pub fn group_consents(ctx: &mut dyn Context, group: &[PatientRecord]) -> Result<Vec<Consent>, ContractError> {
    let mut consents = Vec::new();
    for member in group {
        for (key, id) in index_values(ctx, keys::CONSENT_BY_PATIENT, &[&member.pseudonym])? {
            let id = String::from_utf8(id)
                .map_err(|_| ContractError::Internal(format!("index entry {key:?} is not UTF-8")))?;
            consents.push(load_consent(ctx, &id)?);
        }
    }
    Ok(consents)
}

/// "Every org in `orgs` must endorse, with a peer": the key-level policy of patient, consent and record keys.
pub fn peers_of<'a>(orgs: impl IntoIterator<Item = &'a str>) -> Result<KeyEndorsement, ContractError> {
    KeyEndorsement::of(Role::Peer, orgs)
}
