//! Applying a valid transaction's private writes at commit. Every peer records the hashes (so MVCC and
//! `GetPrivateDataHash` work everywhere); a peer of a member organization also applies the plaintext,
//! which it must have received from an endorser (transient store) and which must match the hashes the
//! transaction carries. Plaintext a member should have but does not is recorded as missing, to be fetched
//! by the reconciler, never silently dropped.

use carechain_proto::rwset::TxPvtReadWriteSet;

use crate::pvtrwset::verified_writes;
use crate::rwset::TxRwSet;
use crate::state::{BlockUpdates, HashedUpdate, PrivateUpdate, Version};

/// What the committing peer knows about one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollInfo {
    /// This peer's organization is a member.
    pub member: bool,
    /// Blocks to live (0: forever).
    pub block_to_live: u64,
}

/// Folds a valid transaction's private changes into `pending`.
pub fn apply_private(
    pending: &mut BlockUpdates,
    tx_index: u64,
    version: Version,
    rw: &TxRwSet,
    plaintext: Option<&TxPvtReadWriteSet>,
    info: &dyn Fn(&str, &str) -> Option<CollInfo>,
) {
    for ns in &rw.namespaces {
        for coll in &ns.collections {
            if coll.writes.is_empty() {
                continue;
            }
            let p = &mut pending.private;
            for w in &coll.writes {
                let k = (ns.namespace.clone(), coll.name.clone(), w.key_hash.clone());
                p.hashed.insert(
                    k.clone(),
                    HashedUpdate {
                        value_hash: w.value_hash.clone(),
                        version,
                    },
                );
                if w.is_purge {
                    p.purges.push(k);
                }
            }
            let Some(ci) = info(&ns.namespace, &coll.name).filter(|c| c.member) else {
                continue;
            };
            let bytes = plaintext
                .and_then(|t| t.ns_pvt_rwset.iter().find(|n| n.namespace == ns.namespace))
                .and_then(|n| {
                    n.collection_pvt_rwset
                        .iter()
                        .find(|c| c.collection_name == coll.name)
                })
                .map(|c| c.rwset.to_vec());
            let Some(writes) = bytes.as_ref().and_then(|b| verified_writes(coll, b)) else {
                p.missing
                    .push((tx_index, ns.namespace.clone(), coll.name.clone()));
                continue;
            };
            for ((key, value), w) in writes.into_iter().zip(&coll.writes) {
                if ci.block_to_live > 0 && value.is_some() {
                    p.expiries.push((
                        version.block + ci.block_to_live + 1,
                        ns.namespace.clone(),
                        coll.name.clone(),
                        w.key_hash.clone(),
                        version,
                    ));
                }
                p.plaintext.insert(
                    (ns.namespace.clone(), coll.name.clone(), w.key_hash.clone()),
                    PrivateUpdate { key, value, version },
                );
            }
            if let Some(b) = bytes {
                p.write_sets
                    .push((tx_index, ns.namespace.clone(), coll.name.clone(), b));
            }
        }
    }
}
