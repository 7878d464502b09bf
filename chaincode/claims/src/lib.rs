//! `claims`: insurance claims between hospitals and insurers (FHIR R4 `Claim` → `ClaimResponse`).
//!
//! Hospitals submit claims, insurers queue, adjudicate and pay them, and insurers work through their claims
//! with paginated queries. Like every contract it runs only in the endorse step of endorse → order →
//! validate: the simulator gives it a [`Context`] over committed state, records its reads (and range reads,
//! phantom-checked at validation when they feed writes), and buffers its writes. It is deterministic: the
//! only clock is the transaction timestamp and amounts are exact integers.
//!
//! **What is where.** The shared ledger holds, per claim, a public record ([`ClaimRecord`]): id, provider
//! and insurer MSP ids, patient pseudonym, coverage id, status, outcome and lifecycle instants, plus four
//! secondary indexes. Diagnoses, billed services, amounts, adjudications and payment live only in the
//! private data collection `claims_<providerMSP>_<insurerMSP>` ([`keys::collection`]), delivered through
//! transient data so they never appear in a block. Events carry the public record.
//!
//! | function | args | transient | caller | writes (public / private) | returns |
//! |---|---|---|---|---|---|
//! | `RegisterCoverage` | coverageId, patient, start, end? | — | insurer | coverage record (+ key policy: insurer) / — | coverage |
//! | `CancelCoverage` | coverageId | — | insurer (own) | coverage status / — | coverage |
//! | `ReadCoverage` | insurerMSP, coverageId | — | anyone | — | coverage |
//! | `SubmitClaim` | claimId, insurerMSP, coverageId, patient | `claim` | provider | record, 4 indexes (+ key policy: both orgs) / Claim, service keys | record |
//! | `QueueClaim` | claimId | — | its insurer | record, indexes | record |
//! | `QueueClaims` | max | — | insurer | records, indexes of up to `max` oldest submitted | `{"claims","more"}` |
//! | `AdjudicateClaim` | claimId | `adjudication` | its insurer | record, indexes / ClaimResponse (error: service keys released) | record |
//! | `PayClaim` | claimId | `payment` (optional) | its insurer | record, indexes / ClaimResponse.payment | record |
//! | `CancelClaim` | claimId | — | its provider | record, indexes / Claim status, service keys released | record |
//! | `ReadClaim` | claimId | — | either party | — | record |
//! | `ReadClaimDetails` | claimId | — | provider or insurer staff of the claim | — | `{"claim","claimResponse"}` |
//! | `ClaimHistory` | claimId | — | either party | — | versions, newest first |
//! | `QueryClaims` | filter, pageSize?, bookmark? | — | insurer (own claims) | — | page (see [`query`]) |
//!
//! Roles come from certificates ([`party`]): provider = `role=billing`, insurer = `role=insurer` or
//! `role=claims_adjuster`. Events: `CoverageRegistered`, `CoverageCancelled`, `ClaimSubmitted`,
//! `ClaimQueued`, `ClaimsQueued` (array), `ClaimAdjudicated`, `ClaimPaid`, `ClaimCancelled`.
//!
//! # Layout
//! * `action`: arguments → [`Action`] (no state). `party`: caller rules. `keys`: every key and the index
//!   layout. `record`: public records. `fhir`: private FHIR documents. `money`: exact amounts and dates.
//! * `rules`: claim, adjudication and payment checks. `coverage`, `lifecycle`, `read`, `query`: what each
//!   function does to state. `store`: record/index writes and private/transient helpers.

mod action;
mod coverage;
pub mod fhir;
pub mod keys;
mod lifecycle;
pub mod money;
pub mod party;
pub mod query;
mod read;
pub mod record;
pub mod rules;
mod store;

pub use action::{Action, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use record::{ClaimRecord, CoverageRecord, CoverageStatus, Period, Status};

use chaincode_api::{Call, Context, Contract, ContractError};

/// The chaincode name clients use (`ChaincodeID.name`).
pub const CHAINCODE_NAME: &str = "claims";

/// Functions served.
pub const FUNCTIONS: &[&str] = &[
    "RegisterCoverage",
    "CancelCoverage",
    "ReadCoverage",
    "SubmitClaim",
    "QueueClaim",
    "QueueClaims",
    "AdjudicateClaim",
    "PayClaim",
    "CancelClaim",
    "ReadClaim",
    "ReadClaimDetails",
    "ClaimHistory",
    "QueryClaims",
];

/// The claims contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClaimsContract;

impl Contract for ClaimsContract {
    fn name(&self) -> &str {
        CHAINCODE_NAME
    }

    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        let action = Action::parse(self, call)?;
        apply(ctx, action)
    }

    fn functions(&self) -> &[&'static str] {
        FUNCTIONS
    }
}

fn apply(ctx: &mut dyn Context, action: Action<'_>) -> Result<Vec<u8>, ContractError> {
    match action {
        Action::RegisterCoverage {
            coverage_id,
            patient,
            start,
            end,
        } => coverage::register(ctx, coverage_id, patient, Period { start, end }),
        Action::CancelCoverage { coverage_id } => coverage::cancel(ctx, coverage_id),
        Action::ReadCoverage { insurer, coverage_id } => coverage::read(ctx, insurer, coverage_id),
        Action::SubmitClaim {
            claim_id,
            insurer,
            coverage_id,
            patient,
        } => lifecycle::submit(
            ctx,
            lifecycle::Submission {
                claim_id,
                insurer,
                coverage_id,
                patient,
            },
        ),
        Action::QueueClaim(id) => lifecycle::queue(ctx, id),
        Action::QueueClaims(max) => lifecycle::queue_oldest(ctx, max),
        Action::AdjudicateClaim(id) => lifecycle::adjudicate(ctx, id),
        Action::PayClaim(id) => lifecycle::pay(ctx, id),
        Action::CancelClaim(id) => lifecycle::cancel(ctx, id),
        Action::ReadClaim(id) => read::read_claim(ctx, id),
        Action::ReadClaimDetails(id) => read::read_details(ctx, id),
        Action::ClaimHistory(id) => read::history(ctx, id),
        Action::QueryClaims {
            filter,
            page_size,
            bookmark,
        } => query::query_claims(ctx, &filter, page_size, &bookmark),
    }
}
