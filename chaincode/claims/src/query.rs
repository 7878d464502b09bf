//! How an insurer works through its claims: paginated queries over the secondary indexes in `keys`.
//!
//! Queries are evaluated (endorse step only, never ordered) as range scans of the embedded state database:
//! no CouchDB, no rich queries. Each filter picks one index, all of which begin with the caller's insurer
//! MSP id, so an insurer can only ever scan its own claims, and end with `<created> <id>`, so every page is
//! in submission order with ties broken by id, and a period is a sub-range of whichever index is used.
//! A query that feeds a write (`QueueClaims`) uses the same scan inside a submitted transaction, where the
//! simulator records it and validation re-runs it (phantom check).
//!
//! | filter | index | range |
//! |---|---|---|
//! | `{}` | `claim~created` | all the insurer's claims |
//! | `{"status":"queued"}` | `claim~status` | claims with that status |
//! | `{"provider":"HospitalAMSP"}` | `claim~provider` | claims from that hospital |
//! | `{"patient":"<pseudonym>"}` | `claim~patient` | claims for that patient |
//!
//! Any of them takes `"from"` / `"to"`: a half-open period `[from, to)` of submission instants, each an
//! RFC 3339 UTC prefix (`"2024-03"`, `"2024-03-01"`, `"2024-03-01T12:00:00.000000000Z"`), so
//! `{"status":"queued","from":"2024-03-01","to":"2024-04-01"}` is March's queued claims.
//!
//! The result is `{"claims":[<public records>],"fetchedRecordsCount":n,"bookmark":"<hex>"}` (Fabric's
//! paginated-query metadata names); pass the bookmark back with the same filter for the next page; it is
//! `""` after the last page.

use serde::Deserialize;
use serde::de::IgnoredAny;

use chaincode_api::{Context, ContractError, create_composite_key, split_composite_key};

use crate::action::is_fhir_id;
use crate::keys::{self, RANGE_END};
use crate::party;
use crate::record::Status;

/// Shape every period bound must be a prefix of (`d` = digit).
const INSTANT_SHAPE: &str = "dddd-dd-ddTdd:dd:dd.dddddddddZ";

/// Which of an insurer's claims to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only claims with this status.
    #[serde(default)]
    pub status: Option<Status>,
    /// Only claims from this provider MSP.
    #[serde(default)]
    pub provider: Option<String>,
    /// Only claims for this patient pseudonym.
    #[serde(default)]
    pub patient: Option<String>,
    /// Submitted at or after this instant prefix.
    #[serde(default)]
    pub from: Option<String>,
    /// Submitted before this instant prefix.
    #[serde(default)]
    pub to: Option<String>,
}

impl Filter {
    /// State-free checks: at most one of status / provider / patient, well-formed values, `from < to`.
    pub fn validate(&self) -> Result<(), ContractError> {
        let chosen = [
            self.status.is_some(),
            self.provider.is_some(),
            self.patient.is_some(),
        ];
        if chosen.iter().filter(|c| **c).count() > 1 {
            return Err(bad(
                "filter on at most one of status, provider and patient (each is its own index); add from/to \
                 for a period"
                    .into(),
            ));
        }
        if let Some(p) = self
            .provider
            .as_deref()
            .filter(|p| !is_fhir_id(&p.replace('_', "-")))
        {
            return Err(bad(format!("provider {p:?} is not an MSP id")));
        }
        if let Some(p) = self.patient.as_deref().filter(|p| !is_fhir_id(p)) {
            return Err(bad(format!("patient {p:?} is not a pseudonym (FHIR id syntax)")));
        }
        for bound in [&self.from, &self.to].into_iter().flatten() {
            if !is_instant_prefix(bound) {
                return Err(bad(format!(
                    "period bound {bound:?} is not a prefix of an RFC 3339 UTC instant such as \
                     \"2024-03-01\" or \"2024-03-01T12:00:00.000000000Z\""
                )));
            }
        }
        if let (Some(from), Some(to)) = (&self.from, &self.to)
            && from >= to
        {
            return Err(bad(format!("period from {from:?} is not before to {to:?}")));
        }
        Ok(())
    }

    /// The `[start, end)` key range of this filter for `insurer`.
    pub fn range(&self, insurer: &str) -> Result<(String, String), ContractError> {
        let prefix = match (&self.status, &self.provider, &self.patient) {
            (Some(status), _, _) => create_composite_key(keys::BY_STATUS, &[insurer, status.as_str()])?,
            (_, Some(provider), _) => create_composite_key(keys::BY_PROVIDER, &[insurer, provider])?,
            (_, _, Some(patient)) => create_composite_key(keys::BY_PATIENT, &[insurer, patient])?,
            _ => create_composite_key(keys::BY_CREATED, &[insurer])?,
        };
        let start = format!("{prefix}{}", self.from.as_deref().unwrap_or(""));
        let end = match &self.to {
            Some(to) => format!("{prefix}{to}"),
            None => format!("{prefix}{RANGE_END}"),
        };
        Ok((start, end))
    }
}

fn bad(why: String) -> ContractError {
    ContractError::BadRequest(format!("QueryClaims: {why}"))
}

fn is_instant_prefix(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= INSTANT_SHAPE.len()
        && text.bytes().zip(INSTANT_SHAPE.bytes()).all(|(c, shape)| {
            if shape == b'd' {
                c.is_ascii_digit()
            } else {
                c == shape
            }
        })
}

/// `QueryClaims`: one page of the caller's (insurer's) claims matching `filter`.
pub fn query_claims(
    ctx: &mut dyn Context,
    filter: &Filter,
    page_size: u32,
    bookmark: &str,
) -> Result<Vec<u8>, ContractError> {
    party::require_insurer(ctx.caller(), "query claims")?;
    let insurer = ctx.caller().msp_id.clone();
    let (start, end) = filter.range(&insurer)?;
    if !bookmark.is_empty() && (bookmark < start.as_str() || bookmark >= end.as_str()) {
        return Err(bad(
            "the bookmark belongs to another query; pass the filter that returned it".into(),
        ));
    }
    let page = ctx.get_state_by_range(&start, &end, page_size, bookmark)?;
    let mut out = Vec::with_capacity(64 + page.items.iter().map(|(_, v)| v.len() + 1).sum::<usize>());
    out.extend_from_slice(b"{\"claims\":[");
    for (i, (key, value)) in page.items.iter().enumerate() {
        // Index values are records this contract wrote; check they are JSON before splicing them in.
        serde_json::from_slice::<IgnoredAny>(value).map_err(|e| {
            ContractError::Internal(format!("index entry {key:?} does not hold a claim record: {e}"))
        })?;
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(value);
    }
    out.extend_from_slice(
        format!(
            "],\"fetchedRecordsCount\":{},\"bookmark\":\"{}\"}}",
            page.items.len(),
            keys::hex(&page.bookmark)
        )
        .as_bytes(),
    );
    Ok(out)
}

/// Ids of up to `max` of `insurer`'s claims with `status`, oldest first, and whether more remain. A recorded
/// range read: in a submitted transaction validation re-checks it.
pub fn oldest_ids(
    ctx: &mut dyn Context,
    insurer: &str,
    status: Status,
    max: u32,
) -> Result<(Vec<String>, bool), ContractError> {
    let filter = Filter {
        status: Some(status),
        ..Filter::default()
    };
    let (start, end) = filter.range(insurer)?;
    let page = ctx.get_state_by_range(&start, &end, max, "")?;
    let ids = page
        .items
        .iter()
        .map(|(key, _)| {
            let (_, attrs) = split_composite_key(key)?;
            attrs
                .last()
                .map(|id| id.to_string())
                .ok_or_else(|| ContractError::Internal(format!("index key {key:?} has no claim id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ids, !page.bookmark.is_empty()))
}
