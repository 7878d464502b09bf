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

/// The endorsement policy of `chaincode` as defined on the channel.
pub fn chaincode_policy(_view: &dyn StateView, _chaincode: &str) -> Result<EndorsementPolicy, StateError> {
    Ok(EndorsementPolicy::Channel(DEFAULT_ENDORSEMENT_POLICY.to_string()))
}

/// Every policy the transaction must satisfy, each with a description for error messages.
pub fn endorsement_requirements(
    view: &dyn StateView,
    chaincode: &str,
    rwset: &TxRwSet,
) -> Result<Vec<(String, EndorsementPolicy)>, StateError> {
    let mut reqs = Vec::new();
    let mut needs_chaincode_policy = true;
    let mut any_write = false;
    let mut uncovered = false;
    for ns in rwset.namespaces.iter().filter(|n| n.namespace == chaincode) {
        let keys = ns
            .writes
            .iter()
            .map(|(k, _)| k)
            .chain(ns.metadata_writes.iter().map(|(k, _)| k));
        for key in keys {
            any_write = true;
            match key_policy(view, chaincode, key)? {
                Some(p) => {
                    let what = format!("key-level policy of {chaincode}/{key:?}");
                    if !reqs.iter().any(|(w, _)| *w == what) {
                        reqs.push((what, EndorsementPolicy::Signature(p)));
                    }
                }
                None => uncovered = true,
            }
        }
    }
    if any_write && !uncovered {
        needs_chaincode_policy = false;
    }
    if needs_chaincode_policy {
        reqs.insert(
            0,
            (
                format!("endorsement policy of chaincode {chaincode}"),
                chaincode_policy(view, chaincode)?,
            ),
        );
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
