//! The business rules on claim details, adjudications and payments, with one error per broken rule.
//!
//! These run in the endorse step on the private documents (never written publicly), before anything is
//! written and, for the claim itself, before any state is read: a claim whose total does not add up is
//! refused without touching the ledger. Every message names the numbers or items at fault so the billing
//! office or adjudicator can fix the document. Arithmetic is exact ([`Amount`], checked), so every endorser
//! reaches the same verdict.

use std::collections::{BTreeMap, BTreeSet};

use thiserror::Error;

use crate::fhir::{
    ADJUDICATION_CATEGORIES, ADJUDICATION_SYSTEM, AdjudicationInput, Claim, ClaimInput, ClaimResponse, Item,
    Money, Outcome, Payment, PaymentInput,
};
use crate::money::{Amount, FhirDate};

/// A broken rule in claim details, an adjudication or a payment. Shown to the client prefixed with the
/// claim id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    /// The document is of another resource type.
    #[error("resourceType must be {expected}, got {got:?}")]
    ResourceType {
        /// Wanted type.
        expected: &'static str,
        /// Given type.
        got: String,
    },
    /// A claim without items.
    #[error("the claim has no items; a claim bills at least one item")]
    NoItems,
    /// A currency code that is not three capital letters.
    #[error("{what} has currency {currency:?}; use an ISO 4217 code such as \"USD\"")]
    BadCurrency {
        /// Where.
        what: String,
        /// Given code.
        currency: String,
    },
    /// Two currencies in one claim.
    #[error("{what} is in {found} but the claim is in {expected}; one currency per claim")]
    MixedCurrency {
        /// Where.
        what: String,
        /// Its currency.
        found: String,
        /// The claim's currency.
        expected: String,
    },
    /// A negative amount where FHIR expects none.
    #[error("{what} {amount} is negative; amounts must be zero or more")]
    Negative {
        /// Where.
        what: String,
        /// The amount.
        amount: Money,
    },
    /// `total` ≠ Σ `item.net`.
    #[error("total {total} does not equal the sum of item nets {sum}")]
    TotalMismatch {
        /// Claim total.
        total: Money,
        /// Sum of nets.
        sum: Money,
    },
    /// `net` ≠ `quantity × unitPrice`.
    #[error("item {item} net {net} does not equal quantity {quantity} × unitPrice {unit_price} = {expected}")]
    NetMismatch {
        /// Item sequence.
        item: u32,
        /// Given net.
        net: Money,
        /// Units.
        quantity: u32,
        /// Unit price.
        unit_price: Money,
        /// quantity × unitPrice.
        expected: Money,
    },
    /// A sequence number that is zero or repeated, or a reference to a missing one.
    #[error("{0}")]
    Sequence(String),
    /// A code that is missing or not allowed.
    #[error("{0}")]
    Code(String),
    /// Sums beyond the supported range.
    #[error("{what} overflows the supported amount range")]
    Overflow {
        /// Which sum.
        what: String,
    },
    /// An adjudication that does not fit its outcome.
    #[error("{0}")]
    Outcome(String),
    /// An item's benefit above what was billed for it.
    #[error("item {item} benefit {benefit} exceeds its net {net}")]
    BenefitExceedsNet {
        /// Item sequence.
        item: u32,
        /// Benefit adjudicated.
        benefit: Money,
        /// Item net.
        net: Money,
    },
    /// A payment that is not the benefit plus adjustment.
    #[error(
        "payment amount {amount} does not equal the adjudicated benefit {benefit} plus adjustment {adjustment}"
    )]
    PaymentMismatch {
        /// Amount paid.
        amount: Money,
        /// Benefit total.
        benefit: Money,
        /// Adjustment.
        adjustment: Money,
    },
}

/// What submission needs from checked claim details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedClaim {
    /// The claim's currency.
    pub currency: String,
    /// Distinct `(servicedDate, code system, code)` billed, for duplicate detection.
    pub services: BTreeSet<(FhirDate, String, String)>,
}

fn currency_ok(what: &str, money: &Money, currency: &str) -> Result<(), RuleError> {
    if money.currency != currency {
        return Err(RuleError::MixedCurrency {
            what: what.to_string(),
            found: money.currency.clone(),
            expected: currency.to_string(),
        });
    }
    Ok(())
}

fn amount_ok(what: &str, money: &Money, currency: &str) -> Result<(), RuleError> {
    currency_ok(what, money, currency)?;
    if money.value.is_negative() {
        return Err(RuleError::Negative {
            what: what.to_string(),
            amount: money.clone(),
        });
    }
    Ok(())
}

fn sum(what: &str, amounts: impl IntoIterator<Item = Amount>) -> Result<Amount, RuleError> {
    amounts
        .into_iter()
        .try_fold(Amount::ZERO, Amount::checked_add)
        .ok_or_else(|| RuleError::Overflow {
            what: what.to_string(),
        })
}

fn unique_positive(what: &str, seqs: impl IntoIterator<Item = u32>) -> Result<BTreeSet<u32>, RuleError> {
    let mut seen = BTreeSet::new();
    for seq in seqs {
        if seq == 0 || !seen.insert(seq) {
            return Err(RuleError::Sequence(format!(
                "{what} sequence {seq} is zero or appears twice; sequences are positive and unique"
            )));
        }
    }
    Ok(seen)
}

/// Checks claim details: items present, one currency, sequences, codes, non-negative amounts,
/// `net = quantity × unitPrice`, `total = Σ net`.
pub fn check_claim(input: &ClaimInput) -> Result<CheckedClaim, RuleError> {
    if let Some(rt) = input.resource_type.as_deref().filter(|rt| *rt != "Claim") {
        return Err(RuleError::ResourceType {
            expected: "Claim",
            got: rt.to_string(),
        });
    }
    if input.item.is_empty() {
        return Err(RuleError::NoItems);
    }
    let currency = input.total.currency.clone();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(RuleError::BadCurrency {
            what: "total".into(),
            currency,
        });
    }
    let diagnoses = unique_positive("diagnosis", input.diagnosis.iter().map(|d| d.sequence))?;
    if let Some(d) = input
        .diagnosis
        .iter()
        .find(|d| code_of(&d.diagnosis_codeable_concept).is_none())
    {
        return Err(RuleError::Code(format!("diagnosis {} has no code", d.sequence)));
    }
    unique_positive("item", input.item.iter().map(|i| i.sequence))?;
    let mut services = BTreeSet::new();
    for item in &input.item {
        let (system, code) = check_item(item, &diagnoses, &currency)?;
        services.insert((item.serviced_date.clone(), system, code));
    }
    amount_ok("total", &input.total, &currency)?;
    let nets = sum("the sum of item nets", input.item.iter().map(|i| i.net.value))?;
    if nets != input.total.value {
        return Err(RuleError::TotalMismatch {
            total: input.total.clone(),
            sum: Money::new(nets, &currency),
        });
    }
    Ok(CheckedClaim { currency, services })
}

/// The primary coding's `(system, code)` if it has a non-empty code (system `""` when absent).
fn code_of(concept: &crate::fhir::CodeableConcept) -> Option<(String, String)> {
    concept
        .primary()
        .filter(|c| !c.code.is_empty())
        .map(|c| (c.system.clone().unwrap_or_default(), c.code.clone()))
}

fn check_item(item: &Item, diagnoses: &BTreeSet<u32>, currency: &str) -> Result<(String, String), RuleError> {
    let seq = item.sequence;
    let service = code_of(&item.product_or_service)
        .ok_or_else(|| RuleError::Code(format!("item {seq} productOrService has no code")))?;
    if let Some(missing) = item.diagnosis_sequence.iter().find(|d| !diagnoses.contains(d)) {
        return Err(RuleError::Sequence(format!(
            "item {seq} refers to diagnosis {missing}, which the claim does not list"
        )));
    }
    amount_ok(&format!("item {seq} net"), &item.net, currency)?;
    let Some(unit_price) = &item.unit_price else {
        return Ok(service);
    };
    amount_ok(&format!("item {seq} unitPrice"), unit_price, currency)?;
    let quantity = item.quantity.as_ref().map_or(1, |q| q.value);
    if quantity == 0 {
        return Err(RuleError::Sequence(format!(
            "item {seq} quantity must be at least 1"
        )));
    }
    let expected = unit_price
        .value
        .checked_mul(quantity)
        .ok_or_else(|| RuleError::Overflow {
            what: format!("item {seq} quantity × unitPrice"),
        })?;
    if expected != item.net.value {
        return Err(RuleError::NetMismatch {
            item: seq,
            net: item.net.clone(),
            quantity,
            unit_price: unit_price.clone(),
            expected: Money::new(expected, currency),
        });
    }
    Ok(service)
}

/// An adjudication checked against its claim: the per-item adjudications and the benefit total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAdjudication {
    /// Sum of `benefit` amounts over all items.
    pub benefit: Money,
}

/// Checks an adjudication against the stored claim: outcome, item references, categories, currencies,
/// non-negative amounts, benefit ≤ net per item, and what each outcome requires.
pub fn check_adjudication(
    claim: &Claim,
    input: &AdjudicationInput,
) -> Result<CheckedAdjudication, RuleError> {
    if let Some(rt) = input.resource_type.as_deref().filter(|rt| *rt != "ClaimResponse") {
        return Err(RuleError::ResourceType {
            expected: "ClaimResponse",
            got: rt.to_string(),
        });
    }
    let currency = claim.total.currency.as_str();
    let nets: BTreeMap<u32, &Money> = claim.item.iter().map(|i| (i.sequence, &i.net)).collect();
    let listed = || nets.keys().map(u32::to_string).collect::<Vec<_>>().join(", ");
    unique_positive("adjudicated item", input.item.iter().map(|i| i.item_sequence))?;
    let mut benefits = Vec::new();
    for item in &input.item {
        let seq = item.item_sequence;
        let net = nets.get(&seq).ok_or_else(|| {
            RuleError::Sequence(format!(
                "adjudication refers to item {seq}, which is not an item of the claim (items {})",
                listed()
            ))
        })?;
        let benefit = check_item_adjudication(seq, item, currency)?;
        if benefit > net.value {
            return Err(RuleError::BenefitExceedsNet {
                item: seq,
                benefit: Money::new(benefit, currency),
                net: (*net).clone(),
            });
        }
        benefits.push(benefit);
    }
    check_outcome(input, &nets, &listed())?;
    Ok(CheckedAdjudication {
        benefit: Money::new(sum("the benefit total", benefits)?, currency),
    })
}

/// Checks one item's adjudications and returns its benefit.
fn check_item_adjudication(
    seq: u32,
    item: &crate::fhir::ResponseItem,
    currency: &str,
) -> Result<Amount, RuleError> {
    if item.adjudication.is_empty() {
        return Err(RuleError::Outcome(format!(
            "item {seq} has no adjudication; each adjudicated item needs at least one"
        )));
    }
    let mut benefit = Vec::new();
    for adj in &item.adjudication {
        let coding = adj
            .category
            .primary()
            .ok_or_else(|| RuleError::Code(format!("item {seq} has an adjudication without a category")))?;
        let system_ok = coding.system.as_deref().is_none_or(|s| s == ADJUDICATION_SYSTEM);
        if !system_ok || !ADJUDICATION_CATEGORIES.contains(&coding.code.as_str()) {
            return Err(RuleError::Code(format!(
                "item {seq} adjudication category {:?} is not one of {} ({ADJUDICATION_SYSTEM})",
                coding.code,
                ADJUDICATION_CATEGORIES.join(", ")
            )));
        }
        if let Some(amount) = &adj.amount {
            amount_ok(&format!("item {seq} {} amount", coding.code), amount, currency)?;
            if coding.code == "benefit" {
                benefit.push(amount.value);
            }
        }
    }
    sum(&format!("item {seq} benefit"), benefit)
}

fn check_outcome(
    input: &AdjudicationInput,
    nets: &BTreeMap<u32, &Money>,
    listed: &str,
) -> Result<(), RuleError> {
    let adjudicated: BTreeSet<u32> = input.item.iter().map(|i| i.item_sequence).collect();
    match input.outcome {
        Outcome::Queued => Err(RuleError::Outcome(
            "outcome queued is not an adjudication; use complete, partial or error".into(),
        )),
        Outcome::Complete => match nets.keys().find(|s| !adjudicated.contains(s)) {
            Some(missing) => Err(RuleError::Outcome(format!(
                "outcome complete needs every item adjudicated, item {missing} is not (items {listed}); \
                 use partial"
            ))),
            None => Ok(()),
        },
        Outcome::Partial if adjudicated.is_empty() => Err(RuleError::Outcome(
            "outcome partial needs at least one adjudicated item".into(),
        )),
        Outcome::Partial => Ok(()),
        Outcome::Error => {
            if input.error.is_empty() {
                return Err(RuleError::Outcome(
                    "outcome error needs at least one entry in error[]".into(),
                ));
            }
            match input
                .error
                .iter()
                .filter_map(|e| e.item_sequence)
                .find(|s| !nets.contains_key(s))
            {
                Some(bad) => Err(RuleError::Sequence(format!(
                    "error refers to item {bad}, which is not an item of the claim (items {listed})"
                ))),
                None => Ok(()),
            }
        }
    }
}

/// Builds the payment from the optional input: amount defaults to benefit + adjustment, date to `today`.
pub fn check_payment(
    response: &ClaimResponse,
    input: PaymentInput,
    currency: &str,
    today: FhirDate,
) -> Result<Payment, RuleError> {
    let benefit = response
        .benefit()
        .cloned()
        .unwrap_or_else(|| Money::new(Amount::ZERO, currency));
    let adjustment = input
        .adjustment
        .clone()
        .unwrap_or_else(|| Money::new(Amount::ZERO, currency));
    currency_ok("payment adjustment", &adjustment, currency)?;
    let due = benefit
        .value
        .checked_add(adjustment.value)
        .ok_or_else(|| RuleError::Overflow {
            what: "benefit plus adjustment".into(),
        })?;
    let amount = input.amount.unwrap_or_else(|| Money::new(due, currency));
    amount_ok("payment amount", &amount, currency)?;
    if amount.value != due {
        return Err(RuleError::PaymentMismatch {
            amount,
            benefit,
            adjustment,
        });
    }
    let payment_type = input.payment_type.unwrap_or_else(|| {
        crate::fhir::CodeableConcept::code("http://terminology.hl7.org/CodeSystem/ex-paymenttype", "complete")
    });
    Ok(Payment {
        payment_type,
        adjustment: input.adjustment,
        adjustment_reason: input.adjustment_reason,
        date: input.date.unwrap_or(today),
        amount,
        identifier: input.identifier,
    })
}
