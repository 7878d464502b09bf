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
            // A write set of purges only leaves nothing to hold: keeping it would keep the purged key's
            // name, and a member that missed it would wait forever for data no peer may serve.
            if coll.writes.iter().all(|w| w.is_purge) {
                continue;
            }
            let bytes = plaintext
                .and_then(|t| t.ns_pvt_rwset.iter().find(|n| n.namespace == ns.namespace))
                .and_then(|n| {
                    n.collection_pvt_rwset
                        .iter()
                        .find(|c| c.collection_name == coll.name)
                })
                .map(|c| c.rwset.to_vec());
            // Block-to-live counts from this block whether the plaintext is here or arrives later by
            // reconciliation (or never: then the expiry ends the wait for it).
            if ci.block_to_live > 0 {
                for w in coll.writes.iter().filter(|w| w.value_hash.is_some()) {
                    p.expiries.push((
                        version.block + ci.block_to_live + 1,
                        ns.namespace.clone(),
                        coll.name.clone(),
                        w.key_hash.clone(),
                        version,
                    ));
                }
            }
            let Some(writes) = bytes.as_ref().and_then(|b| verified_writes(coll, b)) else {
                p.missing
                    .push((tx_index, ns.namespace.clone(), coll.name.clone()));
                p.missing_writes.extend(coll.writes.iter().map(|w| {
                    (
                        ns.namespace.clone(),
                        coll.name.clone(),
                        w.key_hash.clone(),
                        version,
                    )
                }));
                continue;
            };
            for ((key, value), w) in writes.into_iter().zip(&coll.writes) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pvtrwset::{CollRwSet, HashedWrite, hash};
    use crate::rwset::NsRwSet;

    fn tx(writes: Vec<HashedWrite>) -> TxRwSet {
        TxRwSet {
            namespaces: vec![NsRwSet {
                namespace: "cc".into(),
                collections: vec![CollRwSet {
                    name: "c".into(),
                    writes,
                    ..Default::default()
                }],
                reads: Vec::new(),
                ranges: Vec::new(),
                writes: Vec::new(),
                metadata_writes: Vec::new(),
            }],
        }
    }

    fn apply(rw: &TxRwSet, member: bool) -> BlockUpdates {
        let mut u = BlockUpdates::default();
        let info = |_: &str, _: &str| {
            Some(CollInfo {
                member,
                block_to_live: 3,
            })
        };
        apply_private(&mut u, 0, Version::new(7, 0), rw, None, &info);
        u
    }

    #[test]
    fn missing_writes_are_indexed_and_expire_but_purge_only_sets_are_not_missing() {
        let put = HashedWrite {
            key_hash: hash(b"k"),
            value_hash: Some(hash(b"v")),
            is_purge: false,
        };
        let u = apply(&tx(vec![put.clone()]), true);
        assert_eq!(u.private.missing, vec![(0, "cc".to_string(), "c".to_string())]);
        assert_eq!(u.private.missing_writes.len(), 1);
        assert_eq!(
            u.private.expiries[0].0, 11,
            "expires at block 7 + 3 + 1 though never received"
        );

        let purge = HashedWrite {
            key_hash: hash(b"k"),
            value_hash: None,
            is_purge: true,
        };
        let u = apply(&tx(vec![purge]), true);
        assert!(u.private.missing.is_empty() && u.private.write_sets.is_empty());
        assert_eq!(u.private.purges.len(), 1);
        assert_eq!(
            u.private.hashed.len(),
            1,
            "the hash entry is still removed everywhere"
        );

        let u = apply(&tx(vec![put]), false);
        assert!(u.private.missing.is_empty() && u.private.expiries.is_empty());
    }
}
