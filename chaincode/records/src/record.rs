//! Records (FHIR Observation, DiagnosticReport, DocumentReference): written by the patient's hospital,
//! content private, a salted hash public.
//!
//! In the endorse step of `AddRecord` the resource arrives as transient data with a client-chosen 256-bit
//! salt; the contract stores `{salt, resource}` in the hospital's collection and publishes only the record
//! id, patient pseudonym, category code, year, issuing org and `SHA-256(salt ‖ canonical JSON)` (see
//! `hashing`), so a reader can check the content it is given against the ledger and nobody can test guesses
//! against the hash. The write needs the hospital's peer (the collection's endorsement policy), and the
//! public metadata gets a key-level policy naming the issuer, so no other org can alter it later.

use serde_json::{Value, json};

use chaincode_api::{Context, ContractError};

use crate::deid;
use crate::fhirtime::Date;
use crate::hashing::record_hash;
use crate::ids::{SALT_HEX, check_hex};
use crate::keys;
use crate::ledger::{PatientRecord, RecordMeta, StoredRecord, to_json};
use crate::party::{self, PRACTITIONER_ROLES};
use crate::resource::{self, RECORD_TYPES};
use crate::store::{self, load_active_patient, load_patient, load_record};

/// Transient field with the FHIR resource.
pub const RESOURCE_FIELD: &str = "resource";
/// Transient field with the record's salt (64 lowercase hex digits, as text).
pub const SALT_FIELD: &str = "salt";

/// A checked resource ready to store: the object, its salt, category and clinical date.
pub struct Incoming {
    /// The resource (id and subject not yet bound).
    pub map: serde_json::Map<String, Value>,
    /// 64 hex digits.
    pub salt: String,
}

/// Reads and checks the transient resource (one of `types`) and salt.
pub fn incoming(ctx: &dyn Context, types: &[&str], doing: &str) -> Result<Incoming, ContractError> {
    let (map, _) = resource::parse(ctx.transient(RESOURCE_FIELD), RESOURCE_FIELD, types, doing)?;
    let salt = store::transient_text(ctx, SALT_FIELD, doing)?;
    check_hex(&salt, SALT_HEX, "record salt")?;
    Ok(Incoming { map, salt })
}

/// What a record write publishes and stores.
pub struct Prepared {
    /// Public metadata (without lab report details).
    pub meta: RecordMeta,
    /// Private value.
    pub stored: StoredRecord,
    /// Clinical date, for the de-identified event.
    pub clinical: Option<Date>,
}

/// Binds the resource to `id` and the patient, reads its category and year, and hashes it.
pub fn prepare(
    ctx: &dyn Context,
    incoming: Incoming,
    id: &str,
    patient: &str,
    issuer: &str,
    doing: &str,
) -> Result<Prepared, ContractError> {
    let Incoming { mut map, salt } = incoming;
    resource::bind(&mut map, id, patient);
    let category = resource::category(&map, doing)?;
    let clinical = resource::clinical_date(&map);
    let year = clinical.map_or_else(|| ctx.tx().timestamp.year(), |d| d.year);
    let resource = Value::Object(map);
    let hash = record_hash(&salt, &resource)?;
    Ok(Prepared {
        meta: RecordMeta {
            id: id.to_string(),
            patient: patient.to_string(),
            category,
            year,
            issuer: issuer.to_string(),
            hash,
            lab_report: None,
        },
        stored: StoredRecord { salt, resource },
        clinical,
    })
}

/// `Conflict` if record `id` exists.
pub fn require_new(ctx: &mut dyn Context, id: &str) -> Result<(), ContractError> {
    if ctx.get_state(&keys::record(id)?)?.is_some() {
        return Err(ContractError::Conflict(format!("record {id} already exists")));
    }
    Ok(())
}

/// Writes the public metadata (key-level policy: every org in `owners`), its patient index entry and the
/// private value in the record's collection.
pub fn write(
    ctx: &mut dyn Context,
    meta: &RecordMeta,
    stored: &StoredRecord,
    owners: &[&str],
) -> Result<(), ContractError> {
    let key = keys::record(&meta.id)?;
    store::put(ctx, &key, meta)?;
    ctx.set_key_endorsement(&key, Some(&store::peers_of(owners.iter().copied())?))?;
    ctx.put_state(
        &keys::key(keys::RECORD_BY_PATIENT, &[&meta.patient, &meta.id])?,
        meta.id.as_bytes(),
    )?;
    store::put_private(ctx, &meta.collection(), &key, stored)
}

/// Sets the transaction's event: the de-identified entry when the patient consented to research, else
/// `fallback` with the public metadata.
pub fn emit(
    ctx: &mut dyn Context,
    patient: &PatientRecord,
    prepared: &Prepared,
    fallback: &str,
) -> Result<Vec<u8>, ContractError> {
    let meta = &prepared.meta;
    let out = to_json(meta)?;
    match deid::entry_for(ctx, patient, &meta.category, meta.year, prepared.clinical)? {
        Some(entry) => ctx.set_event(deid::EVENT, &to_json(&entry)?)?,
        None => ctx.set_event(fallback, &out)?,
    }
    Ok(out)
}

/// `AddRecord`: a practitioner of the patient's hospital adds record `id`.
pub fn add(ctx: &mut dyn Context, p: &str, id: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "AddRecord";
    let incoming = incoming(ctx, RECORD_TYPES, doing)?;
    let caller = ctx.caller().clone();
    let patient = load_active_patient(ctx, p)?;
    party::require_staff(
        &caller,
        &patient.organization,
        PRACTITIONER_ROLES,
        &format!("add records for patient {p}"),
    )?;
    require_new(ctx, id)?;
    let prepared = prepare(ctx, incoming, id, p, &patient.organization, doing)?;
    write(
        ctx,
        &prepared.meta,
        &prepared.stored,
        &[patient.organization.as_str()],
    )?;
    emit(ctx, &patient, &prepared, "RecordAdded")
}

/// `RecordInfo`: public metadata of one record (lab reports: status and provenance).
pub fn info(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    to_json(&load_record(ctx, id)?)
}

/// `ListRecords`: public metadata of every record under the pseudonym and its linked registrations.
pub fn list(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    let patient = load_patient(ctx, p)?;
    let mut records = Vec::new();
    for member in store::active_group(ctx, &patient)? {
        for (key, id) in store::index_values(ctx, keys::RECORD_BY_PATIENT, &[&member.pseudonym])? {
            let id = String::from_utf8(id)
                .map_err(|_| ContractError::Internal(format!("index entry {key:?} is not UTF-8")))?;
            records.push(load_record(ctx, &id)?);
        }
    }
    to_json(&json!({"patient": p, "records": records}))
}
