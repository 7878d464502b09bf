//! Turns a [`Call`] into a typed [`Action`] with every check that needs no state.
//!
//! This runs first in the endorser's simulation, before the contract reads anything, so a malformed
//! pseudonym, id, purpose or consent rule is refused without recording a read. Arguments end up in the block,
//! so none of them may carry PHI: they are pseudonyms, random ids, codes and consent rules. PHI and secrets
//! travel only in transient fields, which each function reads itself.

use chaincode_api::{Call, Contract, ContractError};

use crate::fhir::Provision;
use crate::ids::{COMMITMENT_HEX, ID_HEX, check_hex, is_hex, preview, unhex};
use crate::policy;

/// Most records one `RequestAccess` may name.
pub const MAX_RECORDS_PER_REQUEST: usize = 20;
/// Largest page `ListAccessesByOrg` returns.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Page size when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// One request to the records chaincode, arguments parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Hospital staff register a pseudonym (transient `patient`, `binding`).
    RegisterPatient(String),
    /// The patient links two of their registrations (transient `binding` for both).
    LinkPatients(String, String),
    /// The patient names a delegate by commitment.
    AddDelegate(String, String),
    /// The patient removes a delegate.
    RemoveDelegate(String, String),
    /// The patient or a delegate grants a consent (optional transient `research`).
    GrantConsent {
        /// Pseudonym.
        patient: String,
        /// Client-chosen consent id.
        consent_id: String,
        /// The rule.
        provision: Box<Provision>,
    },
    /// The patient or a delegate revokes a consent.
    RevokeConsent(String),
    /// The patient stores a research token at the pseudonym's hospital (transient `research`).
    SetResearchToken(String),
    /// A practitioner adds a record (transient `resource`, `salt`).
    AddRecord {
        /// Pseudonym.
        patient: String,
        /// Client-chosen record id.
        record_id: String,
    },
    /// A lab admin creates a preliminary lab report (transient `resource`, `salt`).
    CreateLabReport {
        /// Pseudonym.
        patient: String,
        /// Client-chosen report id.
        report_id: String,
    },
    /// The hospital admin countersigns a lab report whose hash they verified.
    SignLabReport {
        /// Report id.
        report_id: String,
        /// The salted hash being signed.
        hash: String,
    },
    /// Anyone asks for access; always audited.
    RequestAccess {
        /// Record ids (one patient, one collection).
        records: Vec<String>,
        /// `v3-ActReason` purpose.
        purpose: String,
    },
    /// The patient asks for erasure (for the hospital admin to carry out).
    RequestErasure(String),
    /// The patient, or the hospital admin on the patient's request, purges the patient's private data.
    ErasePatient(String),
    /// Evaluate only: the grant holder reads a record.
    ReadRecord {
        /// Grant id.
        grant_id: String,
        /// Record id.
        record_id: String,
    },
    /// Evaluate: the patient or a delegate lists every access to the patient's data.
    ListAccesses(String),
    /// Evaluate: a compliance officer lists accesses by its organization's identities.
    ListAccessesByOrg {
        /// Page size.
        page_size: u32,
        /// Decoded bookmark ("" for the first page).
        bookmark: String,
    },
    /// Evaluate: public registry entry.
    ReadPatient(String),
    /// Evaluate: public record metadata.
    RecordInfo(String),
    /// Evaluate: public metadata of every record of a patient (linked registrations included).
    ListRecords(String),
    /// Evaluate: a consent.
    ReadConsent(String),
    /// Evaluate: every committed version of a consent, newest first.
    ConsentHistory(String),
    /// Evaluate: every consent of a patient (linked registrations included).
    ListConsents(String),
}

impl Action {
    /// Parses `call` for `contract` (used to list the functions when the name is unknown).
    pub fn parse(contract: &dyn Contract, call: &Call<'_>) -> Result<Action, ContractError> {
        let one = |what: &str| -> Result<String, ContractError> {
            call.expect_args(1)?;
            hex_arg(call, 0, ID_HEX, what)
        };
        let action = match call.function {
            "RegisterPatient" => Action::RegisterPatient(one("pseudonym")?),
            "LinkPatients" => {
                call.expect_args(2)?;
                let (a, b) = (
                    hex_arg(call, 0, ID_HEX, "pseudonym")?,
                    hex_arg(call, 1, ID_HEX, "pseudonym")?,
                );
                if a == b {
                    return Err(ContractError::BadRequest(format!(
                        "LinkPatients: cannot link {a} to itself"
                    )));
                }
                Action::LinkPatients(a, b)
            }
            "AddDelegate" | "RemoveDelegate" => delegate(call)?,
            "GrantConsent" => grant_consent(call)?,
            "RevokeConsent" => Action::RevokeConsent(one("consent id")?),
            "SetResearchToken" => Action::SetResearchToken(one("pseudonym")?),
            "AddRecord" | "CreateLabReport" => new_record(call)?,
            "SignLabReport" => {
                call.expect_args(2)?;
                Action::SignLabReport {
                    report_id: hex_arg(call, 0, ID_HEX, "report id")?,
                    hash: hex_arg(call, 1, 64, "report hash")?,
                }
            }
            "RequestAccess" => request_access(call)?,
            "RequestErasure" => Action::RequestErasure(one("pseudonym")?),
            "ErasePatient" => Action::ErasePatient(one("pseudonym")?),
            "ReadRecord" => read_record(call)?,
            "ListAccesses" => Action::ListAccesses(one("pseudonym")?),
            "ListAccessesByOrg" => list_by_org(call)?,
            "ReadPatient" => Action::ReadPatient(one("pseudonym")?),
            "RecordInfo" => Action::RecordInfo(one("record id")?),
            "ListRecords" => Action::ListRecords(one("pseudonym")?),
            "ReadConsent" => Action::ReadConsent(one("consent id")?),
            "ConsentHistory" => Action::ConsentHistory(one("consent id")?),
            "ListConsents" => Action::ListConsents(one("pseudonym")?),
            _ => return Err(chaincode_api::unknown_function(contract, call.function)),
        };
        Ok(action)
    }
}

fn hex_arg(call: &Call<'_>, i: usize, len: usize, what: &str) -> Result<String, ContractError> {
    let text = call.str_arg(i)?;
    check_hex(text, len, what).map_err(|e| {
        ContractError::BadRequest(format!("{}: argument {} ({what}): {e}", call.function, i + 1))
    })?;
    Ok(text.to_string())
}

fn delegate(call: &Call<'_>) -> Result<Action, ContractError> {
    call.expect_args(2)?;
    let p = hex_arg(call, 0, ID_HEX, "pseudonym")?;
    let c = hex_arg(call, 1, COMMITMENT_HEX, "delegate commitment")?;
    Ok(match call.function {
        "AddDelegate" => Action::AddDelegate(p, c),
        _ => Action::RemoveDelegate(p, c),
    })
}

fn new_record(call: &Call<'_>) -> Result<Action, ContractError> {
    call.expect_args(2)?;
    let patient = hex_arg(call, 0, ID_HEX, "pseudonym")?;
    let id = hex_arg(call, 1, ID_HEX, "record id")?;
    Ok(match call.function {
        "AddRecord" => Action::AddRecord {
            patient,
            record_id: id,
        },
        _ => Action::CreateLabReport {
            patient,
            report_id: id,
        },
    })
}

fn read_record(call: &Call<'_>) -> Result<Action, ContractError> {
    call.expect_args(2)?;
    let grant_id = call.str_arg(0)?.to_string();
    if !grant_id.strip_prefix("grant-").is_some_and(|h| is_hex(h, ID_HEX)) {
        return Err(ContractError::BadRequest(format!(
            "ReadRecord: argument 1 must be a grant id returned by RequestAccess (grant-<32 hex>), got {}",
            preview(&grant_id)
        )));
    }
    Ok(Action::ReadRecord {
        grant_id,
        record_id: hex_arg(call, 1, ID_HEX, "record id")?,
    })
}

fn grant_consent(call: &Call<'_>) -> Result<Action, ContractError> {
    call.expect_args(3)?;
    let provision: Provision = call.json_arg(2)?;
    policy::validate(&provision)
        .map_err(|e| ContractError::BadRequest(format!("GrantConsent: argument 3 (provision): {e}")))?;
    Ok(Action::GrantConsent {
        patient: hex_arg(call, 0, ID_HEX, "pseudonym")?,
        consent_id: hex_arg(call, 1, ID_HEX, "consent id")?,
        provision: Box::new(provision),
    })
}

fn request_access(call: &Call<'_>) -> Result<Action, ContractError> {
    call.expect_args(2)?;
    let first = call.str_arg(0)?;
    let records: Vec<String> = if first.trim_start().starts_with('[') {
        call.json_arg(0)?
    } else {
        vec![first.to_string()]
    };
    if records.is_empty() || records.len() > MAX_RECORDS_PER_REQUEST {
        return Err(ContractError::BadRequest(format!(
            "RequestAccess: argument 1 must name 1 to {MAX_RECORDS_PER_REQUEST} record ids, got {}",
            records.len()
        )));
    }
    for (i, id) in records.iter().enumerate() {
        check_hex(id, ID_HEX, "record id")
            .map_err(|e| ContractError::BadRequest(format!("RequestAccess: record {}: {e}", i + 1)))?;
        if records[..i].contains(id) {
            return Err(ContractError::BadRequest(format!(
                "RequestAccess: record {id} is named twice"
            )));
        }
    }
    let purpose = call.str_arg(1)?.to_string();
    if !policy::PURPOSES.contains(&purpose.as_str()) {
        return Err(ContractError::BadRequest(format!(
            "RequestAccess: argument 2 (purpose) must be one of {}, got {}",
            policy::PURPOSES.join(", "),
            preview(&purpose)
        )));
    }
    Ok(Action::RequestAccess { records, purpose })
}

fn list_by_org(call: &Call<'_>) -> Result<Action, ContractError> {
    if call.args.len() > 2 {
        return Err(ContractError::BadRequest(format!(
            "Incorrect number of arguments for ListAccessesByOrg. Expecting 0 to 2 ([pageSize], [bookmark]), \
             received {}",
            call.args.len()
        )));
    }
    let page_size =
        match call.args.first().filter(|a| !a.is_empty()) {
            Some(_) => {
                let n = call.int_arg(0)?;
                u32::try_from(n).ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(|| {
                ContractError::BadRequest(format!(
                    "ListAccessesByOrg: argument 1 must be a page size from 1 to {MAX_PAGE_SIZE}, got {n}"
                ))
            })?
            }
            None => DEFAULT_PAGE_SIZE,
        };
    let bookmark =
        match call.args.get(1).filter(|a| !a.is_empty()) {
            Some(_) => {
                let text = call.str_arg(1)?;
                unhex(text).and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| {
                ContractError::BadRequest(format!(
                    "ListAccessesByOrg: argument 2 is not a bookmark returned by ListAccessesByOrg: {}",
                    preview(text)
                ))
            })?
            }
            None => String::new(),
        };
    Ok(Action::ListAccessesByOrg { page_size, bookmark })
}
