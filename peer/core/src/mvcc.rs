//! Multi-version concurrency control: the sequential part of validation.
//!
//! A transaction is valid only if everything its endorsers read is still what the ledger holds: each
//! read version equals the committed version, no earlier valid transaction of the same block touched a
//! read key, and every range scan would return exactly the same keys and versions (no phantoms).
//! Transactions of a block are checked in order; each valid one's writes are folded into
//! [`BlockUpdates`] before the next is checked (see [`apply_valid_tx`]).

use std::collections::BTreeMap;

use carechain_proto::kvrwset::{RangeQueryInfo, range_query_info::ReadsInfo};

use crate::rwset::{NsRwSet, TxRwSet};
use crate::state::{BlockUpdates, HistoryEntry, KeyUpdate, StateError, StateView, Version, inclusive_end};

/// Outcome of the MVCC check of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MvccOutcome {
    /// All reads are current.
    Valid,
    /// A read key changed since endorsement (MVCC_READ_CONFLICT).
    ReadConflict {
        /// Namespace of the key.
        ns: String,
        /// The key.
        key: String,
    },
    /// A range scan would now return different keys or versions (PHANTOM_READ_CONFLICT).
    Phantom {
        /// Namespace of the range.
        ns: String,
        /// First key of the range.
        start: String,
        /// End of the range as recorded.
        end: String,
    },
}

/// Checks one transaction's reads against committed state plus the earlier valid transactions of the
/// same block (`pending`).
pub fn check(view: &dyn StateView, pending: &BlockUpdates, rw: &TxRwSet) -> Result<MvccOutcome, StateError> {
    for ns in &rw.namespaces {
        for (key, read_version) in &ns.reads {
            if !read_is_current(view, pending, &ns.namespace, key, *read_version)? {
                return Ok(MvccOutcome::ReadConflict {
                    ns: ns.namespace.clone(),
                    key: key.clone(),
                });
            }
        }
        for coll in &ns.collections {
            for (kh, read) in &coll.reads {
                let k = (ns.namespace.clone(), coll.name.clone(), kh.clone());
                let current = if pending.private.hashed.contains_key(&k) {
                    Err(())
                } else {
                    Ok(view
                        .get_private_hash(&ns.namespace, &coll.name, kh)?
                        .map(|h| h.version))
                };
                if current != Ok(*read) {
                    return Ok(MvccOutcome::ReadConflict {
                        ns: format!("{}/{}", ns.namespace, coll.name),
                        key: format!("(hash {})", hex::encode(&kh[..8.min(kh.len())])),
                    });
                }
            }
        }
        for range in &ns.ranges {
            if !range_is_current(view, pending, &ns.namespace, range)? {
                return Ok(MvccOutcome::Phantom {
                    ns: ns.namespace.clone(),
                    start: range.start_key.clone(),
                    end: range.end_key.clone(),
                });
            }
        }
    }
    Ok(MvccOutcome::Valid)
}

fn read_is_current(
    view: &dyn StateView,
    pending: &BlockUpdates,
    ns: &str,
    key: &str,
    read: Option<Version>,
) -> Result<bool, StateError> {
    // Anything an earlier transaction of this block wrote has a version the endorser cannot have seen.
    if pending.state.contains_key(&(ns.to_string(), key.to_string())) {
        return Ok(false);
    }
    let committed = view.get(ns, key)?.map(|v| v.version);
    Ok(committed == read)
}

fn range_is_current(
    view: &dyn StateView,
    pending: &BlockUpdates,
    ns: &str,
    range: &RangeQueryInfo,
) -> Result<bool, StateError> {
    let recorded = match &range.reads_info {
        Some(ReadsInfo::RawReads(r)) => &r.kv_reads,
        // We never produce Merkle summaries; a transaction carrying one cannot be re-checked.
        Some(ReadsInfo::ReadsMerkleHashes(_)) | None => return Ok(false),
    };
    // A scan that stopped early covered keys up to and including the last one it read.
    let end = if range.itr_exhausted {
        (!range.end_key.is_empty()).then(|| range.end_key.clone())
    } else {
        Some(inclusive_end(&range.end_key))
    };
    let in_range = |k: &str| k >= range.start_key.as_str() && end.as_deref().is_none_or(|e| k < e);
    let now = view.range(ns, &range.start_key, end.as_deref(), recorded.len() + 1)?;
    for ((n, k), update) in pending.state.range((ns.to_string(), range.start_key.clone())..) {
        if n != ns || !in_range(k) {
            break;
        }
        // Deleting a key that never existed leaves the scan's result unchanged.
        let existed = now.iter().any(|(key, _)| key == k);
        if update.value.is_some() || existed {
            return Ok(false);
        }
    }
    if now.len() != recorded.len() {
        return Ok(false);
    }
    Ok(now.iter().zip(recorded).all(|((key, v), r)| {
        let rv = r.version.as_ref().map(|v| Version::new(v.block_num, v.tx_num));
        *key == r.key && Some(v.version) == rv
    }))
}

/// Identity of a valid transaction, for history and the tx-id index.
#[derive(Debug, Clone)]
pub struct ValidTx<'a> {
    /// Transaction id.
    pub tx_id: &'a str,
    /// Block number and index: the version of everything it writes.
    pub version: Version,
    /// Channel-header timestamp (seconds, nanos).
    pub timestamp: (i64, i32),
}

/// Folds a valid transaction's writes into the block's pending updates: new values carry the
/// transaction's version, value-only writes keep the key's existing metadata, deletes drop it.
pub fn apply_valid_tx(
    view: &dyn StateView,
    pending: &mut BlockUpdates,
    tx: &ValidTx<'_>,
    rw: &TxRwSet,
) -> Result<(), StateError> {
    for ns in &rw.namespaces {
        apply_ns(view, pending, tx, ns)?;
    }
    Ok(())
}

fn apply_ns(
    view: &dyn StateView,
    pending: &mut BlockUpdates,
    tx: &ValidTx<'_>,
    ns: &NsRwSet,
) -> Result<(), StateError> {
    let meta_writes: BTreeMap<&str, &BTreeMap<String, Vec<u8>>> =
        ns.metadata_writes.iter().map(|(k, m)| (k.as_str(), m)).collect();
    for (key, value) in &ns.writes {
        let metadata = match (value, meta_writes.get(key.as_str())) {
            (None, _) => BTreeMap::new(),
            (Some(_), Some(m)) => (*m).clone(),
            (Some(_), None) => current_metadata(view, pending, &ns.namespace, key)?,
        };
        pending.state.insert(
            (ns.namespace.clone(), key.clone()),
            KeyUpdate {
                value: value.clone(),
                metadata,
                version: tx.version,
            },
        );
        pending.history.push((
            ns.namespace.clone(),
            key.clone(),
            HistoryEntry {
                tx_id: tx.tx_id.to_string(),
                version: tx.version,
                timestamp: tx.timestamp,
                is_delete: value.is_none(),
                value: value.clone().unwrap_or_default(),
            },
        ));
    }
    // Metadata-only updates keep the key's value but give it the new version, as Fabric does.
    for (key, entries) in &ns.metadata_writes {
        if ns.writes.iter().any(|(k, _)| k == key) {
            continue;
        }
        let value = current_value(view, pending, &ns.namespace, key)?;
        if let Some(value) = value {
            pending.state.insert(
                (ns.namespace.clone(), key.clone()),
                KeyUpdate {
                    value: Some(value),
                    metadata: entries.clone(),
                    version: tx.version,
                },
            );
        }
    }
    Ok(())
}

fn current_metadata(
    view: &dyn StateView,
    pending: &BlockUpdates,
    ns: &str,
    key: &str,
) -> Result<BTreeMap<String, Vec<u8>>, StateError> {
    if let Some(u) = pending.state.get(&(ns.to_string(), key.to_string())) {
        return Ok(u.metadata.clone());
    }
    Ok(view.get(ns, key)?.map(|v| v.metadata).unwrap_or_default())
}

fn current_value(
    view: &dyn StateView,
    pending: &BlockUpdates,
    ns: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, StateError> {
    if let Some(u) = pending.state.get(&(ns.to_string(), key.to_string())) {
        return Ok(u.value.clone());
    }
    Ok(view.get(ns, key)?.map(|v| v.value))
}

#[cfg(test)]
mod tests;
