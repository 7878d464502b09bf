//! Audited access: audit before disclosure.
//!
//! Whatever a *submitted* transaction returns or emits ends up in the block, so PHI is never returned by a
//! submit. Access therefore takes two steps:
//!
//! 1. **`RequestAccess`** (submit) decides from committed consents (`policy`) and always writes a FHIR
//!    `AuditEvent`: outcome `0` and `agent.policy` = the authorising consents when allowed, outcome `8` with
//!    the reason when denied (administrators, non-practitioners, no consent, revoked or expired consent). A
//!    denial is a *successful* transaction (status 200, `"decision": "deny"`), because a failed one would
//!    write nothing. When allowed it also writes a grant `{id, who, records, purpose, issued, expires}`
//!    (valid [`GRANT_SECONDS`] from the transaction time) into the records' own collection: that write needs
//!    the collection's endorsement policy, i.e. a peer of the org holding the records must have run this
//!    decision, and no other org can mint a grant. The response holds ids and the decision only.
//! 2. **`ReadRecord`** (evaluate only, never submit) runs on a peer of the records' collection and discloses
//!    the resource only if the committed grant was issued to this caller's certificate id, covers the record
//!    and is valid at the proposal's timestamp. It writes nothing. An evaluate cannot consume the grant, so it
//!    can be used repeatedly until it expires; each such read is covered by the one audit event.
//!
//! Every audit event is indexed twice: under the patient's pseudonym (the patient's access list, denied
//! attempts included) and under the requester's MSP id (the compliance officer's list).

use serde::Serialize;
use serde_json::json;

use chaincode_api::{Caller, Context, ContractError, Timestamp};

use crate::fhir::{
    ACT_REASON, AuditAgent, AuditEntity, AuditEvent, AuditSource, CodeableConcept, Coding, Identifier,
    Reference,
};
use crate::hashing::record_hash;
use crate::ids::{derive_id, hex, instant};
use crate::keys;
use crate::ledger::{Grant, PatientRecord, RecordMeta, StoredRecord, to_json};
use crate::party::{self, ROLE_ATTR};
use crate::policy::{self, ACCESS, Decision, Request};
use crate::store::{self, load_active_patient, load_patient, load_record, now};

/// How long a grant stays usable: 15 minutes from the RequestAccess transaction's timestamp.
pub const GRANT_SECONDS: i64 = 15 * 60;
/// Identifier system of record ids in audit entities.
pub const RECORD_ID_SYSTEM: &str = "urn:carechain:record-id";

/// What `RequestAccess` returns: ids and the decision, never PHI.
#[derive(Serialize)]
struct Answer {
    decision: &'static str,
    audit: String,
    outcome: String,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<String>,
}

/// `RequestAccess`: decide, audit, and grant when allowed.
pub fn request(ctx: &mut dyn Context, records: &[String], purpose: &str) -> Result<Vec<u8>, ContractError> {
    let caller = ctx.caller().clone();
    let metas = load_same_collection(ctx, records)?;
    let (p, collection) = (metas[0].patient.clone(), metas[0].collection());
    let patient = load_active_patient(ctx, &p)?;
    let decision = decide(ctx, &caller, &patient, &metas, purpose)?;
    let tx_id = ctx.tx().tx_id.clone();
    let audit = audit_event(
        ctx,
        &caller,
        &p,
        &metas,
        purpose,
        &decision,
        &derive_id("audit", &tx_id),
    );
    let json = write_audit(ctx, &audit, &p, &caller.msp_id)?;
    let mut answer = Answer {
        decision: "deny",
        audit: audit.id.clone(),
        outcome: audit.outcome.clone(),
        reason: audit.outcome_desc.clone(),
        grant: None,
        expires: None,
    };
    if let Decision::Permit(_) = decision {
        let ts = ctx.tx().timestamp;
        let grant = Grant {
            id: derive_id("grant", &tx_id),
            who: caller.id.clone(),
            organization: caller.msp_id.clone(),
            records: records.to_vec(),
            patient: p,
            purpose: purpose.to_string(),
            audit: audit.id.clone(),
            issued: instant(ts),
            expires: instant(Timestamp::new(ts.seconds.saturating_add(GRANT_SECONDS), ts.nanos)),
        };
        store::put_private(ctx, &collection, &keys::grant(&grant.id)?, &grant)?;
        answer.decision = "permit";
        answer.grant = Some(grant.id);
        answer.expires = Some(grant.expires);
    }
    ctx.set_event("AccessAudited", &json)?;
    to_json(&answer)
}

/// The records' metadata; `BadRequest` unless they share one patient and one collection (one grant, one
/// endorsing org).
fn load_same_collection(ctx: &mut dyn Context, records: &[String]) -> Result<Vec<RecordMeta>, ContractError> {
    let mut metas = Vec::with_capacity(records.len());
    for id in records {
        metas.push(load_record(ctx, id)?);
    }
    let (first, collection) = (&metas[0], metas[0].collection());
    if let Some(odd) = metas
        .iter()
        .find(|m| m.patient != first.patient || m.collection() != collection)
    {
        return Err(ContractError::BadRequest(format!(
            "RequestAccess: record {} belongs to another patient or collection than record {}; request them separately",
            odd.id, first.id
        )));
    }
    Ok(metas)
}

/// Writes the audit event and its two index entries; returns its JSON.
fn write_audit(
    ctx: &mut dyn Context,
    audit: &AuditEvent,
    p: &str,
    org: &str,
) -> Result<Vec<u8>, ContractError> {
    let json = to_json(audit)?;
    let at = audit.recorded.as_str();
    ctx.put_state(&keys::key(keys::AUDIT, &[&audit.id])?, &json)?;
    ctx.put_state(&keys::key(keys::AUDIT_BY_PATIENT, &[p, at, &audit.id])?, &json)?;
    ctx.put_state(&keys::key(keys::AUDIT_BY_ORG, &[org, at, &audit.id])?, &json)?;
    Ok(json)
}

fn decide(
    ctx: &mut dyn Context,
    caller: &Caller,
    patient: &PatientRecord,
    metas: &[RecordMeta],
    purpose: &str,
) -> Result<Decision, ContractError> {
    if party::is_admin(caller) {
        return Ok(Decision::Deny(format!(
            "the requester is an administrator (NodeOU admin) of {}: administrators never receive PHI",
            caller.msp_id
        )));
    }
    if !party::is_practitioner(caller) {
        let role = caller.attr(ROLE_ATTR).unwrap_or("(none)");
        return Ok(Decision::Deny(format!(
            "the requester's role attribute is {role}: only practitioners (role=doctor or role=nurse) receive records"
        )));
    }
    let group = store::active_group(ctx, patient)?;
    let consents = store::group_consents(ctx, &group)?;
    let mut used: Vec<String> = Vec::new();
    for meta in metas {
        let request = Request {
            actor: Some(caller),
            action: ACCESS,
            purpose,
            category: &meta.category,
            now: ctx.tx().timestamp.seconds,
        };
        match policy::decide(&consents, &request) {
            Decision::Deny(why) => return Ok(Decision::Deny(format!("record {}: {why}", meta.id))),
            Decision::Permit(ids) => {
                for id in ids {
                    if !used.contains(&id) {
                        used.push(id);
                    }
                }
            }
        }
    }
    Ok(Decision::Permit(used))
}

fn concept(system: &str, code: &str) -> CodeableConcept {
    CodeableConcept::of(Coding::new(system, code))
}

fn audit_event(
    ctx: &dyn Context,
    caller: &Caller,
    p: &str,
    metas: &[RecordMeta],
    purpose: &str,
    decision: &Decision,
    id: &str,
) -> AuditEvent {
    let (outcome, desc, policy) = match decision {
        Decision::Permit(ids) => (
            "0",
            format!(
                "permitted by {}",
                ids.iter()
                    .map(|i| format!("Consent/{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ids.iter().map(|i| format!("Consent/{i}")).collect(),
        ),
        Decision::Deny(why) => ("8", format!("denied: {why}"), Vec::new()),
    };
    let mut role = vec![concept("urn:carechain:nodeou", caller.role.as_str())];
    if let Some(r) = caller.attr(ROLE_ATTR) {
        role.push(concept("urn:carechain:role-attribute", r));
    }
    let kind = party::is_practitioner(caller).then_some("Practitioner");
    let entity = entities(p, metas);
    AuditEvent {
        resource_type: "AuditEvent".into(),
        id: id.to_string(),
        kind: Coding::new("http://dicom.nema.org/resources/ontology/DCM", "110110").shown("Patient Record"),
        subtype: vec![Coding::new("http://hl7.org/fhir/restful-interaction", "read")],
        action: "R".into(),
        recorded: now(ctx),
        outcome: outcome.into(),
        outcome_desc: desc,
        purpose_of_event: vec![concept(ACT_REASON, purpose)],
        agent: vec![AuditAgent {
            role,
            who: Reference::certificate(kind, &caller.id, &caller.msp_id, &caller.subject),
            requestor: true,
            policy,
            purpose_of_use: vec![concept(ACT_REASON, purpose)],
        }],
        source: AuditSource {
            site: ctx.tx().channel_id.clone(),
            observer: Reference {
                kind: Some("Device".into()),
                display: Some(format!("chaincode {}", crate::CHAINCODE_NAME)),
                ..Reference::default()
            },
        },
        entity,
    }
}

/// `entity[]`: each record (System Object, Domain Resource) by id, then the patient (Person, Patient).
fn entities(p: &str, metas: &[RecordMeta]) -> Vec<AuditEntity> {
    const TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
    const ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
    let record = |m: &RecordMeta| AuditEntity {
        what: Reference {
            identifier: Some(Identifier {
                system: RECORD_ID_SYSTEM.into(),
                value: m.id.clone(),
                assigner: None,
            }),
            ..Reference::default()
        },
        kind: Coding::new(TYPE, "2").shown("System Object"),
        role: Coding::new(ROLE, "4").shown("Domain Resource"),
    };
    let mut entity: Vec<AuditEntity> = metas.iter().map(record).collect();
    entity.push(AuditEntity {
        what: Reference::to("Patient", p),
        kind: Coding::new(TYPE, "1").shown("Person"),
        role: Coding::new(ROLE, "1").shown("Patient"),
    });
    entity
}

/// `ReadRecord` (evaluate only): the record's resource, for the holder of a valid committed grant.
pub fn read(ctx: &mut dyn Context, grant_id: &str, record_id: &str) -> Result<Vec<u8>, ContractError> {
    let caller = ctx.caller().clone();
    if party::is_admin(&caller) {
        return Err(party::denied(
            &caller,
            "is an administrator (NodeOU admin): administrators never receive PHI",
        ));
    }
    let meta = load_record(ctx, record_id)?;
    load_active_patient(ctx, &meta.patient)?;
    let collection = meta.collection();
    let grant: Grant = store::get_private(ctx, &collection, &keys::grant(grant_id)?)?.ok_or_else(|| {
        ContractError::NotFound(format!(
            "grant {grant_id} does not exist in collection {collection}: use the id RequestAccess returned once its \
             transaction has committed, and evaluate on a peer of an org of {collection}"
        ))
    })?;
    if grant.who != caller.id {
        return Err(party::denied(
            &caller,
            format!("cannot use grant {grant_id}: it was issued to another identity"),
        ));
    }
    if !grant.records.iter().any(|r| r == record_id) {
        return Err(party::denied(
            &caller,
            format!("cannot read record {record_id} with grant {grant_id}: it covers other records"),
        ));
    }
    let at = now(ctx);
    if at < grant.issued || at > grant.expires {
        return Err(party::denied(
            &caller,
            format!(
                "cannot use grant {grant_id} at {at}: it is valid from {} to {}; request access again",
                grant.issued, grant.expires
            ),
        ));
    }
    let stored: StoredRecord =
        store::get_private(ctx, &collection, &keys::record(record_id)?)?.ok_or_else(|| {
            ContractError::NotFound(format!(
                "record {record_id} has no content in {collection} (purged)"
            ))
        })?;
    let hash = record_hash(&stored.salt, &stored.resource)?;
    if hash != meta.hash {
        return Err(ContractError::Internal(format!(
            "record {record_id} in {collection} does not match its public hash on this peer"
        )));
    }
    to_json(&json!({
        "record": meta,
        "resource": stored.resource,
        "salt": stored.salt,
        "hash": hash,
        "grant": grant.id,
        "audit": grant.audit,
    }))
}

/// `ListAccesses`: every audit event about the patient's data (linked registrations included, denied
/// attempts included), oldest first. For the patient or a delegate.
pub fn list_for_patient(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "list accesses to the patient's data";
    let salts = party::bindings(ctx, doing)?;
    let caller = ctx.caller().clone();
    let patient = load_patient(ctx, p)?;
    party::prove(&caller, &patient, &salts, doing)?;
    let mut events: Vec<AuditEvent> = Vec::new();
    for pseudonym in std::iter::once(p).chain(patient.linked.iter().map(String::as_str)) {
        for (key, value) in store::index_values(ctx, keys::AUDIT_BY_PATIENT, &[pseudonym])? {
            events.push(store::parse(&value, &key, "audit index")?);
        }
    }
    events.sort_by(|a, b| (&a.recorded, &a.id).cmp(&(&b.recorded, &b.id)));
    to_json(&json!({"patient": p, "accesses": events}))
}

/// `ListAccessesByOrg`: a page of audit events whose requester belongs to the compliance officer's org,
/// oldest first; `bookmark` (hex) continues.
pub fn list_for_org(ctx: &mut dyn Context, page_size: u32, bookmark: &str) -> Result<Vec<u8>, ContractError> {
    let caller = ctx.caller().clone();
    party::require_compliance(&caller)?;
    let start = keys::key(keys::AUDIT_BY_ORG, &[&caller.msp_id])?;
    let mut end = start.clone();
    end.push(keys::RANGE_END);
    let inside = bookmark >= start.as_str() && bookmark < end.as_str();
    if !bookmark.is_empty() && !inside {
        return Err(ContractError::BadRequest(format!(
            "ListAccessesByOrg: the bookmark belongs to another organization's list, not {}",
            caller.msp_id
        )));
    }
    let page = ctx.get_state_by_range(&start, &end, page_size, bookmark)?;
    let events = page
        .items
        .iter()
        .map(|(key, value)| store::parse::<AuditEvent>(value, key, "audit index"))
        .collect::<Result<Vec<_>, _>>()?;
    to_json(&json!({
        "organization": caller.msp_id,
        "accesses": events,
        "bookmark": hex(page.bookmark.as_bytes()),
    }))
}
