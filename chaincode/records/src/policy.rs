//! Consent rules: what a `Consent.provision` may say, and the access decision made from a patient's consents.
//!
//! Evaluated in the endorse step of every `RequestAccess` (and of every record write, to decide on the
//! de-identified research event), against committed consents and the transaction time, exactly as the
//! domain conventions (§6) say: a consent applies only if it is `active`, its provision is a `permit`, its
//! period contains the transaction time, one of its actors is the requester's organization or the requester
//! (by certificate id), its actions include the one asked (`access`), its purposes include the stated
//! purpose and its classes include the record's category (no class = every category). A matching `deny`,
//! whether a consent of its own or a nested provision of a matching permit, wins over every permit.

use chaincode_api::Caller;

use crate::fhir::{ACT_REASON, CONSENT_ACTION, Consent, ConsentStatus, Period, Provision, ProvisionType};
use crate::fhirtime::parse_bound;
use crate::ids::{is_code, is_msp_id};

/// `v3-ActReason` purposes a consent or request may name.
pub const PURPOSES: &[&str] = &["TREAT", "ETREAT", "HPAYMT", "HOPERAT", "HRESCH", "PUBHLTH"];
/// `consentaction` codes.
pub const ACTIONS: &[&str] = &["collect", "access", "use", "disclose", "correct"];
/// The action a practitioner's access request needs.
pub const ACCESS: &str = "access";
/// The action a research consent grants (use of the data for research).
pub const RESEARCH_ACTION: &str = "use";
/// The research purpose.
pub const RESEARCH: &str = "HRESCH";

const MAX_ITEMS: usize = 50;

/// Checks a provision a client sends to `GrantConsent`: a `permit` or `deny` with a period that has a start,
/// at least one actor, action and purpose, known codes, and only `deny` exceptions nested one level under a
/// `permit`.
pub fn validate(p: &Provision) -> Result<(), String> {
    check_fields(p, true)?;
    if p.kind == ProvisionType::Deny && !p.provision.is_empty() {
        return Err("a deny provision cannot carry nested provisions".into());
    }
    for (i, nested) in p.provision.iter().enumerate() {
        if nested.kind != ProvisionType::Deny {
            return Err(format!(
                "nested provision {} must be of type deny (exceptions to the permit)",
                i + 1
            ));
        }
        if !nested.provision.is_empty() {
            return Err(format!("nested provision {} cannot nest further", i + 1));
        }
        check_fields(nested, false).map_err(|e| format!("nested provision {}: {e}", i + 1))?;
    }
    Ok(())
}

fn check_fields(p: &Provision, top: bool) -> Result<(), String> {
    let counts = [
        p.actor.len(),
        p.action.len(),
        p.purpose.len(),
        p.class.len(),
        p.provision.len(),
    ];
    if counts.iter().any(|n| *n > MAX_ITEMS) {
        return Err(format!(
            "at most {MAX_ITEMS} actors, actions, purposes, classes and exceptions"
        ));
    }
    match (&p.period, top) {
        (Some(period), _) => check_period(period)?,
        (None, true) => return Err("period is required (period.start at least)".into()),
        (None, false) => {}
    }
    if top && (p.actor.is_empty() || p.action.is_empty() || p.purpose.is_empty()) {
        return Err("actor, action and purpose must each name at least one entry".into());
    }
    for actor in &p.actor {
        let r = &actor.reference;
        let org = r.id_of("Organization").filter(|m| is_msp_id(m));
        let cert = r.cert_id().filter(|id| !id.is_empty() && id.len() <= 1024);
        let kind_ok = r.kind.as_deref().is_none_or(|k| k == "Practitioner");
        let by_org = org.is_some() && r.identifier.is_none();
        let by_cert = cert.is_some() && r.reference.is_none() && kind_ok;
        if !(by_org || by_cert) {
            return Err(format!(
                "actor reference must be {{\"reference\": \"Organization/<MSP id>\"}} or a practitioner \
                 {{\"type\": \"Practitioner\", \"identifier\": {{\"system\": \"{}\", \"value\": \"<certificate id>\"}}}}",
                crate::fhir::CERT_ID_SYSTEM
            ));
        }
    }
    for action in &p.action {
        if action.coding.is_empty() {
            return Err("an action needs a coding".into());
        }
        for c in &action.coding {
            check_code(c.system.as_deref(), &c.code, CONSENT_ACTION, ACTIONS, "action")?;
        }
    }
    for c in &p.purpose {
        check_code(c.system.as_deref(), &c.code, ACT_REASON, PURPOSES, "purpose")?;
    }
    if let Some(c) = p.class.iter().find(|c| !is_code(&c.code)) {
        return Err(format!(
            "class code {:?} must be 1 to 64 of A-Z a-z 0-9 - . _",
            c.code
        ));
    }
    Ok(())
}

fn check_code(
    system: Option<&str>,
    code: &str,
    expected: &str,
    allowed: &[&str],
    what: &str,
) -> Result<(), String> {
    if system.is_some_and(|s| s != expected) {
        return Err(format!("{what} {code:?} must come from {expected}"));
    }
    if !allowed.contains(&code) {
        return Err(format!(
            "{what} must be one of {}, got {code:?}",
            allowed.join(", ")
        ));
    }
    Ok(())
}

fn check_period(period: &Period) -> Result<(), String> {
    let start = period.start.as_deref().ok_or("period.start is required")?;
    let start = parse_bound(start, false)?;
    if let Some(end) = period.end.as_deref()
        && parse_bound(end, true)? < start
    {
        return Err("period ends before it starts".into());
    }
    Ok(())
}

/// What is being asked, and when.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The requester; `None` for the research check (no particular recipient).
    pub actor: Option<&'a Caller>,
    /// `consentaction` code.
    pub action: &'a str,
    /// `v3-ActReason` code.
    pub purpose: &'a str,
    /// The record's category code.
    pub category: &'a str,
    /// Transaction time, seconds since the epoch.
    pub now: i64,
}

/// The outcome of evaluating a patient's consents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by these consents (ids).
    Permit(Vec<String>),
    /// Denied, with the reason (public: names consents and codes, never PHI).
    Deny(String),
}

/// Decides `req` against `consents` (deny wins; otherwise any matching permit allows).
pub fn decide(consents: &[Consent], req: &Request<'_>) -> Decision {
    let mut permits = Vec::new();
    let mut misses = Vec::new();
    for consent in consents {
        if consent.status != ConsentStatus::Active {
            misses.push(format!("consent {} is inactive", consent.id));
            continue;
        }
        if let Some(why) = mismatch(&consent.provision, req) {
            misses.push(format!("consent {}: {why}", consent.id));
            continue;
        }
        if consent.provision.kind == ProvisionType::Deny {
            return Decision::Deny(format!("consent {} denies it", consent.id));
        }
        if consent
            .provision
            .provision
            .iter()
            .any(|n| mismatch(n, req).is_none())
        {
            return Decision::Deny(format!("consent {} excludes it (nested deny)", consent.id));
        }
        permits.push(consent.id.clone());
    }
    if !permits.is_empty() {
        return Decision::Permit(permits);
    }
    let mut why = format!(
        "no active consent permits {} of {} records for {}",
        req.action, req.category, req.purpose
    );
    if !misses.is_empty() {
        why.push_str(" (");
        why.push_str(&misses.join("; "));
        why.push(')');
    }
    Decision::Deny(why)
}

/// The first criterion of `p` that `req` fails, or `None` when `p` applies to `req`. Empty lists match
/// everything (only nested exceptions may have them).
fn mismatch(p: &Provision, req: &Request<'_>) -> Option<&'static str> {
    if let Some(period) = &p.period {
        let start = period.start.as_deref().map(|s| parse_bound(s, false));
        let end = period.end.as_deref().map(|e| parse_bound(e, true));
        if matches!(start, Some(Err(_))) || matches!(end, Some(Err(_))) {
            return Some("its period does not parse");
        }
        if start.is_some_and(|s| s.is_ok_and(|s| req.now < s)) {
            return Some("its period has not started");
        }
        if end.is_some_and(|e| e.is_ok_and(|e| req.now > e)) {
            return Some("its period has ended");
        }
    }
    if let (false, Some(caller)) = (p.actor.is_empty(), req.actor) {
        let matches = p.actor.iter().any(|a| {
            a.reference.id_of("Organization") == Some(caller.msp_id.as_str())
                || a.reference.cert_id() == Some(caller.id.as_str())
        });
        if !matches {
            return Some("the requester is not one of its actors");
        }
    }
    if !p.action.is_empty() && !p.action.iter().any(|a| a.has(req.action)) {
        return Some("it does not cover this action");
    }
    if !p.purpose.is_empty() && !p.purpose.iter().any(|c| c.code == req.purpose) {
        return Some("it does not cover this purpose");
    }
    if !p.class.is_empty() && !p.class.iter().any(|c| c.code == req.category) {
        return Some("it does not cover this record category");
    }
    None
}
