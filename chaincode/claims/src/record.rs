//! The public records: what every peer of the channel holds about a claim or a coverage.
//!
//! These are written to the shared ledger in the endorse step and applied by every peer after validation,
//! and their JSON is also each transition's chaincode event, so they carry no health information and no
//! amounts: ids, the parties (MSP ids), the patient's pseudonym, the status and the lifecycle instants. The
//! details live in the pair's private collection (`fhir`). Field names follow FHIR where one applies
//! (`patient`, `provider`, `insurer`, `status`, `outcome`, `created`), but these are ledger records, not FHIR
//! resources.

use serde::{Deserialize, Serialize};

use chaincode_api::ContractError;

use crate::fhir::Outcome;
use crate::money::FhirDate;

/// Where a claim is in its lifecycle: submitted → queued → adjudicated → paid, or cancelled before
/// adjudication. FHIR has no workflow status; while `submitted` or `queued` the claim's FHIR
/// `ClaimResponse.outcome` would be `queued`, and after adjudication it is [`ClaimRecord::outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The provider submitted it.
    Submitted,
    /// The insurer took it into its work queue.
    Queued,
    /// The insurer adjudicated it (see the outcome).
    Adjudicated,
    /// The insurer paid it.
    Paid,
    /// The provider withdrew it before adjudication.
    Cancelled,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 5] = [
        Status::Submitted,
        Status::Queued,
        Status::Adjudicated,
        Status::Paid,
        Status::Cancelled,
    ];

    /// The lowercase name used in keys, JSON and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Queued => "queued",
            Status::Adjudicated => "adjudicated",
            Status::Paid => "paid",
            Status::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The public part of a claim (key `\0claim\0<id>\0`, and the value of each of its index entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    /// Claim id, chosen by the provider (FHIR id syntax).
    pub id: String,
    /// MSP id of the submitting hospital.
    pub provider: String,
    /// MSP id of the insurer billed.
    pub insurer: String,
    /// The patient's pseudonym (an opaque token shared by provider and insurer, never an MRN).
    pub patient: String,
    /// Id of the insurer's coverage billed (an opaque ledger id, never a member number).
    pub coverage: String,
    /// Lifecycle status.
    pub status: Status,
    /// Adjudication outcome (`complete`, `partial`, `error`) once adjudicated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Submission instant (fixed-width RFC 3339 UTC, nanoseconds), the claims' sort order.
    pub created: String,
    /// When the insurer queued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<String>,
    /// When the insurer adjudicated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjudicated: Option<String>,
    /// When the insurer paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid: Option<String>,
    /// When the provider cancelled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
}

impl ClaimRecord {
    /// Parses a stored record; `Internal` naming the key if it does not parse (only this contract writes it).
    pub fn from_stored(key: &str, bytes: &[u8]) -> Result<ClaimRecord, ContractError> {
        serde_json::from_slice(bytes)
            .map_err(|e| ContractError::Internal(format!("stored claim at key {key:?} does not parse: {e}")))
    }

    /// The record's JSON as stored and emitted.
    pub fn to_json(&self) -> Result<Vec<u8>, ContractError> {
        to_json(self)
    }
}

/// Coverage status: FHIR `Coverage.status` values this contract uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoverageStatus {
    /// In force.
    Active,
    /// Withdrawn by the insurer; new claims are refused.
    Cancelled,
}

/// `Coverage.period`: `end` absent means open-ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First covered day.
    pub start: FhirDate,
    /// Last covered day (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<FhirDate>,
}

impl Period {
    /// Whether `date` falls within the period (both ends inclusive).
    pub fn contains(&self, date: &FhirDate) -> bool {
        *date >= self.start && self.end.as_ref().is_none_or(|end| date <= end)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.end {
            Some(end) => write!(f, "{}..{}", self.start, end),
            None => write!(f, "{}..(open)", self.start),
        }
    }
}

/// The public part of a FHIR `Coverage` (key `\0coverage\0<insurer>\0<id>\0`): who is covered (by
/// pseudonym), by whom, when, and whether it is in force. Plan, member number and subscriber stay with the
/// insurer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRecord {
    /// Coverage id, chosen by the insurer; unique per insurer.
    pub id: String,
    /// MSP id of the insurer (FHIR `payor`).
    pub insurer: String,
    /// Pseudonym of the covered patient (FHIR `beneficiary`).
    pub patient: String,
    /// `active` or `cancelled`.
    pub status: CoverageStatus,
    /// Covered period.
    pub period: Period,
    /// Registration instant.
    pub created: String,
}

impl CoverageRecord {
    /// Parses a stored coverage; `Internal` naming the key if it does not parse.
    pub fn from_stored(key: &str, bytes: &[u8]) -> Result<CoverageRecord, ContractError> {
        serde_json::from_slice(bytes).map_err(|e| {
            ContractError::Internal(format!("stored coverage at key {key:?} does not parse: {e}"))
        })
    }
}

/// Compact JSON; `Internal` if serialization fails (it cannot for these types).
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ContractError> {
    serde_json::to_vec(value).map_err(|e| ContractError::Internal(format!("cannot encode JSON: {e}")))
}
