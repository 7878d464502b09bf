//! De-identified research entries (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)) emitted as chaincode events for
//! the analytics store.
//!
//! When a record is written (endorse step of `AddRecord` or `CreateLabReport`) for a patient with an active
//! research consent (purpose `HRESCH`, action `use`, covering the record's category, period containing the
//! transaction time), the transaction's one event is a `DeidentifiedEntry`: category code, year, age band
//! (five-year bands, every age over 89 in one `90+` band), sex, ZIP3 (`000` for the restricted three-digit
//! areas and whenever no US ZIP is known) and the patient's research token. The token is random, chosen by
//! the patient's client when consenting (164.514(c): a re-identification code must not be derived from
//! information about the individual), and stored only in the hospital's collection. Without a research
//! consent, or without a token at this hospital, the transaction emits its ordinary event instead.
//!
//! Residual linkage: the event shares its transaction with the record's public metadata, so a channel member
//! reading blocks can associate a research token with the ledger pseudonym. Safe Harbor fields are allowed
//! to be known, but a release to a party that also reads the channel should decouple the two (e.g. an
//! off-chain export that drops transaction ids, batched and shuffled).

use serde::Serialize;

use chaincode_api::{Context, ContractError};

use crate::fhirtime::{Date, age_on};
use crate::keys;
use crate::ledger::{PatientEntry, PatientRecord, ResearchEntry};
use crate::policy::{self, Decision, RESEARCH, RESEARCH_ACTION, Request};
use crate::resource;
use crate::store;

/// Event name of a de-identified entry.
pub const EVENT: &str = "DeidentifiedEntry";

/// Three-digit ZIP prefixes with 20,000 or fewer people (HHS guidance, 2000 Census), published as `000`.
pub const RESTRICTED_ZIP3: &[&str] = &[
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884",
    "890", "893",
];

/// The event payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeidentifiedEntry {
    /// Record category code.
    pub category: String,
    /// Year of the clinical date.
    pub year: i64,
    /// `0-4`, `5-9`, …, `85-89`, `90+`, or `unknown`.
    pub age_band: String,
    /// `male`, `female`, `other` or `unknown`.
    pub sex: String,
    /// First three ZIP digits, or `000`.
    pub zip3: String,
    /// The patient's random research token.
    pub research_token: String,
}

/// Five-year band of `age`, every age over 89 aggregated into `90+`.
pub fn age_band(age: Option<i64>) -> String {
    match age {
        None => "unknown".into(),
        Some(a) if a >= 90 => "90+".into(),
        Some(a) => {
            let low = a - a % 5;
            format!("{low}-{}", low + 4)
        }
    }
}

/// ZIP3 under Safe Harbor: the first three digits of a five-digit (or ZIP+4) US ZIP, `000` when the prefix is
/// restricted or there is no US ZIP.
pub fn zip3(postal_code: Option<&str>) -> String {
    let Some(code) = postal_code.map(str::trim) else {
        return "000".into();
    };
    let five = code.get(..5).filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = match code.get(5..) {
        Some("") => true,
        Some(plus) => {
            plus.len() == 5 && plus.starts_with('-') && plus[1..].bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    };
    match five {
        Some(digits) if rest_ok && !RESTRICTED_ZIP3.contains(&&digits[..3]) => digits[..3].to_string(),
        _ => "000".into(),
    }
}

/// The de-identified entry for a record of `patient` in `category`, if the patient consented to research
/// and has a research token at their hospital. Reads the hospital's collection only in that case.
pub fn entry_for(
    ctx: &mut dyn Context,
    patient: &PatientRecord,
    category: &str,
    year: i64,
    clinical: Option<Date>,
) -> Result<Option<DeidentifiedEntry>, ContractError> {
    let group = store::active_group(ctx, patient)?;
    let consents = store::group_consents(ctx, &group)?;
    let request = Request {
        actor: None,
        action: RESEARCH_ACTION,
        purpose: RESEARCH,
        category,
        now: ctx.tx().timestamp.seconds,
    };
    if !matches!(policy::decide(&consents, &request), Decision::Permit(_)) {
        return Ok(None);
    }
    let collection = keys::records_collection(&patient.organization);
    let token: Option<ResearchEntry> =
        store::get_private(ctx, &collection, &keys::research(&patient.pseudonym)?)?;
    let Some(token) = token else {
        return Ok(None);
    };
    let entry: PatientEntry = store::get_private(ctx, &collection, &keys::patient(&patient.pseudonym)?)?
        .ok_or_else(|| {
            ContractError::Internal(format!(
                "demographics of patient {} are missing from {collection} on this peer",
                patient.pseudonym
            ))
        })?;
    let on = clinical.unwrap_or_else(|| Date::of(ctx.tx().timestamp));
    let age = resource::birth_date(&entry.resource).and_then(|b| age_on(b, on));
    Ok(Some(DeidentifiedEntry {
        category: category.to_string(),
        year,
        age_band: age_band(age),
        sex: resource::gender(&entry.resource).to_string(),
        zip3: zip3(resource::postal_code(&entry.resource)),
        research_token: token.token,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_aggregate_ninety_and_over() {
        let cases = [
            (0, "0-4"),
            (4, "0-4"),
            (5, "5-9"),
            (37, "35-39"),
            (89, "85-89"),
            (90, "90+"),
            (95, "90+"),
            (120, "90+"),
        ];
        for (age, band) in cases {
            assert_eq!(age_band(Some(age)), band, "{age}");
        }
        assert_eq!(age_band(None), "unknown");
    }

    #[test]
    fn zip3_follows_safe_harbor() {
        assert_eq!(zip3(Some("10001")), "100");
        assert_eq!(zip3(Some("03601")), "000", "036 is restricted");
        assert_eq!(zip3(Some("89301-1234")), "000", "893 is restricted");
        assert_eq!(zip3(Some("94105-1234")), "941");
        for other in [
            None,
            Some("SW1A 1AA"),
            Some("1000"),
            Some("100011"),
            Some("1000a"),
        ] {
            assert_eq!(zip3(other), "000", "{other:?}");
        }
    }
}
