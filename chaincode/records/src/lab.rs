//! Dual-signed lab reports: a lab admin authors a DiagnosticReport as `preliminary`; it becomes `final` only
//! when an admin of the patient's hospital countersigns. Both signatures are FHIR `Provenance.signature`s
//! with ASTM E1762 types (author `1.2.840.10065.1.12.1.1`, verification `1.2.840.10065.1.12.1.5`).
//!
//! Enforced on the ledger twice over. The contract checks each signer: the author is an administrator
//! (NodeOU admin) of an org other than the patient's hospital, whose collection with that hospital
//! (`labreports_<lab>_<hospital>`) exists; the countersigner is an administrator of the patient's hospital,
//! signing the exact salted hash they verified. And the report's public key carries the key-level policy
//! `AND(<lab>.peer, <hospital>.peer)`, set when it is created: validation rejects any later change, in
//! particular finalization, unless both orgs' peers endorsed it, so neither org can finalize alone.
//!
//! The report content stays in the two orgs' collection. On countersigning the contract sets the private
//! resource's `status` to `final` and republishes its salted hash; `signedHash` keeps the hash both
//! signatures attest. Administrators sign hashes: they never receive the report through the ledger.

use serde_json::Value;

use chaincode_api::{Caller, Context, ContractError};

use crate::fhir::{
    ASTM_SIGNATURE, AUTHOR_SIGNATURE, CodeableConcept, Coding, Provenance, ProvenanceAgent, Reference,
    Signature, VERIFICATION_SIGNATURE,
};
use crate::hashing::record_hash;
use crate::keys;
use crate::ledger::{LabReportInfo, ReportStatus, StoredRecord, to_json};
use crate::party;
use crate::record::{self, incoming, prepare, require_new};
use crate::store::{self, load_active_patient, load_record, now};

/// FHIR `provenance-participant-type`.
const PARTICIPANT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

fn signed(
    caller: &Caller,
    code: &str,
    display: &str,
    participant: &str,
    at: &str,
) -> (ProvenanceAgent, Signature) {
    let who = Reference::certificate(Some("Practitioner"), &caller.id, &caller.msp_id, &caller.subject);
    let org = Reference::to("Organization", &caller.msp_id);
    let agent = ProvenanceAgent {
        kind: CodeableConcept::of(Coding::new(PARTICIPANT_TYPE, participant)),
        who: who.clone(),
        on_behalf_of: org.clone(),
    };
    let signature = Signature {
        kind: vec![Coding::new(ASTM_SIGNATURE, code).shown(display)],
        when: at.to_string(),
        who,
        on_behalf_of: org,
    };
    (agent, signature)
}

/// `CreateLabReport`: a lab admin authors report `id` for patient `p`, preliminary.
pub fn create(ctx: &mut dyn Context, p: &str, id: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "CreateLabReport";
    let mut incoming = incoming(ctx, &["DiagnosticReport"], doing)?;
    match incoming.map.get("status") {
        None => {}
        Some(Value::String(s)) if s == "preliminary" => {}
        Some(other) => {
            return Err(ContractError::BadRequest(format!(
                "{doing}: a new lab report is preliminary until countersigned; got status {other}"
            )));
        }
    }
    incoming
        .map
        .insert("status".into(), Value::String("preliminary".into()));
    let caller = ctx.caller().clone();
    if !party::is_admin(&caller) {
        return Err(party::denied(
            &caller,
            "cannot author lab reports: it needs a lab administrator (NodeOU admin)",
        ));
    }
    let patient = load_active_patient(ctx, p)?;
    let (lab, hospital) = (caller.msp_id.clone(), patient.organization.clone());
    if lab == hospital {
        return Err(party::denied(
            &caller,
            format!(
                "cannot author a lab report for its own patient {p}: the lab's and the hospital's signatures must come from two orgs"
            ),
        ));
    }
    require_new(ctx, id)?;
    let mut prepared = prepare(ctx, incoming, id, p, &lab, doing)?;
    let at = now(ctx);
    let (agent, signature) = signed(&caller, AUTHOR_SIGNATURE, "Author's Signature", "author", &at);
    prepared.meta.lab_report = Some(LabReportInfo {
        hospital: hospital.clone(),
        status: ReportStatus::Preliminary,
        signed_hash: prepared.meta.hash.clone(),
        provenance: Provenance {
            resource_type: "Provenance".into(),
            target: vec![Reference::to("DiagnosticReport", id)],
            recorded: at,
            agent: vec![agent],
            signature: vec![signature],
        },
    });
    record::write(
        ctx,
        &prepared.meta,
        &prepared.stored,
        &[lab.as_str(), hospital.as_str()],
    )?;
    record::emit(ctx, &patient, &prepared, "LabReportCreated")
}

/// `SignLabReport`: an admin of the patient's hospital countersigns report `id`, whose hash they verified.
pub fn countersign(ctx: &mut dyn Context, id: &str, hash: &str) -> Result<Vec<u8>, ContractError> {
    let caller = ctx.caller().clone();
    let mut meta = load_record(ctx, id)?;
    let Some(mut lab) = meta.lab_report.take() else {
        return Err(ContractError::BadRequest(format!(
            "record {id} is not a lab report: only lab reports are countersigned"
        )));
    };
    party::require_admin_of(&caller, &lab.hospital, &format!("countersign lab report {id}"))?;
    if lab.status == ReportStatus::Final {
        return Err(ContractError::Conflict(format!(
            "lab report {id} is already final (both signatures present)"
        )));
    }
    if hash != meta.hash {
        return Err(ContractError::Conflict(format!(
            "lab report {id} has hash {}, not the {hash} you verified: check the report again before signing",
            meta.hash
        )));
    }
    load_active_patient(ctx, &meta.patient)?;
    let collection = keys::lab_collection(&meta.issuer, &lab.hospital);
    let key = keys::record(id)?;
    let mut stored: StoredRecord = store::get_private(ctx, &collection, &key)?.ok_or_else(|| {
        ContractError::Internal(format!(
            "lab report {id} is missing from collection {collection} on this peer"
        ))
    })?;
    if record_hash(&stored.salt, &stored.resource)? != meta.hash {
        return Err(ContractError::Internal(format!(
            "lab report {id} in {collection} does not match its public hash on this peer"
        )));
    }
    if let Value::Object(map) = &mut stored.resource {
        map.insert("status".into(), Value::String("final".into()));
    }
    meta.hash = record_hash(&stored.salt, &stored.resource)?;
    let at = now(ctx);
    let (agent, signature) = signed(
        &caller,
        VERIFICATION_SIGNATURE,
        "Verification Signature",
        "verifier",
        &at,
    );
    lab.provenance.agent.push(agent);
    lab.provenance.signature.push(signature);
    lab.provenance.recorded = at;
    lab.status = ReportStatus::Final;
    meta.lab_report = Some(lab);
    store::put(ctx, &key, &meta)?;
    store::put_private(ctx, &collection, &key, &stored)?;
    let out = to_json(&meta)?;
    ctx.set_event("LabReportFinalized", &out)?;
    Ok(out)
}
