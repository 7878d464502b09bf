//! Who may do what, read from the caller's certificate, and how a patient proves a pseudonym is theirs.
//!
//! The endorser has verified the proposal creator's certificate before the contract runs (endorse step); we
//! read its MSP id, NodeOU role and fabric-ca attributes:
//!
//! | actor | certificate | functions |
//! |---|---|---|
//! | practitioner | NodeOU client, `role=doctor` or `role=nurse` | `AddRecord` (own hospital's patients), `RequestAccess` + `ReadRecord` |
//! | registrar | NodeOU client, `role=doctor`, `nurse` or `registrar` | `RegisterPatient` |
//! | patient | NodeOU client, `role=patient`, bound to the pseudonym | consents, delegates, links, research token, erasure, `ListAccesses` |
//! | delegate | NodeOU client, bound to the pseudonym by the patient | `GrantConsent`, `RevokeConsent`, `ListAccesses` |
//! | lab admin | NodeOU admin of the lab org | `CreateLabReport` |
//! | hospital admin | NodeOU admin of the patient's hospital | `SignLabReport`, `ErasePatient` on the patient's request |
//! | compliance officer | `role=compliance_officer` | `ListAccessesByOrg` (own org) |
//!
//! Administrators (NodeOU admin) never receive PHI: their access requests are denied and audited, they
//! cannot act as patients, and the functions they may call return no PHI.
//!
//! **Patient binding.** The registering hospital binds the patient's certificate id to the pseudonym with a
//! random salt: the public patient record holds only `SHA-256(salt ‖ certificate id)`; the salt and id stay
//! in the hospital's collection and the salt is handed to the patient. To act, the patient sends the salt as
//! transient data (`binding`: `{"<pseudonym>": "<salt hex>"}`) and the contract recomputes the commitment
//! from `ctx.caller().id`. This works on every peer (no private read), the salt never reaches the ledger, and
//! without it nobody can tell which certificate controls a pseudonym.

use std::collections::BTreeMap;

use chaincode_api::{Caller, Context, ContractError, Role};

use crate::hashing::commitment;
use crate::ledger::{ControllerKind, PatientRecord};
use crate::store;

/// The certificate attribute carrying the user's role.
pub const ROLE_ATTR: &str = "role";
/// Roles that may request access to records and add them.
pub const PRACTITIONER_ROLES: &[&str] = &["doctor", "nurse"];
/// Roles that may register patients.
pub const REGISTRAR_ROLES: &[&str] = &["doctor", "nurse", "registrar"];
/// The patient role.
pub const PATIENT_ROLE: &str = "patient";
/// The compliance officer role.
pub const COMPLIANCE_ROLE: &str = "compliance_officer";
/// Transient field carrying binding salts, `{"<pseudonym>": "<64 hex>"}`.
pub const BINDING: &str = "binding";

/// Whether the caller's certificate is an administrator's (NodeOU admin).
pub fn is_admin(caller: &Caller) -> bool {
    caller.role == Role::Admin
}

/// Whether the caller is a practitioner: not an admin, `role=doctor` or `role=nurse`.
pub fn is_practitioner(caller: &Caller) -> bool {
    !is_admin(caller)
        && caller
            .attr(ROLE_ATTR)
            .is_some_and(|r| PRACTITIONER_ROLES.contains(&r))
}

/// `Forbidden` with the caller named first.
pub fn denied(caller: &Caller, why: impl std::fmt::Display) -> ContractError {
    ContractError::Forbidden(format!("access denied: caller {caller} {why}"))
}

fn role_text(caller: &Caller) -> String {
    match caller.attr(ROLE_ATTR) {
        Some(r) => format!("has {ROLE_ATTR}={r}"),
        None => format!("has no {ROLE_ATTR} attribute"),
    }
}

/// `Forbidden` unless the caller is a non-admin of `hospital` with one of `roles`.
pub fn require_staff(
    caller: &Caller,
    hospital: &str,
    roles: &[&str],
    doing: &str,
) -> Result<(), ContractError> {
    let wanted: Vec<String> = roles.iter().map(|r| format!("{ROLE_ATTR}={r}")).collect();
    if is_admin(caller) {
        return Err(denied(
            caller,
            format!(
                "is an administrator (NodeOU admin), and administrators never handle PHI: {doing} needs a client \
                 certificate with {}",
                wanted.join(" or ")
            ),
        ));
    }
    if !caller.attr(ROLE_ATTR).is_some_and(|r| roles.contains(&r)) {
        return Err(denied(
            caller,
            format!(
                "needs attribute {} to {doing}, {}",
                wanted.join(" or "),
                role_text(caller)
            ),
        ));
    }
    if caller.msp_id != hospital {
        return Err(denied(
            caller,
            format!("cannot {doing}: only staff of {hospital} may"),
        ));
    }
    Ok(())
}

/// `Forbidden` unless the caller is an administrator (NodeOU admin) of `org`.
pub fn require_admin_of(caller: &Caller, org: &str, doing: &str) -> Result<(), ContractError> {
    if !is_admin(caller) {
        return Err(denied(
            caller,
            format!("cannot {doing}: it needs an administrator (NodeOU admin) of {org}"),
        ));
    }
    if caller.msp_id != org {
        return Err(denied(
            caller,
            format!("cannot {doing}: only an administrator of {org} may"),
        ));
    }
    Ok(())
}

/// `Forbidden` unless the caller has `role=compliance_officer`.
pub fn require_compliance(caller: &Caller) -> Result<(), ContractError> {
    if caller.has_attr(ROLE_ATTR, COMPLIANCE_ROLE) {
        return Ok(());
    }
    Err(denied(
        caller,
        format!(
            "needs attribute {ROLE_ATTR}={COMPLIANCE_ROLE} to list its organization's accesses, {}",
            role_text(caller)
        ),
    ))
}

/// The binding salts sent as transient data (empty map when the field is absent).
pub fn bindings(ctx: &dyn Context, doing: &str) -> Result<BTreeMap<String, String>, ContractError> {
    if ctx.transient(BINDING).is_none() {
        return Ok(BTreeMap::new());
    }
    store::transient_json(ctx, BINDING, doing)
}

/// Checks the caller controls `patient`: the salt sent for its pseudonym, hashed with the caller's
/// certificate id, must equal one of the patient's commitments. A patient commitment also needs
/// `role=patient`. Returns which kind matched and its commitment.
pub fn prove(
    caller: &Caller,
    patient: &PatientRecord,
    salts: &BTreeMap<String, String>,
    doing: &str,
) -> Result<(ControllerKind, String), ContractError> {
    let p = &patient.pseudonym;
    if is_admin(caller) {
        return Err(denied(
            caller,
            format!("is an administrator and cannot act for patient {p} ({doing})"),
        ));
    }
    let salt = salts.get(p).ok_or_else(|| {
        denied(
            caller,
            format!(
                "must prove it acts for patient {p} to {doing}: send transient field {BINDING:?} as \
                 {{\"{p}\": \"<binding salt>\"}}"
            ),
        )
    })?;
    let mine = commitment(salt, &caller.id)?;
    let controller = patient
        .controllers
        .iter()
        .find(|c| c.commitment == mine)
        .ok_or_else(|| {
            denied(
                caller,
                format!("is neither the patient nor a delegate of {p}, so it cannot {doing}"),
            )
        })?;
    if controller.kind == ControllerKind::Patient && !caller.has_attr(ROLE_ATTR, PATIENT_ROLE) {
        return Err(denied(
            caller,
            format!(
                "is bound to patient {p} but needs attribute {ROLE_ATTR}={PATIENT_ROLE} to {doing}, {}",
                role_text(caller)
            ),
        ));
    }
    Ok((controller.kind, mine))
}

/// Like [`prove`], but only the patient (not a delegate) qualifies.
pub fn prove_patient(
    caller: &Caller,
    patient: &PatientRecord,
    salts: &BTreeMap<String, String>,
    doing: &str,
) -> Result<String, ContractError> {
    match prove(caller, patient, salts, doing)? {
        (ControllerKind::Patient, commitment) => Ok(commitment),
        (ControllerKind::Delegate, _) => Err(denied(
            caller,
            format!(
                "is a delegate of patient {}; only the patient may {doing}",
                patient.pseudonym
            ),
        )),
    }
}
