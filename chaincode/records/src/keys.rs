//! Every key the contract reads or writes, public and private, and the private data collection names.
//!
//! Public keys are Fabric composite keys, each with a primary object and secondary indexes written in the
//! same transaction (so an index never disagrees with its object once committed). Private keys are hashed
//! into the block, so a private key must not be guessable from an identifier. Ours contain only pseudonyms,
//! client-chosen random ids and transaction-derived ids, which are public anyway.
//!
//! | key | where | value |
//! |---|---|---|
//! | `patient/<P>` | public | [`crate::ledger::PatientRecord`] (key-level policy: the hospital's peers) |
//! | `record/<id>` | public | [`crate::ledger::RecordMeta`] (key-level policy: issuer, and hospital for lab reports) |
//! | `record~patient/<P>/<id>` | public | record id |
//! | `consent/<id>` | public | FHIR `Consent` (key-level policy: the hospital's peers) |
//! | `consent~patient/<P>/<id>` | public | consent id |
//! | `audit/<id>` | public | FHIR `AuditEvent` |
//! | `audit~patient/<P>/<instant>/<id>` | public | FHIR `AuditEvent` (patient's access list) |
//! | `audit~org/<MSP>/<instant>/<id>` | public | FHIR `AuditEvent` (compliance list of the requester's org) |
//! | `patient/<P>` | `records_<H>` | [`crate::ledger::PatientEntry`]: FHIR Patient + certificate link + binding salt |
//! | `research/<P>` | `records_<H>` | [`crate::ledger::ResearchEntry`]: research token |
//! | `record/<id>` | `records_<H>` or `labreports_<L>_<H>` | [`crate::ledger::StoredRecord`]: FHIR resource + salt |
//! | `grant/<id>` | the record's collection | [`crate::ledger::Grant`] |

use chaincode_api::{ContractError, create_composite_key};

/// Patient registry (public) and demographics (private).
pub const PATIENT: &str = "patient";
/// Record metadata (public) and record content (private).
pub const RECORD: &str = "record";
/// Records of a patient.
pub const RECORD_BY_PATIENT: &str = "record~patient";
/// Consents.
pub const CONSENT: &str = "consent";
/// Consents of a patient.
pub const CONSENT_BY_PATIENT: &str = "consent~patient";
/// Audit events.
pub const AUDIT: &str = "audit";
/// Audit events about a patient's data.
pub const AUDIT_BY_PATIENT: &str = "audit~patient";
/// Audit events by the requester's organization.
pub const AUDIT_BY_ORG: &str = "audit~org";
/// Research tokens (private).
pub const RESEARCH: &str = "research";
/// Access grants (private).
pub const GRANT: &str = "grant";

/// The hospital's own collection: `records_<hospital MSP>` (members: that hospital).
pub fn records_collection(hospital: &str) -> String {
    format!("records_{hospital}")
}

/// The collection a lab shares with a hospital: `labreports_<lab MSP>_<hospital MSP>`.
pub fn lab_collection(lab: &str, hospital: &str) -> String {
    format!("labreports_{lab}_{hospital}")
}

/// `<type>/<parts…>` as a Fabric composite key.
pub fn key(object_type: &str, parts: &[&str]) -> Result<String, ContractError> {
    create_composite_key(object_type, parts)
}

/// `patient/<P>`.
pub fn patient(pseudonym: &str) -> Result<String, ContractError> {
    key(PATIENT, &[pseudonym])
}

/// `record/<id>`.
pub fn record(id: &str) -> Result<String, ContractError> {
    key(RECORD, &[id])
}

/// `consent/<id>`.
pub fn consent(id: &str) -> Result<String, ContractError> {
    key(CONSENT, &[id])
}

/// `grant/<id>`.
pub fn grant(id: &str) -> Result<String, ContractError> {
    key(GRANT, &[id])
}

/// `research/<P>`.
pub fn research(pseudonym: &str) -> Result<String, ContractError> {
    key(RESEARCH, &[pseudonym])
}

/// Highest code point: appended to a key prefix to bound a range over everything under it.
pub const RANGE_END: char = '\u{10FFFF}';
