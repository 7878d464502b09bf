//! What the contract stores: the public ledger objects (every peer holds them) and the private entries
//! (only the member peers of a collection hold them; the block carries their hashes).
//!
//! Public objects are written in the endorse step and applied after validation by every peer, so they hold
//! pseudonyms, codes, years, MSP ids, hashes and commitments only. Everything that identifies or describes a
//! person clinically lives in a private entry whose value includes at least one 256-bit secret (a salt), so
//! its on-chain hash cannot be matched against guesses.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use chaincode_api::ContractError;

use crate::fhir::Provenance;
use crate::keys;

/// `active`, or `erased` after the patient's data was purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatientStatus {
    /// Registered and in use.
    Active,
    /// Private data purged; only this record, record hashes, consents and audit entries remain.
    Erased,
}

/// Who a binding commitment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControllerKind {
    /// The patient's own certificate (bound at registration by the hospital).
    Patient,
    /// A delegate the patient named (may grant, revoke and list accesses).
    Delegate,
}

/// One certificate allowed to act for a patient, as a salted commitment `SHA-256(salt ‖ certificate id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Controller {
    /// Patient or delegate.
    pub kind: ControllerKind,
    /// Hex SHA-256 commitment; the salt is held by the certificate's owner.
    pub commitment: String,
    /// When it was added.
    pub added: String,
}

/// The public registry entry of a pseudonym (key `patient/<P>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatientRecord {
    /// Random pseudonym chosen by the registering client.
    pub pseudonym: String,
    /// The registering hospital's MSP id; its collection `records_<MSP>` holds the patient's data.
    pub organization: String,
    /// active | erased.
    pub status: PatientStatus,
    /// Certificates that may act for the patient, as commitments.
    pub controllers: Vec<Controller>,
    /// Other pseudonyms of the same patient (registrations at other hospitals), linked by the patient.
    pub linked: Vec<String>,
    /// Registration time.
    pub registered: String,
    /// Last change (consents touch it so the hospital's peers must endorse them).
    pub updated: String,
    /// When the patient asked for erasure, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure_requested: Option<String>,
    /// When the data was purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<String>,
}

/// preliminary → final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    /// Signed by the lab admin only.
    Preliminary,
    /// Countersigned by the hospital admin.
    Final,
}

/// The public part of a lab report beyond ordinary record metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabReportInfo {
    /// The patient's hospital (second member of the report's collection, the countersigner's org).
    pub hospital: String,
    /// preliminary | final.
    pub status: ReportStatus,
    /// The salted hash of the preliminary report both signatures attest.
    pub signed_hash: String,
    /// Signatures so far.
    pub provenance: Provenance,
}

/// Public metadata of a record (key `record/<id>`): exactly what the ledger may know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordMeta {
    /// Client-chosen random id.
    pub id: String,
    /// Patient pseudonym.
    pub patient: String,
    /// Category code (e.g. `laboratory`, `vital-signs`, `LAB`).
    pub category: String,
    /// Year of the clinical date.
    pub year: i64,
    /// Issuing org (the hospital, or the lab for a lab report).
    pub issuer: String,
    /// Hex `SHA-256(salt ‖ canonical JSON)` of the private resource.
    pub hash: String,
    /// Present for dual-signed lab reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab_report: Option<LabReportInfo>,
}

impl RecordMeta {
    /// The collection holding the record's content (and grants to it).
    pub fn collection(&self) -> String {
        match &self.lab_report {
            Some(lab) => keys::lab_collection(&self.issuer, &lab.hospital),
            None => keys::records_collection(&self.issuer),
        }
    }
}

/// A record's private value: the salt next to the resource, so purging one purges both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredRecord {
    /// 64 hex digits.
    pub salt: String,
    /// The FHIR resource, with `id` and `subject` set by the contract.
    pub resource: Value,
}

/// A patient's private entry at the registering hospital: demographics and the certificate link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatientEntry {
    /// FHIR Patient (demographics).
    pub resource: Value,
    /// The patient's certificate id.
    pub cert_id: String,
    /// Salt of the public commitment (also given to the patient).
    pub binding_salt: String,
}

/// A patient's research token at one hospital (private).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResearchEntry {
    /// 32 hex digits, random, chosen by the patient's client.
    pub token: String,
}

/// An access grant (private, in the record's collection): written only when RequestAccess allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grant {
    /// Derived from the transaction id.
    pub id: String,
    /// Certificate id of the requester: only they may use it.
    pub who: String,
    /// Requester's org.
    pub organization: String,
    /// Records it discloses.
    pub records: Vec<String>,
    /// Pseudonym of the records' patient.
    pub patient: String,
    /// Purpose stated.
    pub purpose: String,
    /// The AuditEvent recorded with it.
    pub audit: String,
    /// Valid from (transaction time).
    pub issued: String,
    /// Valid until (inclusive).
    pub expires: String,
}

/// JSON of a value the contract built; `Internal` if it cannot be serialized.
pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ContractError> {
    serde_json::to_vec(value).map_err(|e| ContractError::Internal(format!("cannot serialize a result: {e}")))
}
