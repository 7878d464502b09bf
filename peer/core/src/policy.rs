//! Which endorsement policies a transaction must satisfy.
//!
//! Every transaction must satisfy its chaincode's endorsement policy, except that a write to a key
//! carrying a key-level policy (Fabric's state-based endorsement, metadata `VALIDATION_PARAMETER`) is
//! governed by that key's policy instead. A transaction that writes only such keys needs only their
//! policies; any other write, or no write at all, brings in the chaincode policy. Key policies are the
//! ones in force *before* the transaction, so changing a key's policy needs its old owners' consent.

use carechain_channel::SignaturePolicy;
use carechain_proto::common::SignaturePolicyEnvelope;
use prost::Message;

use crate::rwset::{TxRwSet, VALIDATION_PARAMETER};
use crate::state::{StateError, StateView};

/// Default chaincode endorsement policy: the channel's `/Channel/Application/Endorsement` (by default
/// MAJORITY of the member orgs' peers).
pub const DEFAULT_ENDORSEMENT_POLICY: &str = "/Channel/Application/Endorsement";

/// A policy an endorsement set is checked against.
#[derive(Debug, Clone, PartialEq)]
pub enum EndorsementPolicy {
    /// An explicit signature policy.
    Signature(SignaturePolicy),
    /// A policy of the channel configuration, by path.
    Channel(String),
}

/// Why the policies of a transaction could not be determined.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RequirementError {
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The chaincode has no committed definition on the channel.
    #[error("chaincode {0} is not defined on this channel: approve and commit a definition first")]
    Undefined(String),
    /// A definition or lifecycle key is unusable.
    #[error("{0}")]
    Invalid(String),
}

/// The endorsement policy of `chaincode` as its committed definition states it.
pub fn chaincode_policy(
    view: &dyn StateView,
    chaincode: &str,
) -> Result<EndorsementPolicy, RequirementError> {
    let def = crate::lifecycle::definition(view, chaincode)?
        .ok_or_else(|| RequirementError::Undefined(chaincode.to_string()))?;
    def.endorsement_policy
        .resolve()
        .map_err(|e| RequirementError::Invalid(format!("definition of {chaincode}: {e}")))
}

/// Every policy the transaction must satisfy, each with a description for error messages.
pub fn endorsement_requirements(
    view: &dyn StateView,
    chaincode: &str,
    rwset: &TxRwSet,
) -> Result<Vec<(String, EndorsementPolicy)>, RequirementError> {
    if chaincode == crate::lifecycle::LIFECYCLE {
        return lifecycle_requirements(rwset);
    }
    let def = crate::lifecycle::definition(view, chaincode)?
        .ok_or_else(|| RequirementError::Undefined(chaincode.to_string()))?;
    let mut reqs = Vec::new();
    let mut any_write = false;
    let mut uncovered = false;
    let push = |reqs: &mut Vec<(String, EndorsementPolicy)>, what: String, p: EndorsementPolicy| {
        if !reqs.iter().any(|(w, _)| *w == what) {
            reqs.push((what, p));
        }
    };
    for ns in rwset.namespaces.iter().filter(|n| n.namespace == chaincode) {
        let keys = ns
            .writes
            .iter()
            .map(|(k, _)| k)
            .chain(ns.metadata_writes.iter().map(|(k, _)| k));
        for key in keys {
            any_write = true;
            match key_policy(view, chaincode, key)? {
                Some(p) => push(
                    &mut reqs,
                    format!("key-level policy of {chaincode}/{key:?}"),
                    EndorsementPolicy::Signature(p),
                ),
                None => uncovered = true,
            }
        }
        for coll in &ns.collections {
            let c = crate::collection::find(&def.collections, &coll.name).ok_or_else(|| {
                RequirementError::Invalid(format!(
                    "collection {} is not defined for chaincode {chaincode}",
                    coll.name
                ))
            })?;
            if coll.writes.is_empty() {
                continue;
            }
            any_write = true;
            match &c.endorsement_policy {
                Some(p) => {
                    let p = p.resolve().map_err(RequirementError::Invalid)?;
                    push(
                        &mut reqs,
                        format!("endorsement policy of collection {}", coll.name),
                        p,
                    );
                }
                None => uncovered = true,
            }
        }
    }
    // A transaction that writes only keys and collections with their own policies needs only those.
    if !any_write || uncovered {
        let p = def
            .endorsement_policy
            .resolve()
            .map_err(|e| RequirementError::Invalid(format!("definition of {chaincode}: {e}")))?;
        reqs.insert(0, (format!("endorsement policy of chaincode {chaincode}"), p));
    }
    Ok(reqs)
}

/// Lifecycle transactions are governed per key: an org's approval by that org, a definition by
/// LifecycleEndorsement.
fn lifecycle_requirements(rwset: &TxRwSet) -> Result<Vec<(String, EndorsementPolicy)>, RequirementError> {
    let mut reqs: Vec<(String, EndorsementPolicy)> = Vec::new();
    for ns in rwset
        .namespaces
        .iter()
        .filter(|n| n.namespace == crate::lifecycle::LIFECYCLE)
    {
        for key in ns
            .writes
            .iter()
            .map(|(k, _)| k)
            .chain(ns.metadata_writes.iter().map(|(k, _)| k))
        {
            let r = crate::lifecycle::key_requirement(key)
                .ok_or_else(|| RequirementError::Invalid(format!("unknown lifecycle key {key:?}")))?;
            if !reqs.iter().any(|(w, _)| *w == r.0) {
                reqs.push(r);
            }
        }
    }
    if reqs.is_empty() {
        reqs.push((
            "lifecycle query".into(),
            EndorsementPolicy::Channel(crate::lifecycle::LIFECYCLE_ENDORSEMENT.into()),
        ));
    }
    Ok(reqs)
}

/// The key-level policy of `key`, if it has one.
pub fn key_policy(view: &dyn StateView, ns: &str, key: &str) -> Result<Option<SignaturePolicy>, StateError> {
    let Some(v) = view.get(ns, key)? else {
        return Ok(None);
    };
    let Some(raw) = v.metadata.get(VALIDATION_PARAMETER) else {
        return Ok(None);
    };
    let env = SignaturePolicyEnvelope::decode(raw.as_slice())
        .map_err(|e| StateError(format!("key-level policy of {ns}/{key:?} does not decode: {e}")))?;
    SignaturePolicy::from_proto(&env)
        .map(Some)
        .map_err(|e| StateError(format!("key-level policy of {ns}/{key:?}: {e}")))
}
