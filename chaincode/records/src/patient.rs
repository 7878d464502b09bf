//! Patients: registration, linking two registrations, delegates, the research token, and erasure.
//!
//! A hospital registers a patient under a random pseudonym its client generated: the public ledger gets a
//! registry entry keyed by the pseudonym (the hospital's MSP id, a salted commitment to the patient's
//! certificate, status), and the hospital's collection `records_<MSP>` gets the FHIR Patient together with
//! the certificate id and the commitment's salt. The entry carries a key-level policy requiring the
//! hospital's peers, and every consent change writes it, so no other org's peer can forge or alter the
//! patient's consents (see `consent`).
//!
//! **Linking.** A patient treated by two hospitals has two registrations (two pseudonyms, each in its
//! hospital's collection). Both hospitals bind the same certificate (the patient's one identity on the
//! channel); the patient proves both bindings in one `LinkPatients` call, after which each registration lists
//! the other: consents under either apply to records under both, and the access list covers both. The
//! transaction writes only public entries, so it can be endorsed by both hospitals (each entry's policy).
//!
//! **Erasure.** The patient (or the hospital's admin, once the patient has asked with `RequestErasure`) purges
//! every private key of the pseudonym: demographics with the certificate link and binding salt, the research
//! token, and each record with its salt, in the hospital's collection and the lab collections. Purging
//! removes values and their history from every member peer; the hashes stay on the ledger but, with the
//! salts gone, nobody can link them to a person. The registry entry is marked erased (commitments removed);
//! record metadata, consents and audit entries remain under the pseudonym. One transaction erases one
//! registration: a transaction may only touch collections that share a member org, so a linked patient
//! erases each registration at its own hospital.

use serde_json::{Value, json};

use chaincode_api::{Context, ContractError};

use crate::hashing::commitment;
use crate::ids::{TOKEN_HEX, check_hex};
use crate::keys;
use crate::ledger::{
    Controller, ControllerKind, PatientEntry, PatientRecord, PatientStatus, ResearchEntry, to_json,
};
use crate::party::{self, REGISTRAR_ROLES};
use crate::resource;
use crate::store::{self, load_active_patient, load_patient, now, save_patient};

/// Transient field with the FHIR Patient at registration.
pub const PATIENT_FIELD: &str = "patient";
/// Transient field with the certificate link at registration: `{"certId", "salt"}`.
pub const LINK_FIELD: &str = "link";
/// Transient field with a research token: `{"token": "<32 hex>"}`.
pub const RESEARCH_FIELD: &str = "research";
/// Most delegates a patient may name.
pub const MAX_DELEGATES: usize = 10;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LinkInput {
    cert_id: String,
    salt: String,
}

/// `RegisterPatient`: staff of hospital H register pseudonym `p`.
pub fn register(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    let caller = ctx.caller().clone();
    let hospital = caller.msp_id.clone();
    party::require_staff(&caller, &hospital, REGISTRAR_ROLES, "register patients")?;
    let doing = "RegisterPatient";
    let (mut map, _) = resource::parse(ctx.transient(PATIENT_FIELD), PATIENT_FIELD, &["Patient"], doing)?;
    resource::bind(&mut map, p, p);
    map.insert(
        "managingOrganization".into(),
        json!({"reference": format!("Organization/{hospital}")}),
    );
    let link: LinkInput = store::transient_json(ctx, LINK_FIELD, doing)?;
    if link.cert_id.is_empty() || link.cert_id.len() > 1024 {
        return Err(ContractError::BadRequest(format!(
            "{doing}: transient {LINK_FIELD:?}.certId must be the patient's certificate id (1 to 1024 characters)"
        )));
    }
    let bound = commitment(&link.salt, &link.cert_id)?;
    let key = keys::patient(p)?;
    if ctx.get_state(&key)?.is_some() {
        return Err(ContractError::Conflict(format!(
            "patient {p} is already registered"
        )));
    }
    let at = now(ctx);
    let record = PatientRecord {
        pseudonym: p.to_string(),
        organization: hospital.clone(),
        status: PatientStatus::Active,
        controllers: vec![Controller {
            kind: ControllerKind::Patient,
            commitment: bound,
            added: at.clone(),
        }],
        linked: Vec::new(),
        registered: at.clone(),
        updated: at,
        erasure_requested: None,
        erased: None,
    };
    save_patient(ctx, &record)?;
    ctx.set_key_endorsement(&key, Some(&store::peers_of([hospital.as_str()])?))?;
    let entry = PatientEntry {
        resource: Value::Object(map),
        cert_id: link.cert_id,
        binding_salt: link.salt,
    };
    store::put_private(ctx, &keys::records_collection(&hospital), &key, &entry)?;
    let out = to_json(&json!({"pseudonym": p, "organization": hospital}))?;
    ctx.set_event("PatientRegistered", &out)?;
    Ok(out)
}

/// `LinkPatients`: the patient, bound to both pseudonyms, links the registrations (and theirs).
pub fn link(ctx: &mut dyn Context, a: &str, b: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "link registrations";
    let salts = party::bindings(ctx, doing)?;
    let caller = ctx.caller().clone();
    let first = load_active_patient(ctx, a)?;
    let second = load_active_patient(ctx, b)?;
    party::prove_patient(&caller, &first, &salts, doing)?;
    party::prove_patient(&caller, &second, &salts, doing)?;
    if first.linked.iter().any(|l| l == b) {
        return Err(ContractError::Conflict(format!(
            "patients {a} and {b} are already linked"
        )));
    }
    let mut members = std::collections::BTreeMap::new();
    for head in [first, second] {
        for other in &head.linked {
            let record = load_patient(ctx, other)?;
            if record.status == PatientStatus::Active {
                members.insert(record.pseudonym.clone(), record);
            }
        }
        members.insert(head.pseudonym.clone(), head);
    }
    let all: Vec<String> = members.keys().cloned().collect();
    let at = now(ctx);
    for (id, mut record) in members {
        record.linked = all.iter().filter(|o| **o != id).cloned().collect();
        record.updated = at.clone();
        save_patient(ctx, &record)?;
    }
    let out = to_json(&json!({"pseudonyms": all}))?;
    ctx.set_event("PatientsLinked", &out)?;
    Ok(out)
}

/// `AddDelegate` / `RemoveDelegate`: the patient names or removes a delegate (by commitment).
pub fn delegate(
    ctx: &mut dyn Context,
    p: &str,
    commitment: &str,
    add: bool,
) -> Result<Vec<u8>, ContractError> {
    let doing = if add {
        "name a delegate"
    } else {
        "remove a delegate"
    };
    let salts = party::bindings(ctx, doing)?;
    let caller = ctx.caller().clone();
    let mut patient = load_active_patient(ctx, p)?;
    party::prove_patient(&caller, &patient, &salts, doing)?;
    let position = patient
        .controllers
        .iter()
        .position(|c| c.commitment == commitment);
    let delegates = patient
        .controllers
        .iter()
        .filter(|c| c.kind == ControllerKind::Delegate)
        .count();
    match (add, position) {
        (true, Some(_)) => {
            return Err(ContractError::Conflict(format!(
                "{commitment} already acts for patient {p}"
            )));
        }
        (true, None) if delegates >= MAX_DELEGATES => {
            return Err(ContractError::Conflict(format!(
                "patient {p} already has {MAX_DELEGATES} delegates"
            )));
        }
        (true, None) => patient.controllers.push(Controller {
            kind: ControllerKind::Delegate,
            commitment: commitment.to_string(),
            added: now(ctx),
        }),
        (false, Some(i)) if patient.controllers[i].kind == ControllerKind::Delegate => {
            patient.controllers.remove(i);
        }
        (false, _) => {
            return Err(ContractError::NotFound(format!(
                "{commitment} is not a delegate of patient {p}"
            )));
        }
    }
    patient.updated = now(ctx);
    save_patient(ctx, &patient)?;
    let event = if add { "DelegateAdded" } else { "DelegateRemoved" };
    ctx.set_event(event, &to_json(&json!({"pseudonym": p}))?)?;
    to_json(&patient)
}

/// The research token in transient field `research`, checked.
pub fn research_token(ctx: &dyn Context, doing: &str) -> Result<ResearchEntry, ContractError> {
    let entry: ResearchEntry = store::transient_json(ctx, RESEARCH_FIELD, doing)?;
    check_hex(&entry.token, TOKEN_HEX, "research token")?;
    Ok(entry)
}

/// Stores `token` for `patient` in its hospital's collection.
pub fn store_token(
    ctx: &mut dyn Context,
    patient: &PatientRecord,
    token: &ResearchEntry,
) -> Result<(), ContractError> {
    let collection = keys::records_collection(&patient.organization);
    store::put_private(ctx, &collection, &keys::research(&patient.pseudonym)?, token)
}

/// `SetResearchToken`: the patient or a delegate stores the research token at this registration's hospital.
pub fn set_research_token(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "set the research token";
    let salts = party::bindings(ctx, doing)?;
    let token = research_token(ctx, "SetResearchToken")?;
    let caller = ctx.caller().clone();
    let mut patient = load_active_patient(ctx, p)?;
    party::prove(&caller, &patient, &salts, doing)?;
    store_token(ctx, &patient, &token)?;
    patient.updated = now(ctx);
    save_patient(ctx, &patient)?;
    let out = to_json(&json!({"pseudonym": p, "organization": patient.organization}))?;
    ctx.set_event("ResearchTokenSet", &out)?;
    Ok(out)
}

/// `RequestErasure`: the patient asks their hospital to erase this registration.
pub fn request_erasure(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "request erasure";
    let salts = party::bindings(ctx, doing)?;
    let caller = ctx.caller().clone();
    let mut patient = load_active_patient(ctx, p)?;
    party::prove_patient(&caller, &patient, &salts, doing)?;
    if let Some(at) = &patient.erasure_requested {
        return Err(ContractError::Conflict(format!(
            "erasure of patient {p} was already requested at {at}"
        )));
    }
    let at = now(ctx);
    patient.erasure_requested = Some(at.clone());
    patient.updated = at;
    save_patient(ctx, &patient)?;
    let out = to_json(&json!({"pseudonym": p, "organization": patient.organization}))?;
    ctx.set_event("ErasureRequested", &out)?;
    Ok(out)
}

/// `ErasePatient`: purges every private key of the registration (see the module docs).
pub fn erase(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "erase a patient";
    let caller = ctx.caller().clone();
    let mut patient = load_patient(ctx, p)?;
    if patient.status == PatientStatus::Erased {
        return Err(ContractError::Conflict(format!("patient {p} is already erased")));
    }
    if party::is_admin(&caller) {
        party::require_admin_of(&caller, &patient.organization, doing)?;
        if patient.erasure_requested.is_none() {
            return Err(party::denied(
                &caller,
                format!(
                    "may erase patient {p} only on the patient's request (RequestErasure) and there is none"
                ),
            ));
        }
    } else {
        let salts = party::bindings(ctx, doing)?;
        party::prove_patient(&caller, &patient, &salts, doing)?;
    }
    let mut purged = 0usize;
    for (_, id) in store::index_values(ctx, keys::RECORD_BY_PATIENT, &[p])? {
        let id = String::from_utf8(id)
            .map_err(|_| ContractError::Internal("record index entry is not UTF-8".into()))?;
        let meta = store::load_record(ctx, &id)?;
        ctx.purge_private_data(&meta.collection(), &keys::record(&id)?)?;
        purged += 1;
    }
    let hospital = keys::records_collection(&patient.organization);
    ctx.purge_private_data(&hospital, &keys::patient(p)?)?;
    ctx.purge_private_data(&hospital, &keys::research(p)?)?;
    let at = now(ctx);
    patient.status = PatientStatus::Erased;
    patient.controllers.clear();
    patient.linked.clear();
    patient.erased = Some(at.clone());
    patient.updated = at;
    save_patient(ctx, &patient)?;
    let out = to_json(&json!({"pseudonym": p, "status": "erased", "purgedRecords": purged}))?;
    ctx.set_event("PatientErased", &out)?;
    Ok(out)
}

/// `ReadPatient`: the public registry entry (pseudonym, hospital, commitments, links, status).
pub fn read(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    to_json(&load_patient(ctx, p)?)
}
