//! Turns a [`Call`] into a typed [`Action`] with every check that needs no state.
//!
//! This runs first in the endorser's simulation, before the contract reads anything, so a malformed id,
//! date, filter or page size is refused without recording a read. Identifiers are checked against FHIR's id
//! syntax (`[A-Za-z0-9-.]{1,64}`): they become composite-key parts and `Type/id` references, and the rule
//! keeps them printable and free of the key separator.

use chaincode_api::{Call, Contract, ContractError};

use crate::money::FhirDate;
use crate::query::Filter;

/// Largest page a query or `QueueClaims` returns.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Page size when `QueryClaims` gets none.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// One request to the claims chaincode, arguments parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Insurer registers a patient's coverage.
    RegisterCoverage {
        /// Coverage id (unique per insurer).
        coverage_id: &'a str,
        /// Patient pseudonym.
        patient: &'a str,
        /// First covered day.
        start: FhirDate,
        /// Last covered day, if any.
        end: Option<FhirDate>,
    },
    /// Insurer withdraws a coverage.
    CancelCoverage {
        /// Coverage id.
        coverage_id: &'a str,
    },
    /// Anyone reads a coverage's public record.
    ReadCoverage {
        /// Insurer MSP id.
        insurer: &'a str,
        /// Coverage id.
        coverage_id: &'a str,
    },
    /// Provider submits a claim (details in transient `claim`).
    SubmitClaim {
        /// Claim id.
        claim_id: &'a str,
        /// Insurer MSP id billed.
        insurer: &'a str,
        /// Coverage billed.
        coverage_id: &'a str,
        /// Patient pseudonym.
        patient: &'a str,
    },
    /// Insurer queues one submitted claim.
    QueueClaim(&'a str),
    /// Insurer queues up to `n` of its oldest submitted claims.
    QueueClaims(u32),
    /// Insurer adjudicates a queued claim (details in transient `adjudication`).
    AdjudicateClaim(&'a str),
    /// Insurer pays an adjudicated claim (optional transient `payment`).
    PayClaim(&'a str),
    /// Provider cancels a claim before adjudication.
    CancelClaim(&'a str),
    /// A party reads the public record.
    ReadClaim(&'a str),
    /// A provider or insurer identity reads the private Claim and ClaimResponse.
    ReadClaimDetails(&'a str),
    /// A party reads every committed version of the public record.
    ClaimHistory(&'a str),
    /// Insurer lists its claims through one index.
    QueryClaims {
        /// Which index and range.
        filter: Filter,
        /// Page size, 1..=[`MAX_PAGE_SIZE`].
        page_size: u32,
        /// Bookmark from the previous page, decoded (empty for the first page).
        bookmark: String,
    },
}

impl<'a> Action<'a> {
    /// Parses `call` for `contract` (used to list the functions when the name is unknown).
    pub fn parse(contract: &dyn Contract, call: &Call<'a>) -> Result<Action<'a>, ContractError> {
        let one_id = |what: &str| -> Result<&'a str, ContractError> {
            call.expect_args(1)?;
            fhir_id(call, 0, what)
        };
        let action = match call.function {
            "RegisterCoverage" => register_coverage(call)?,
            "CancelCoverage" => Action::CancelCoverage {
                coverage_id: one_id("coverage id")?,
            },
            "ReadCoverage" => {
                call.expect_args(2)?;
                Action::ReadCoverage {
                    insurer: msp_id(call, 0, "insurer MSP id")?,
                    coverage_id: fhir_id(call, 1, "coverage id")?,
                }
            }
            "SubmitClaim" => {
                call.expect_args(4)?;
                Action::SubmitClaim {
                    claim_id: fhir_id(call, 0, "claim id")?,
                    insurer: msp_id(call, 1, "insurer MSP id")?,
                    coverage_id: fhir_id(call, 2, "coverage id")?,
                    patient: fhir_id(call, 3, "patient pseudonym")?,
                }
            }
            "QueueClaim" => Action::QueueClaim(one_id("claim id")?),
            "QueueClaims" => {
                call.expect_args(1)?;
                Action::QueueClaims(page_size(call, 0)?)
            }
            "AdjudicateClaim" => Action::AdjudicateClaim(one_id("claim id")?),
            "PayClaim" => Action::PayClaim(one_id("claim id")?),
            "CancelClaim" => Action::CancelClaim(one_id("claim id")?),
            "ReadClaim" => Action::ReadClaim(one_id("claim id")?),
            "ReadClaimDetails" => Action::ReadClaimDetails(one_id("claim id")?),
            "ClaimHistory" => Action::ClaimHistory(one_id("claim id")?),
            "QueryClaims" => query_claims(call)?,
            _ => return Err(chaincode_api::unknown_function(contract, call.function)),
        };
        Ok(action)
    }
}

fn register_coverage<'a>(call: &Call<'a>) -> Result<Action<'a>, ContractError> {
    if !(3..=4).contains(&call.args.len()) {
        return Err(ContractError::BadRequest(format!(
            "Incorrect number of arguments for RegisterCoverage. Expecting 3 or 4 (coverageId, patient, \
             start, [end]), received {}",
            call.args.len()
        )));
    }
    let start = date(call, 2, "coverage start")?;
    let end = match call.args.get(3).filter(|a| !a.is_empty()) {
        Some(_) => Some(date(call, 3, "coverage end")?),
        None => None,
    };
    if let Some(end) = end.as_ref().filter(|end| **end < start) {
        return Err(ContractError::BadRequest(format!(
            "RegisterCoverage: coverage end {end} is before its start {start}"
        )));
    }
    Ok(Action::RegisterCoverage {
        coverage_id: fhir_id(call, 0, "coverage id")?,
        patient: fhir_id(call, 1, "patient pseudonym")?,
        start,
        end,
    })
}

fn query_claims<'a>(call: &Call<'a>) -> Result<Action<'a>, ContractError> {
    if !(1..=3).contains(&call.args.len()) {
        return Err(ContractError::BadRequest(format!(
            "Incorrect number of arguments for QueryClaims. Expecting 1 to 3 (filter, [pageSize], \
             [bookmark]), received {}",
            call.args.len()
        )));
    }
    let filter: Filter = if call.arg(0)?.is_empty() {
        Filter::default()
    } else {
        call.json_arg(0)?
    };
    filter.validate()?;
    let page_size = match call.args.get(1).filter(|a| !a.is_empty()) {
        Some(_) => page_size(call, 1)?,
        None => DEFAULT_PAGE_SIZE,
    };
    let bookmark = match call.args.get(2) {
        Some(_) => {
            let text = call.str_arg(2)?;
            crate::keys::unhex(text).ok_or_else(|| {
                ContractError::BadRequest(format!(
                    "QueryClaims: argument 3 is not a bookmark returned by QueryClaims: {text:?}"
                ))
            })?
        }
        None => String::new(),
    };
    Ok(Action::QueryClaims {
        filter,
        page_size,
        bookmark,
    })
}

fn page_size(call: &Call<'_>, i: usize) -> Result<u32, ContractError> {
    let n = call.int_arg(i)?;
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
        .ok_or_else(|| {
            ContractError::BadRequest(format!(
                "{}: argument {} must be a page size from 1 to {MAX_PAGE_SIZE}, got {n}",
                call.function,
                i + 1
            ))
        })
}

fn date(call: &Call<'_>, i: usize, what: &str) -> Result<FhirDate, ContractError> {
    FhirDate::parse(call.str_arg(i)?).map_err(|e| {
        ContractError::BadRequest(format!("{}: argument {} ({what}): {e}", call.function, i + 1))
    })
}

/// Whether `text` is a FHIR id: 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_fhir_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn fhir_id<'a>(call: &Call<'a>, i: usize, what: &str) -> Result<&'a str, ContractError> {
    let text = call.str_arg(i)?;
    if is_fhir_id(text) {
        return Ok(text);
    }
    Err(ContractError::BadRequest(format!(
        "{}: argument {} ({what}) must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.', got {text:?}",
        call.function,
        i + 1
    )))
}

/// MSP ids also allow `_`; they name collections, so nothing else.
fn msp_id<'a>(call: &Call<'a>, i: usize, what: &str) -> Result<&'a str, ContractError> {
    let text = call.str_arg(i)?;
    let ok = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        return Ok(text);
    }
    Err(ContractError::BadRequest(format!(
        "{}: argument {} ({what}) must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '.' and '_', got {text:?}",
        call.function,
        i + 1
    )))
}
