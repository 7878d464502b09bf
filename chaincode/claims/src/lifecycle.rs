//! The claim lifecycle: submit → queue → adjudicate → pay, or cancel before adjudication.
//!
//! Each function is one transaction simulated in the endorse step: it checks the caller and the input, reads
//! the committed record (MVCC-checked at validation), writes the public record and its indexes, writes the
//! private documents to the (provider, insurer) collection, and sets one chaincode event carrying the public
//! record, so an insurer's system can follow its claims from the event stream without seeing details.
//!
//! **Duplicates.** A claim is a duplicate when another live claim of the same provider bills the same
//! patient for the same service (first coding of `productOrService`) on the same date. The check runs inside
//! the pair's private collection: each billed service gets a key `(patient, date, system, code)` → claim id
//! there, read before submission (a recorded, MVCC-checked private read, so two racing duplicates cannot
//! both commit) and released when the claim is cancelled or adjudicated with outcome `error` (so the
//! provider can correct and resubmit). Nothing about it is public: a public hash of such low-entropy fields
//! could be reversed by enumeration. The scope is the (provider, insurer) pair: billing the same service to
//! a second insurer is how secondary coverage is claimed, and that insurer's collection is a different one.
//!
//! **Endorsement.** Submission sets a key-level endorsement policy on the claim record: a peer of the
//! provider and a peer of the insurer must endorse every later transition, so neither party's peer alone
//! can move the claim; both are members of the collection and can run the private reads.

use std::collections::BTreeSet;

use chaincode_api::{Context, ContractError, KeyEndorsement, Role};

use crate::coverage;
use crate::fhir::{
    AdjudicationInput, Claim, ClaimInput, ClaimResponse, CodeableConcept, Insurance, Outcome, Reference,
};
use crate::keys;
use crate::money::FhirDate;
use crate::party;
use crate::record::{ClaimRecord, Status, to_json};
use crate::rules::{self, RuleError};
use crate::store::{self, load_claim, require_status, save_claim};

/// Arguments of `SubmitClaim`.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    /// Claim id.
    pub claim_id: &'a str,
    /// Insurer MSP id.
    pub insurer: &'a str,
    /// Coverage id.
    pub coverage_id: &'a str,
    /// Patient pseudonym.
    pub patient: &'a str,
}

fn invalid(claim_id: &str, err: RuleError) -> ContractError {
    ContractError::BadRequest(format!("claim {claim_id}: {err}"))
}

fn now(ctx: &dyn Context) -> String {
    keys::instant(ctx.tx().timestamp)
}

/// `SubmitClaim`: a provider identity submits a claim to `insurer`, details in transient `claim`.
pub fn submit(ctx: &mut dyn Context, s: Submission<'_>) -> Result<Vec<u8>, ContractError> {
    party::require_provider(ctx.caller(), "submit claims")?;
    let provider = ctx.caller().msp_id.clone();
    if provider == s.insurer {
        return Err(ContractError::BadRequest(format!(
            "claim {}: provider and insurer are both {provider}; a claim is billed to another organization",
            s.claim_id
        )));
    }
    let input: ClaimInput = store::transient_json(&*ctx, "claim", "SubmitClaim")?;
    let checked = rules::check_claim(&input).map_err(|e| invalid(s.claim_id, e))?;
    let key = keys::claim(s.claim_id)?;
    if ctx.get_state(&key)?.is_some() {
        return Err(ContractError::Conflict(format!(
            "claim {} already exists",
            s.claim_id
        )));
    }
    let cover = coverage::load(ctx, s.insurer, s.coverage_id)?;
    coverage::check_covers(&cover, s.patient, input.item.iter().map(|i| &i.serviced_date))?;
    let collection = keys::collection(&provider, s.insurer);
    check_duplicates(ctx, &collection, &s, &provider, &checked.services)?;

    let record = ClaimRecord {
        id: s.claim_id.to_string(),
        provider: provider.clone(),
        insurer: s.insurer.to_string(),
        patient: s.patient.to_string(),
        coverage: s.coverage_id.to_string(),
        status: Status::Submitted,
        outcome: None,
        created: now(ctx),
        queued: None,
        adjudicated: None,
        paid: None,
        cancelled: None,
    };
    let claim = fhir_claim(&record, input);
    store::put_private(ctx, &collection, &key, &claim)?;
    for (date, system, code) in &checked.services {
        let service = keys::service(s.patient, date.as_str(), system, code)?;
        ctx.put_private_data(&collection, &service, s.claim_id.as_bytes())?;
    }
    let json = save_claim(ctx, None, &record)?;
    let parties = KeyEndorsement::of(Role::Peer, [provider, s.insurer.to_string()])?;
    ctx.set_key_endorsement(&key, Some(&parties))?;
    ctx.set_event("ClaimSubmitted", &json)?;
    Ok(json)
}

/// `Conflict` naming the earlier claim if any service is already billed by a live claim of this pair.
fn check_duplicates(
    ctx: &mut dyn Context,
    collection: &str,
    s: &Submission<'_>,
    provider: &str,
    services: &BTreeSet<(FhirDate, String, String)>,
) -> Result<(), ContractError> {
    for (date, system, code) in services {
        let key = keys::service(s.patient, date.as_str(), system, code)?;
        if let Some(existing) = ctx.get_private_data(collection, &key)? {
            let existing = String::from_utf8_lossy(&existing);
            let service = if system.is_empty() {
                code.clone()
            } else {
                format!("{system}|{code}")
            };
            return Err(ContractError::Conflict(format!(
                "claim {}: duplicate of claim {existing}, which already bills patient {} for service {service} \
                 on {date} from {provider} to {}; cancel that claim before resubmitting",
                s.claim_id, s.patient, s.insurer
            )));
        }
    }
    Ok(())
}

/// The FHIR Claim stored privately: the client's details plus what the ledger knows.
fn fhir_claim(record: &ClaimRecord, input: ClaimInput) -> Claim {
    let claim_type = input.claim_type.unwrap_or_else(|| {
        CodeableConcept::code(
            "http://terminology.hl7.org/CodeSystem/claim-type",
            "institutional",
        )
    });
    let priority = input.priority.unwrap_or_else(|| {
        CodeableConcept::code("http://terminology.hl7.org/CodeSystem/processpriority", "normal")
    });
    Claim {
        resource_type: "Claim".into(),
        id: record.id.clone(),
        status: "active".into(),
        claim_type,
        claim_use: "claim".into(),
        patient: Reference::to("Patient", &record.patient),
        created: record.created.clone(),
        insurer: Reference::to("Organization", &record.insurer),
        provider: Reference::to("Organization", &record.provider),
        priority,
        insurance: vec![Insurance {
            sequence: 1,
            focal: true,
            coverage: Reference::to("Coverage", &record.coverage),
        }],
        diagnosis: input.diagnosis,
        item: input.item,
        total: input.total,
    }
}

/// Moves a submitted claim to queued (no event: callers set one for the whole transaction).
fn queue_record(ctx: &mut dyn Context, old: &ClaimRecord) -> Result<ClaimRecord, ContractError> {
    let mut new = old.clone();
    new.status = Status::Queued;
    new.queued = Some(now(ctx));
    save_claim(ctx, Some(old), &new)?;
    Ok(new)
}

/// `QueueClaim`: the claim's insurer takes one submitted claim into its work queue.
pub fn queue(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    party::require_insurer(ctx.caller(), "queue claims")?;
    let old = load_claim(ctx, id)?;
    party::require_claim_insurer(ctx.caller(), &old, "queue")?;
    require_status(&old, &[Status::Submitted], "queue")?;
    let new = queue_record(ctx, &old)?;
    let json = new.to_json()?;
    ctx.set_event("ClaimQueued", &json)?;
    Ok(json)
}

/// `QueueClaims`: the insurer takes up to `max` of its oldest submitted claims into its queue. The scan of
/// its `submitted` index range feeds the writes, so validation re-runs it: if a claim entered or left that
/// range before commit, the transaction is invalidated (phantom read) rather than queueing a stale set.
pub fn queue_oldest(ctx: &mut dyn Context, max: u32) -> Result<Vec<u8>, ContractError> {
    party::require_insurer(ctx.caller(), "queue claims")?;
    let insurer = ctx.caller().msp_id.clone();
    let (ids, more) = crate::query::oldest_ids(ctx, &insurer, Status::Submitted, max)?;
    let mut queued = Vec::with_capacity(ids.len());
    for id in &ids {
        let old = load_claim(ctx, id)?;
        if old.insurer != insurer || old.status != Status::Submitted {
            return Err(ContractError::Internal(format!(
                "index entry for claim {id} says submitted to {insurer}, record says {} to {}",
                old.status, old.insurer
            )));
        }
        queued.push(queue_record(ctx, &old)?);
    }
    let json = to_json(&serde_json::json!({ "claims": queued, "more": more }))?;
    if !queued.is_empty() {
        ctx.set_event("ClaimsQueued", &to_json(&queued)?)?;
    }
    Ok(json)
}

/// `AdjudicateClaim`: the claim's insurer adjudicates a queued claim; details in transient `adjudication`.
pub fn adjudicate(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    party::require_insurer(ctx.caller(), "adjudicate claims")?;
    let input: AdjudicationInput = store::transient_json(&*ctx, "adjudication", "AdjudicateClaim")?;
    let old = load_claim(ctx, id)?;
    party::require_claim_insurer(ctx.caller(), &old, "adjudicate")?;
    require_status(&old, &[Status::Queued], "adjudicate")?;
    let collection = keys::collection(&old.provider, &old.insurer);
    let claim_key = keys::claim(id)?;
    let claim: Claim = store::must_get_private(ctx, &collection, &claim_key)?;
    let checked = rules::check_adjudication(&claim, &input).map_err(|e| invalid(id, e))?;
    let created = now(ctx);
    let response = ClaimResponse {
        resource_type: "ClaimResponse".into(),
        id: id.to_string(),
        status: "active".into(),
        claim_type: claim.claim_type.clone(),
        claim_use: "claim".into(),
        patient: claim.patient.clone(),
        created: created.clone(),
        insurer: claim.insurer.clone(),
        requestor: claim.provider.clone(),
        request: Reference::to("Claim", id),
        outcome: input.outcome,
        disposition: input.disposition,
        item: input.item,
        total: vec![
            total("submitted", claim.total.clone()),
            total("benefit", checked.benefit),
        ],
        payment: None,
        error: input.error,
    };
    store::put_private(ctx, &collection, &keys::claim_response(id)?, &response)?;
    if input.outcome == Outcome::Error {
        release_services(ctx, &collection, &claim)?;
    }
    let mut new = old.clone();
    new.status = Status::Adjudicated;
    new.outcome = Some(input.outcome);
    new.adjudicated = Some(created);
    let json = save_claim(ctx, Some(&old), &new)?;
    ctx.set_event("ClaimAdjudicated", &json)?;
    Ok(json)
}

fn total(category: &str, amount: crate::fhir::Money) -> crate::fhir::Total {
    crate::fhir::Total {
        category: CodeableConcept::code(crate::fhir::ADJUDICATION_SYSTEM, category),
        amount,
    }
}

/// Deletes the claim's duplicate-detection entries so its services can be billed again.
fn release_services(ctx: &mut dyn Context, collection: &str, claim: &Claim) -> Result<(), ContractError> {
    let patient = claim
        .patient
        .reference
        .strip_prefix("Patient/")
        .unwrap_or(&claim.patient.reference);
    let mut done = BTreeSet::new();
    for item in &claim.item {
        let Some(coding) = item.product_or_service.primary() else {
            continue;
        };
        let system = coding.system.as_deref().unwrap_or("");
        let key = keys::service(patient, item.serviced_date.as_str(), system, &coding.code)?;
        if done.insert(key.clone()) {
            ctx.del_private_data(collection, &key)?;
        }
    }
    Ok(())
}

/// `PayClaim`: the claim's insurer pays an adjudicated (complete or partial) claim; optional transient
/// `payment` (amount defaults to the benefit, date to the transaction's date).
pub fn pay(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    party::require_insurer(ctx.caller(), "pay claims")?;
    let input = store::optional_transient(&*ctx, "payment", "PayClaim")?.unwrap_or_default();
    let old = load_claim(ctx, id)?;
    party::require_claim_insurer(ctx.caller(), &old, "pay")?;
    require_status(&old, &[Status::Adjudicated], "pay")?;
    if old.outcome == Some(Outcome::Error) {
        return Err(ContractError::Conflict(format!(
            "cannot pay claim {id}: it was adjudicated with outcome error, so nothing is payable"
        )));
    }
    let collection = keys::collection(&old.provider, &old.insurer);
    let response_key = keys::claim_response(id)?;
    let mut response: ClaimResponse = store::must_get_private(ctx, &collection, &response_key)?;
    let currency = response
        .total
        .first()
        .map(|t| t.amount.currency.clone())
        .unwrap_or_default();
    let today = FhirDate::parse(&now(ctx)[..10])
        .map_err(|e| ContractError::Internal(format!("transaction date: {e}")))?;
    let payment = rules::check_payment(&response, input, &currency, today).map_err(|e| invalid(id, e))?;
    response.payment = Some(payment);
    store::put_private(ctx, &collection, &response_key, &response)?;
    let mut new = old.clone();
    new.status = Status::Paid;
    new.paid = Some(now(ctx));
    let json = save_claim(ctx, Some(&old), &new)?;
    ctx.set_event("ClaimPaid", &json)?;
    Ok(json)
}

/// `CancelClaim`: the provider withdraws a claim that is not yet adjudicated.
pub fn cancel(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    party::require_provider(ctx.caller(), "cancel claims")?;
    let old = load_claim(ctx, id)?;
    party::require_claim_provider(ctx.caller(), &old, "cancel")?;
    require_status(&old, &[Status::Submitted, Status::Queued], "cancel")?;
    let collection = keys::collection(&old.provider, &old.insurer);
    let claim_key = keys::claim(id)?;
    let mut claim: Claim = store::must_get_private(ctx, &collection, &claim_key)?;
    release_services(ctx, &collection, &claim)?;
    claim.status = "cancelled".into();
    store::put_private(ctx, &collection, &claim_key, &claim)?;
    let mut new = old.clone();
    new.status = Status::Cancelled;
    new.cancelled = Some(now(ctx));
    let json = save_claim(ctx, Some(&old), &new)?;
    ctx.set_event("ClaimCancelled", &json)?;
    Ok(json)
}
