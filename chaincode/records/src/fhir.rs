//! FHIR R4 shapes the contract writes to the shared ledger: `Consent`, `AuditEvent` and `Provenance`, plus
//! the data types they share.
//!
//! These are public (every peer of the channel holds them after validation), so they carry pseudonyms, MSP
//! ids, practitioner certificate ids, codes and instants, never PHI. Element names are R4's verbatim
//! (`provision.actor[].reference`, `agent.who`, `agent.policy`, `entity.what`, `signature.type`), hand-written
//! as small serde structs as the domain research recommends. The clinical resources themselves (Patient,
//! Observation, DiagnosticReport, DocumentReference) are kept as client-supplied JSON in private collections
//! and only inspected (`record`).

use serde::{Deserialize, Serialize};

/// Identifier system of a practitioner's certificate id (`Caller::id`, stable across re-enrolment).
pub const CERT_ID_SYSTEM: &str = "urn:carechain:x509-id";
/// Identifier system of a binding commitment (how a delegate appears as a consent performer).
pub const COMMITMENT_SYSTEM: &str = "urn:carechain:binding-commitment";
/// FHIR `v3-ActReason` (purposes of use).
pub const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
/// FHIR `consentaction`.
pub const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
/// FHIR `consentscope`.
pub const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
/// FHIR `v3-ParticipationType` (consent actor roles).
pub const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// ASTM E1762 signature types, as FHIR's `signature-type` value set codes them.
pub const ASTM_SIGNATURE: &str = "urn:iso-astm:E1762-95:2013";
/// ASTM author's signature (the lab admin).
pub const AUTHOR_SIGNATURE: &str = "1.2.840.10065.1.12.1.1";
/// ASTM verification signature (the hospital admin's countersignature).
pub const VERIFICATION_SIGNATURE: &str = "1.2.840.10065.1.12.1.5";

/// A code from a code system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coding {
    /// Code system URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The code.
    pub code: String,
    /// Human-readable text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    /// `code` from `system`.
    pub fn new(system: &str, code: &str) -> Coding {
        Coding {
            system: Some(system.to_string()),
            code: code.to_string(),
            display: None,
        }
    }

    /// With a display text.
    pub fn shown(mut self, display: &str) -> Coding {
        self.display = Some(display.to_string());
        self
    }
}

/// Codes with optional text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeableConcept {
    /// Codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    /// Plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    /// One coding.
    pub fn of(coding: Coding) -> CodeableConcept {
        CodeableConcept {
            coding: vec![coding],
            text: None,
        }
    }

    /// Whether any coding has `code`.
    pub fn has(&self, code: &str) -> bool {
        self.coding.iter().any(|c| c.code == code)
    }
}

/// `Identifier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// Namespace of the value.
    pub system: String,
    /// The value.
    pub value: String,
    /// Organization that issued it (for a certificate id: the MSP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigner: Option<Box<Reference>>,
}

/// `Reference`: literal (`"Type/id"`) or by identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// `"Patient/<pseudonym>"`, `"Organization/<MSP id>"`, `"Consent/<id>"`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Resource type when referring by identifier (`"Practitioner"`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Logical reference by identifier (a practitioner's certificate id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    /// Text alternative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    /// `"{kind}/{id}"`.
    pub fn to(kind: &str, id: &str) -> Reference {
        Reference {
            reference: Some(format!("{kind}/{id}")),
            ..Reference::default()
        }
    }

    /// A person by certificate id (`system` [`CERT_ID_SYSTEM`]), issued by `msp`, shown as `subject`;
    /// `kind` is the resource type when known (`Practitioner`).
    pub fn certificate(kind: Option<&str>, cert_id: &str, msp: &str, subject: &str) -> Reference {
        Reference {
            reference: None,
            kind: kind.map(str::to_string),
            identifier: Some(Identifier {
                system: CERT_ID_SYSTEM.to_string(),
                value: cert_id.to_string(),
                assigner: Some(Box::new(Reference::to("Organization", msp))),
            }),
            display: Some(subject.to_string()),
        }
    }

    /// The id in a literal reference of `kind` (`"Organization/X"` → `X`).
    pub fn id_of(&self, kind: &str) -> Option<&str> {
        self.reference.as_deref()?.strip_prefix(kind)?.strip_prefix('/')
    }

    /// The certificate id of a reference by [`CERT_ID_SYSTEM`] identifier.
    pub fn cert_id(&self) -> Option<&str> {
        let id = self.identifier.as_ref()?;
        (id.system == CERT_ID_SYSTEM).then_some(id.value.as_str())
    }
}

/// `Period`: FHIR `dateTime` bounds, both inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// First instant covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Last instant covered (open-ended when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// `Consent.status` values the contract uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentStatus {
    /// In force.
    Active,
    /// Revoked (FHIR: set `inactive`, never delete).
    Inactive,
}

/// `Consent.provision.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvisionType {
    /// Allow what the provision describes.
    Permit,
    /// Forbid it (wins over any permit).
    Deny,
}

/// `Consent.provision.actor[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionActor {
    /// Participation role (`IRCP` information recipient by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<CodeableConcept>,
    /// `Organization/<MSP id>` or a practitioner by certificate id.
    pub reference: Reference,
}

/// `Consent.provision` (and its nested exceptions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    /// permit | deny.
    #[serde(rename = "type")]
    pub kind: ProvisionType,
    /// When the rule applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Who the rule is about; empty = everyone (nested rules only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actor: Vec<ProvisionActor>,
    /// `consentaction` codes: collect | access | use | disclose | correct.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action: Vec<CodeableConcept>,
    /// `v3-ActReason` purposes (TREAT, HPAYMT, HRESCH, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purpose: Vec<Coding>,
    /// Record categories covered (the category codes on the ledger); empty = every category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class: Vec<Coding>,
    /// Exceptions; the contract accepts nested `deny` rules under a `permit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provision: Vec<Provision>,
}

/// FHIR R4 `Consent` as stored on the ledger (public).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Consent {
    /// Always `"Consent"`.
    pub resource_type: String,
    /// Client-chosen random id (32 hex).
    pub id: String,
    /// active | inactive.
    pub status: ConsentStatus,
    /// `patient-privacy`, or `research` when the only purpose is HRESCH.
    pub scope: CodeableConcept,
    /// LOINC 59284-0 (patient consent).
    pub category: Vec<CodeableConcept>,
    /// `Patient/<pseudonym>`.
    pub patient: Reference,
    /// When it was granted (transaction time).
    pub date_time: String,
    /// Who granted it: the patient, or a delegate by binding commitment.
    pub performer: Vec<Reference>,
    /// Custodian: the registering hospital.
    pub organization: Vec<Reference>,
    /// `OPTIN`.
    pub policy_rule: CodeableConcept,
    /// The rule.
    pub provision: Provision,
}

/// `AuditEvent.agent[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditAgent {
    /// Roles from the certificate: NodeOU and `role` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role: Vec<CodeableConcept>,
    /// The requesting identity, by certificate id.
    pub who: Reference,
    /// Always true: the agent asked.
    pub requestor: bool,
    /// `Consent/<id>` of every consent that authorised the access (empty when denied).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<String>,
    /// Purpose the agent stated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purpose_of_use: Vec<CodeableConcept>,
}

/// `AuditEvent.source`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSource {
    /// The channel.
    pub site: String,
    /// The chaincode that decided.
    pub observer: Reference,
}

/// `AuditEvent.entity[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntity {
    /// The record (`<ResourceType>/<record id>` is not public, so `Record/<id>`) or `Patient/<pseudonym>`.
    pub what: Reference,
    /// `audit-entity-type`: 1 Person, 2 System Object.
    #[serde(rename = "type")]
    pub kind: Coding,
    /// `object-role`: 1 Patient, 4 Domain Resource.
    pub role: Coding,
}

/// FHIR R4 `AuditEvent` (public): one per access request, allowed or denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditEvent {
    /// Always `"AuditEvent"`.
    pub resource_type: String,
    /// Derived from the transaction id.
    pub id: String,
    /// DICOM 110110 Patient Record.
    #[serde(rename = "type")]
    pub kind: Coding,
    /// `restful-interaction#read`.
    pub subtype: Vec<Coding>,
    /// `R` (read).
    pub action: String,
    /// Transaction time.
    pub recorded: String,
    /// `0` success, `8` serious failure (denied).
    pub outcome: String,
    /// Why it was denied, or which consent allowed it.
    pub outcome_desc: String,
    /// Purpose requested.
    pub purpose_of_event: Vec<CodeableConcept>,
    /// The requester.
    pub agent: Vec<AuditAgent>,
    /// Where it was decided.
    pub source: AuditSource,
    /// The records and the patient.
    pub entity: Vec<AuditEntity>,
}

/// `Provenance.signature[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signature {
    /// ASTM E1762 signature type.
    #[serde(rename = "type")]
    pub kind: Vec<Coding>,
    /// Transaction time of the signing transaction.
    pub when: String,
    /// The signer, by certificate id.
    pub who: Reference,
    /// The signer's organization.
    pub on_behalf_of: Reference,
}

/// `Provenance.agent[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvenanceAgent {
    /// `provenance-participant-type`: author | verifier.
    #[serde(rename = "type")]
    pub kind: CodeableConcept,
    /// The signer.
    pub who: Reference,
    /// The signer's organization.
    pub on_behalf_of: Reference,
}

/// FHIR R4 `Provenance` of a lab report (public): who signed, as what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    /// Always `"Provenance"`.
    pub resource_type: String,
    /// `DiagnosticReport/<report id>`.
    pub target: Vec<Reference>,
    /// Time of the latest signature.
    pub recorded: String,
    /// Author and verifier.
    pub agent: Vec<ProvenanceAgent>,
    /// Author's and verification signatures.
    pub signature: Vec<Signature>,
}
