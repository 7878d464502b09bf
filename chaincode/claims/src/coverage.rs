//! Coverage: the insurer's statement that a patient (by pseudonym) is covered for a period.
//!
//! A claim may only bill a coverage its insurer registered, for the same patient, in force on every service
//! date; this module holds the records (endorse step: written by the insurer, read by submissions). The
//! public record holds no health information: pseudonym, insurer, status and period. Each coverage carries a
//! key-level endorsement policy naming the insurer's peers, so no other org can rewrite it.

use chaincode_api::{Context, ContextExt, ContractError, KeyEndorsement, Role};

use crate::keys;
use crate::money::FhirDate;
use crate::party;
use crate::record::{CoverageRecord, CoverageStatus, Period, to_json};

/// `RegisterCoverage`: an insurer identity registers coverage `id` of its own MSP.
pub fn register(
    ctx: &mut dyn Context,
    id: &str,
    patient: &str,
    period: Period,
) -> Result<Vec<u8>, ContractError> {
    party::require_insurer(ctx.caller(), "register coverage")?;
    let insurer = ctx.caller().msp_id.clone();
    let key = keys::coverage(&insurer, id)?;
    if ctx.state_exists(&key)? {
        return Err(ContractError::Conflict(format!(
            "coverage {id} of {insurer} already exists"
        )));
    }
    let record = CoverageRecord {
        id: id.to_string(),
        insurer: insurer.clone(),
        patient: patient.to_string(),
        status: CoverageStatus::Active,
        period,
        created: keys::instant(ctx.tx().timestamp),
    };
    let json = to_json(&record)?;
    ctx.put_state(&key, &json)?;
    ctx.set_key_endorsement(&key, Some(&KeyEndorsement::of(Role::Peer, [insurer])?))?;
    ctx.set_event("CoverageRegistered", &json)?;
    Ok(json)
}

/// `CancelCoverage`: the insurer withdraws coverage `id`; claims already submitted are unaffected.
pub fn cancel(ctx: &mut dyn Context, id: &str) -> Result<Vec<u8>, ContractError> {
    party::require_insurer(ctx.caller(), "cancel coverage")?;
    let insurer = ctx.caller().msp_id.clone();
    let mut record = load(ctx, &insurer, id)?;
    if record.status == CoverageStatus::Cancelled {
        return Err(ContractError::Conflict(format!(
            "coverage {id} of {insurer} is already cancelled"
        )));
    }
    record.status = CoverageStatus::Cancelled;
    let json = to_json(&record)?;
    ctx.put_state(&keys::coverage(&insurer, id)?, &json)?;
    ctx.set_event("CoverageCancelled", &json)?;
    Ok(json)
}

/// The committed coverage `id` of `insurer`, or `NotFound`.
pub fn load(ctx: &mut dyn Context, insurer: &str, id: &str) -> Result<CoverageRecord, ContractError> {
    let key = keys::coverage(insurer, id)?;
    let bytes = ctx
        .get_state(&key)?
        .ok_or_else(|| ContractError::NotFound(format!("no coverage {id} is registered by {insurer}")))?;
    CoverageRecord::from_stored(&key, &bytes)
}

/// `Conflict` unless `coverage` is active, covers `patient`, and is in force on every date in `dates`.
pub fn check_covers<'d>(
    coverage: &CoverageRecord,
    patient: &str,
    dates: impl IntoIterator<Item = &'d FhirDate>,
) -> Result<(), ContractError> {
    let name = format!("coverage {} of {}", coverage.id, coverage.insurer);
    if coverage.patient != patient {
        return Err(ContractError::Conflict(format!(
            "{name} covers another patient, not {patient}"
        )));
    }
    if coverage.status != CoverageStatus::Active {
        return Err(ContractError::Conflict(format!("{name} is cancelled")));
    }
    match dates.into_iter().find(|d| !coverage.period.contains(d)) {
        Some(date) => Err(ContractError::Conflict(format!(
            "{name} (period {}) does not cover service date {date}",
            coverage.period
        ))),
        None => Ok(()),
    }
}

/// `ReadCoverage`: the public coverage record, for any member of the channel (hospitals check coverage
/// before submitting).
pub fn read(ctx: &mut dyn Context, insurer: &str, id: &str) -> Result<Vec<u8>, ContractError> {
    to_json(&load(ctx, insurer, id)?)
}
