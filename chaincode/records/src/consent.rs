//! Consents (FHIR R4 `Consent`): granted and revoked by the patient or a delegate, read by anyone, with
//! their full history.
//!
//! A consent is public: it names the patient by pseudonym, the recipient by organization or certificate id,
//! and codes (actions, purposes, record categories) and a period, so the access decision in `RequestAccess`
//! can be made on any peer from committed state. Only the patient's controllers can change it, checked two
//! ways: the caller proves the binding (`party`), and the ledger itself requires the patient's hospital's
//! peers: granting writes the patient's registry entry and revoking writes the consent, and both keys carry
//! the key-level policy "a peer of the registering hospital". A rogue peer of another org therefore cannot
//! fabricate or cancel a consent. Revoking sets `status: inactive` and never deletes, so `ConsentHistory`
//! shows every version with its transaction.
//!
//! A consent whose purposes include `HRESCH` (research) also needs the patient's research token as transient
//! `research`; it is stored in the hospital's collection, and from then on every record written for this
//! patient, in a category the consent covers, emits a de-identified event (`deid`). Revoking a research
//! consent adds that token to `ConsentRevoked` (`researchToken`), so the off-chain analytics store can drop
//! the patient's de-identified entries.

use serde::Serialize;
use serde_json::json;

use chaincode_api::{Context, ContractError};

use crate::fhir::{
    COMMITMENT_SYSTEM, CONSENT_SCOPE, CodeableConcept, Coding, Consent, ConsentStatus, Identifier,
    PARTICIPATION, Provision, Reference,
};
use crate::ids::instant;
use crate::keys;
use crate::ledger::{ControllerKind, PatientRecord, ResearchEntry, to_json};
use crate::party;
use crate::patient::{research_token, store_token};
use crate::policy::RESEARCH;
use crate::store::{self, load_active_patient, load_consent, load_patient, now, save_patient};

/// LOINC code of a patient consent document (`Consent.category`).
pub const LOINC_PATIENT_CONSENT: &str = "59284-0";

/// `GrantConsent`: the patient or a delegate grants consent `id` with `provision`.
pub fn grant(
    ctx: &mut dyn Context,
    p: &str,
    id: &str,
    provision: Provision,
) -> Result<Vec<u8>, ContractError> {
    let doing = "grant a consent";
    let salts = party::bindings(ctx, doing)?;
    let research = provision.purpose.iter().any(|c| c.code == RESEARCH);
    let token = match research {
        true => Some(research_token(ctx, "GrantConsent (research purpose HRESCH)")?),
        false => None,
    };
    let caller = ctx.caller().clone();
    let mut patient = load_active_patient(ctx, p)?;
    let (kind, commitment) = party::prove(&caller, &patient, &salts, doing)?;
    let key = keys::consent(id)?;
    if ctx.get_state(&key)?.is_some() {
        return Err(ContractError::Conflict(format!("consent {id} already exists")));
    }
    let performer = match kind {
        ControllerKind::Patient => Reference::to("Patient", p),
        ControllerKind::Delegate => Reference {
            kind: Some("RelatedPerson".into()),
            identifier: Some(Identifier {
                system: COMMITMENT_SYSTEM.into(),
                value: commitment,
                assigner: None,
            }),
            ..Reference::default()
        },
    };
    let consent = build(id, &patient, performer, provision, now(ctx));
    store::put(ctx, &key, &consent)?;
    ctx.set_key_endorsement(&key, Some(&store::peers_of([patient.organization.as_str()])?))?;
    ctx.put_state(&keys::key(keys::CONSENT_BY_PATIENT, &[p, id])?, id.as_bytes())?;
    patient.updated = consent.date_time.clone();
    save_patient(ctx, &patient)?;
    if let Some(token) = token {
        store_token(ctx, &patient, &token)?;
    }
    let out = to_json(&consent)?;
    ctx.set_event("ConsentGranted", &out)?;
    Ok(out)
}

/// The FHIR Consent: scope `research` when HRESCH is the only purpose, else `patient-privacy`; actors
/// without a role get `IRCP` (information recipient).
fn build(
    id: &str,
    patient: &PatientRecord,
    performer: Reference,
    mut provision: Provision,
    at: String,
) -> Consent {
    for actor in &mut provision.actor {
        actor
            .role
            .get_or_insert_with(|| CodeableConcept::of(Coding::new(PARTICIPATION, "IRCP")));
    }
    let only_research = provision.purpose.iter().all(|c| c.code == RESEARCH);
    let scope = if only_research {
        "research"
    } else {
        "patient-privacy"
    };
    Consent {
        resource_type: "Consent".into(),
        id: id.to_string(),
        status: ConsentStatus::Active,
        scope: CodeableConcept::of(Coding::new(CONSENT_SCOPE, scope)),
        category: vec![CodeableConcept::of(Coding::new(
            "http://loinc.org",
            LOINC_PATIENT_CONSENT,
        ))],
        patient: Reference::to("Patient", &patient.pseudonym),
        date_time: at,
        performer: vec![performer],
        organization: vec![Reference::to("Organization", &patient.organization)],
        policy_rule: CodeableConcept::of(Coding::new(
            "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "OPTIN",
        )),
        provision,
    }
}

/// `RevokeConsent`: the patient or a delegate makes consent `id` inactive.
pub fn revoke(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    let doing = "revoke a consent";
    let salts = party::bindings(ctx, doing)?;
    let caller = ctx.caller().clone();
    let mut consent = load_consent(ctx, id)?;
    let p = patient_of(&consent)?;
    let patient = load_active_patient(ctx, &p)?;
    party::prove(&caller, &patient, &salts, doing)?;
    if consent.status == ConsentStatus::Inactive {
        return Err(ContractError::Conflict(format!(
            "consent {id} is already inactive"
        )));
    }
    consent.status = ConsentStatus::Inactive;
    store::put(ctx, &keys::consent(id)?, &consent)?;
    let out = to_json(&consent)?;
    let mut event = json!({"id": id, "patient": p, "status": "inactive"});
    if let Some(token) = revoked_research_token(ctx, &consent, &patient)? {
        event["researchToken"] = json!(token);
    }
    ctx.set_event("ConsentRevoked", &to_json(&event)?)?;
    Ok(out)
}

/// The research token stored at the patient's hospital when `consent` is a research consent, so the
/// analytics store can drop the patient's de-identified entries (`DeidentifiedEntry` carries only the
/// token). The event already shares its transaction with the pseudonym, like a `DeidentifiedEntry`.
fn revoked_research_token(
    ctx: &mut dyn Context,
    consent: &Consent,
    patient: &PatientRecord,
) -> Result<Option<String>, ContractError> {
    if !consent.provision.purpose.iter().any(|c| c.code == RESEARCH) {
        return Ok(None);
    }
    let collection = keys::records_collection(&patient.organization);
    let entry: Option<ResearchEntry> =
        store::get_private(ctx, &collection, &keys::research(&patient.pseudonym)?)?;
    Ok(entry.map(|e| e.token))
}

fn patient_of(consent: &Consent) -> Result<String, ContractError> {
    consent
        .patient
        .id_of("Patient")
        .map(str::to_string)
        .ok_or_else(|| {
            ContractError::Internal(format!("consent {} names no Patient/<pseudonym>", consent.id))
        })
}

/// `ReadConsent`.
pub fn read(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    to_json(&load_consent(ctx, id)?)
}

/// `ListConsents`: every consent under the pseudonym and its linked registrations.
pub fn list(ctx: &mut dyn Context, p: &str) -> Result<Vec<u8>, ContractError> {
    let patient = load_patient(ctx, p)?;
    let group = store::active_group(ctx, &patient)?;
    to_json(&store::group_consents(ctx, &group)?)
}

/// One committed version of a consent (field names of Fabric's ledger-queries sample).
#[derive(Serialize)]
struct HistoryEntry {
    #[serde(rename = "txId")]
    tx_id: String,
    timestamp: String,
    #[serde(rename = "isDelete")]
    is_delete: bool,
    consent: Option<Consent>,
}

/// `ConsentHistory`: every committed version, newest first.
pub fn history(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    load_consent(ctx, id)?;
    let key = keys::consent(id)?;
    let entries = ctx
        .get_history_for_key(&key)?
        .into_iter()
        .map(|m| {
            let consent = if m.is_delete {
                None
            } else {
                Some(store::parse(&m.value, &key, "history")?)
            };
            Ok(HistoryEntry {
                tx_id: m.tx_id,
                timestamp: instant(m.timestamp),
                is_delete: m.is_delete,
                consent,
            })
        })
        .collect::<Result<Vec<_>, ContractError>>()?;
    to_json(&entries)
}
