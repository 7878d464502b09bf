//! FHIR R4 `Claim` and `ClaimResponse` as stored in a claim's private data collection, and the input shapes
//! clients send through transient data.
//!
//! These are the documents that must never reach the shared ledger: diagnoses, billed services, amounts and
//! adjudications. They arrive in the proposal's transient map (endorse step), are checked by `rules`, and are
//! written with `put_private_data`, so only the provider's and the insurer's peers ever hold them while the
//! block carries their hashes. Element names are FHIR R4's (`item[].productOrService`, `unitPrice`, `net`,
//! `diagnosis[].diagnosisCodeableConcept`, `item[].adjudication[]`, `payment`), hand-written as small serde
//! structs (the research note's recommendation) with two deliberate deviations: `Money.value` is a decimal
//! string (see `money`), and `item.quantity.value` is a whole number so `net = quantity × unitPrice` stays
//! exact. Inputs reject unknown fields, so a client learns at once that a field would have been dropped.

use serde::{Deserialize, Serialize};

use crate::money::{Amount, FhirDate};

/// FHIR's adjudication category code system (`ClaimResponse.item.adjudication.category`).
pub const ADJUDICATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/adjudication";

/// Adjudication categories of R4's `adjudication` code system.
pub const ADJUDICATION_CATEGORIES: &[&str] = &[
    "submitted",
    "copay",
    "eligible",
    "deductible",
    "unallocdeduct",
    "eligpercent",
    "tax",
    "benefit",
];

/// A code from a code system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coding {
    /// Code system URI, e.g. `http://www.ama-assn.org/go/cpt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The code.
    pub code: String,
    /// Human-readable text for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// Codes with optional text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeableConcept {
    /// Codes, first one primary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    /// Plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    /// One coding from `system` with `code`.
    pub fn code(system: &str, code: &str) -> CodeableConcept {
        CodeableConcept {
            coding: vec![Coding {
                system: Some(system.to_string()),
                code: code.to_string(),
                display: None,
            }],
            text: None,
        }
    }

    /// The first coding, if any.
    pub fn primary(&self) -> Option<&Coding> {
        self.coding.first()
    }
}

/// A literal reference, `"Type/id"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// `"Patient/<pseudonym>"`, `"Organization/<MSP id>"`, `"Coverage/<id>"`, `"Claim/<id>"`.
    pub reference: String,
}

impl Reference {
    /// `"{kind}/{id}"`.
    pub fn to(kind: &str, id: &str) -> Reference {
        Reference {
            reference: format!("{kind}/{id}"),
        }
    }
}

/// FHIR `Money`, with the value as an exact decimal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// The amount.
    pub value: Amount,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

impl Money {
    /// `value` in `currency`.
    pub fn new(value: Amount, currency: &str) -> Money {
        Money {
            value,
            currency: currency.to_string(),
        }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.value, self.currency)
    }
}

/// `SimpleQuantity` restricted to a whole count of units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    /// Number of units billed.
    pub value: u32,
}

/// `Claim.diagnosis[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Diagnosis {
    /// Position, referenced by `item.diagnosisSequence`.
    pub sequence: u32,
    /// The diagnosis code, e.g. ICD-10 `http://hl7.org/fhir/sid/icd-10`.
    pub diagnosis_codeable_concept: CodeableConcept,
}

/// `Claim.item[]`: one billed service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Item {
    /// Item number, unique in the claim; adjudications refer to it.
    pub sequence: u32,
    /// Diagnoses this item treats (`Claim.diagnosis[].sequence`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnosis_sequence: Vec<u32>,
    /// The billed service or product (CPT, HCPCS, …); its first coding identifies the service.
    pub product_or_service: CodeableConcept,
    /// Date of service (`serviced[x]` as `servicedDate`).
    pub serviced_date: FhirDate,
    /// Units billed; 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
    /// Price per unit; when present, `net` must equal `quantity × unitPrice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    /// The item's total.
    pub net: Money,
}

/// The claim details a provider sends in transient field `claim`. Identity, parties, coverage and dates
/// come from the arguments, the certificate and the transaction, not from here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClaimInput {
    /// `"Claim"` if given.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// `Claim.type`; `institutional` when absent.
    #[serde(default, rename = "type")]
    pub claim_type: Option<CodeableConcept>,
    /// `Claim.priority`; `normal` when absent.
    #[serde(default)]
    pub priority: Option<CodeableConcept>,
    /// Diagnoses.
    #[serde(default)]
    pub diagnosis: Vec<Diagnosis>,
    /// Billed items, at least one.
    #[serde(default)]
    pub item: Vec<Item>,
    /// Claim total: must equal the sum of item nets.
    pub total: Money,
}

/// `Claim.insurance[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insurance {
    /// 1 for the coverage this claim is billed to.
    pub sequence: u32,
    /// Whether this coverage adjudicates the claim.
    pub focal: bool,
    /// The coverage.
    pub coverage: Reference,
}

/// The stored FHIR R4 `Claim` (private).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// Always `"Claim"`.
    pub resource_type: String,
    /// The claim id (as on the ledger).
    pub id: String,
    /// `active`, or `cancelled` once the provider cancels.
    pub status: String,
    /// Claim category.
    #[serde(rename = "type")]
    pub claim_type: CodeableConcept,
    /// Always `claim`.
    #[serde(rename = "use")]
    pub claim_use: String,
    /// `Patient/<pseudonym>`.
    pub patient: Reference,
    /// Submission instant (transaction timestamp).
    pub created: String,
    /// `Organization/<insurer MSP id>`.
    pub insurer: Reference,
    /// `Organization/<provider MSP id>`.
    pub provider: Reference,
    /// Processing priority.
    pub priority: CodeableConcept,
    /// The coverage billed.
    pub insurance: Vec<Insurance>,
    /// Diagnoses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnosis: Vec<Diagnosis>,
    /// Billed items.
    pub item: Vec<Item>,
    /// Claim total.
    pub total: Money,
}

/// `ClaimResponse.outcome` (`http://hl7.org/fhir/remittance-outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Received, not yet processed (our statuses `submitted` and `queued`).
    Queued,
    /// Processed without errors, every item adjudicated.
    Complete,
    /// Errors were found; nothing is payable.
    Error,
    /// Processed without errors, some items adjudicated.
    Partial,
}

impl Outcome {
    /// The FHIR code.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Queued => "queued",
            Outcome::Complete => "complete",
            Outcome::Error => "error",
            Outcome::Partial => "partial",
        }
    }
}

/// `ClaimResponse.item[].adjudication[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjudication {
    /// One of [`ADJUDICATION_CATEGORIES`].
    pub category: CodeableConcept,
    /// Why (e.g. a denial reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CodeableConcept>,
    /// Monetary amount for this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// Non-monetary value, e.g. the percentage for `eligpercent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Amount>,
}

/// `ClaimResponse.item[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResponseItem {
    /// The claim item this adjudicates.
    pub item_sequence: u32,
    /// One or more adjudications.
    pub adjudication: Vec<Adjudication>,
}

/// `ClaimResponse.error[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResponseError {
    /// The item in error, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_sequence: Option<u32>,
    /// The error code.
    pub code: CodeableConcept,
}

/// The adjudication an insurer sends in transient field `adjudication`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdjudicationInput {
    /// `"ClaimResponse"` if given.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// `complete`, `partial` or `error`.
    pub outcome: Outcome,
    /// Free-text disposition.
    #[serde(default)]
    pub disposition: Option<String>,
    /// Per-item adjudications.
    #[serde(default)]
    pub item: Vec<ResponseItem>,
    /// Errors (required for outcome `error`).
    #[serde(default)]
    pub error: Vec<ResponseError>,
}

/// `ClaimResponse.total[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    /// `submitted` or `benefit`.
    pub category: CodeableConcept,
    /// The total for the category.
    pub amount: Money,
}

/// A business identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// Namespace of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The identifier.
    pub value: String,
}

/// `ClaimResponse.payment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// `complete` or `partial` (`ex-paymenttype`).
    #[serde(rename = "type")]
    pub payment_type: CodeableConcept,
    /// Adjustment to the benefit (may be negative, e.g. a recoupment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment: Option<Money>,
    /// Why the adjustment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment_reason: Option<CodeableConcept>,
    /// Payment date.
    pub date: FhirDate,
    /// Amount paid: benefit total plus adjustment.
    pub amount: Money,
    /// The insurer's payment reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
}

/// The optional payment details an insurer sends in transient field `payment`; everything defaults (amount:
/// the adjudicated benefit, date: the transaction's date).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PaymentInput {
    /// Payment type; `complete` when absent.
    #[serde(default, rename = "type")]
    pub payment_type: Option<CodeableConcept>,
    /// Adjustment to the benefit.
    #[serde(default)]
    pub adjustment: Option<Money>,
    /// Why the adjustment.
    #[serde(default)]
    pub adjustment_reason: Option<CodeableConcept>,
    /// Payment date.
    #[serde(default)]
    pub date: Option<FhirDate>,
    /// Amount paid.
    #[serde(default)]
    pub amount: Option<Money>,
    /// Payment reference.
    #[serde(default)]
    pub identifier: Option<Identifier>,
}

/// The stored FHIR R4 `ClaimResponse` (private).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimResponse {
    /// Always `"ClaimResponse"`.
    pub resource_type: String,
    /// Same id as the claim.
    pub id: String,
    /// Always `active`.
    pub status: String,
    /// The claim's type.
    #[serde(rename = "type")]
    pub claim_type: CodeableConcept,
    /// Always `claim`.
    #[serde(rename = "use")]
    pub claim_use: String,
    /// `Patient/<pseudonym>`.
    pub patient: Reference,
    /// Adjudication instant (transaction timestamp).
    pub created: String,
    /// `Organization/<insurer MSP id>`.
    pub insurer: Reference,
    /// `Organization/<provider MSP id>`.
    pub requestor: Reference,
    /// `Claim/<id>`.
    pub request: Reference,
    /// The outcome.
    pub outcome: Outcome,
    /// Free-text disposition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Per-item adjudications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item: Vec<ResponseItem>,
    /// `submitted` and `benefit` totals.
    pub total: Vec<Total>,
    /// Set when paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// Errors found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error: Vec<ResponseError>,
}

impl ClaimResponse {
    /// The `benefit` total (what is payable before adjustments).
    pub fn benefit(&self) -> Option<&Money> {
        self.total
            .iter()
            .find(|t| t.category.primary().is_some_and(|c| c.code == "benefit"))
            .map(|t| &t.amount)
    }
}
