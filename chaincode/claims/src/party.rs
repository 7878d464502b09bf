//! Who may do what: providers, insurers and the parties of one claim, read from the caller's certificate.
//!
//! The endorser has verified the proposal creator's certificate before the contract runs (endorse step);
//! these checks turn its MSP id and fabric-ca `role` attribute into the claims roles. Each org's CA issues
//! its own attributes, so an attribute alone proves nothing across orgs: what makes an insurer *the* insurer
//! of a claim is that the claim names its MSP id (and that MSP registered the coverage billed), and what
//! makes a hospital the provider is that its MSP submitted the claim. The attribute narrows it to the right
//! people inside that org (billing clerks, claims adjusters), so a clinician's certificate cannot bill.
//!
//! | role | attribute | functions |
//! |---|---|---|
//! | provider | `role=billing` | `SubmitClaim`, `CancelClaim` (own MSP's claims), `ReadClaimDetails` |
//! | insurer | `role=insurer` or `role=claims_adjuster` | coverage, queue, adjudicate, pay, `QueryClaims`, `ReadClaimDetails` |
//! | party | any identity of the claim's provider or insurer MSP | `ReadClaim`, `ClaimHistory` |
//!
//! The NodeOU role (client, admin) is not checked: attributes are only present in enrolled users'
//! certificates, and an admin enrolled with the attribute is as trusted as a client.

use chaincode_api::{Caller, ContractError};

use crate::record::ClaimRecord;

/// The certificate attribute carrying the claims role.
pub const ROLE_ATTR: &str = "role";

/// Attribute values that make a hospital identity a provider (billing office).
pub const PROVIDER_ROLES: &[&str] = &["billing"];

/// Attribute values that make an insurer identity a claims processor.
pub const INSURER_ROLES: &[&str] = &["insurer", "claims_adjuster"];

fn has_any(caller: &Caller, roles: &[&str]) -> bool {
    caller.attr(ROLE_ATTR).is_some_and(|r| roles.contains(&r))
}

fn wanted(roles: &[&str]) -> String {
    roles
        .iter()
        .map(|r| format!("{ROLE_ATTR}={r}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn has_text(caller: &Caller) -> String {
    match caller.attr(ROLE_ATTR) {
        Some(r) => format!("has {ROLE_ATTR}={r}"),
        None => format!("has no {ROLE_ATTR} attribute"),
    }
}

fn denied(caller: &Caller, why: String) -> ContractError {
    ContractError::Forbidden(format!("access denied: caller {caller} {why}"))
}

/// `Forbidden` unless the caller is a provider (hospital billing identity). `doing` completes "needs … to".
pub fn require_provider(caller: &Caller, doing: &str) -> Result<(), ContractError> {
    if has_any(caller, PROVIDER_ROLES) {
        return Ok(());
    }
    Err(denied(
        caller,
        format!(
            "needs attribute {} to {doing}, {}",
            wanted(PROVIDER_ROLES),
            has_text(caller)
        ),
    ))
}

/// `Forbidden` unless the caller is an insurer's claims identity.
pub fn require_insurer(caller: &Caller, doing: &str) -> Result<(), ContractError> {
    if has_any(caller, INSURER_ROLES) {
        return Ok(());
    }
    Err(denied(
        caller,
        format!(
            "needs attribute {} to {doing}, {}",
            wanted(INSURER_ROLES),
            has_text(caller)
        ),
    ))
}

/// `Forbidden` unless the caller is a provider identity of the claim's provider MSP.
pub fn require_claim_provider(
    caller: &Caller,
    claim: &ClaimRecord,
    doing: &str,
) -> Result<(), ContractError> {
    if caller.msp_id != claim.provider {
        return Err(denied(
            caller,
            format!(
                "cannot {doing} claim {}: only {} (its provider) may",
                claim.id, claim.provider
            ),
        ));
    }
    require_provider(caller, &format!("{doing} claim {}", claim.id))
}

/// `Forbidden` unless the caller is an insurer identity of the claim's insurer MSP.
pub fn require_claim_insurer(caller: &Caller, claim: &ClaimRecord, doing: &str) -> Result<(), ContractError> {
    if caller.msp_id != claim.insurer {
        return Err(denied(
            caller,
            format!(
                "cannot {doing} claim {}: only {} (its insurer) may",
                claim.id, claim.insurer
            ),
        ));
    }
    require_insurer(caller, &format!("{doing} claim {}", claim.id))
}

/// `Forbidden` unless the caller belongs to the claim's provider or insurer MSP (public record and history).
pub fn require_party(caller: &Caller, claim: &ClaimRecord) -> Result<(), ContractError> {
    if caller.msp_id == claim.provider || caller.msp_id == claim.insurer {
        return Ok(());
    }
    Err(denied(
        caller,
        format!(
            "is not a party to claim {}: only {} and {} may read it",
            claim.id, claim.provider, claim.insurer
        ),
    ))
}

/// `Forbidden` unless the caller may read the claim's private details: a provider identity of its provider
/// or an insurer identity of its insurer.
pub fn require_details_reader(caller: &Caller, claim: &ClaimRecord) -> Result<(), ContractError> {
    if caller.msp_id == claim.provider {
        return require_provider(caller, &format!("read the details of claim {}", claim.id));
    }
    if caller.msp_id == claim.insurer {
        return require_insurer(caller, &format!("read the details of claim {}", claim.id));
    }
    Err(denied(
        caller,
        format!(
            "cannot read the details of claim {}: they are shared only by {} and {}",
            claim.id, claim.provider, claim.insurer
        ),
    ))
}
