//! World-state vocabulary shared by endorsement (simulation reads a snapshot), validation (MVCC reads
//! committed versions) and the ledger (which stores what a validated block changes).
//!
//! Everything here is plain data plus the [`StateView`] trait, so simulation and validation run
//! against [`MemState`] in unit tests and against a RocksDB snapshot in the peer.

use std::collections::BTreeMap;
use std::ops::Bound;

/// Position of a committed write: block number and transaction index within that block.
/// This is Fabric's `Version{block_num, tx_num}`; a read records it so validation can detect
/// that the key changed after the endorser read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// Block number of the transaction that wrote the value.
    pub block: u64,
    /// Index of that transaction within its block.
    pub tx: u64,
}

impl Version {
    /// A version at the given block and transaction index.
    pub fn new(block: u64, tx: u64) -> Self {
        Version { block, tx }
    }
}

/// A committed value with the version that wrote it and its key-level metadata (for instance the
/// key's endorsement policy, Fabric's `VALIDATION_PARAMETER`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VersionedValue {
    /// The value bytes.
    pub value: Vec<u8>,
    /// Where it was written.
    pub version: Version,
    /// Serialized metadata entries (name → bytes); empty when the key has none.
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// One committed change of a key, as history queries return it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Transaction that made the change.
    pub tx_id: String,
    /// Where the change was committed.
    pub version: Version,
    /// Transaction timestamp (seconds, nanos) from its channel header.
    pub timestamp: (i64, i32),
    /// True when the change deleted the key.
    pub is_delete: bool,
    /// The value written (empty for deletes).
    pub value: Vec<u8>,
}

/// Failure to read committed state (storage corruption, I/O). A missing key is not an error.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("state read failed: {0}")]
pub struct StateError(pub String);

/// A consistent, read-only view of one channel's committed world state.
///
/// Endorsers simulate against a snapshot; validators check read versions against the state as of the
/// previous block. Implementations must be point-in-time consistent for the lifetime of the view.
pub trait StateView {
    /// The committed value of `key` in namespace `ns`, if any.
    fn get(&self, ns: &str, key: &str) -> Result<Option<VersionedValue>, StateError>;

    /// Keys of `ns` in ascending order from `start` (inclusive) up to `end` (exclusive; `None` means no
    /// upper bound), at most `limit` entries.
    fn range(
        &self,
        ns: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError>;

    /// Every committed change of `key`, newest first.
    fn history(&self, ns: &str, key: &str) -> Result<Vec<HistoryEntry>, StateError>;

    /// Whether a transaction with this id is already in the ledger (valid or not).
    fn tx_exists(&self, tx_id: &str) -> Result<bool, StateError>;

    /// Number of committed blocks.
    fn height(&self) -> u64;

    /// The hash entry of a private key (held by every peer of the channel, member or not).
    fn get_private_hash(
        &self,
        ns: &str,
        coll: &str,
        key_hash: &[u8],
    ) -> Result<Option<HashedValue>, StateError>;

    /// The plaintext of a private key (held only by member peers; `None` elsewhere).
    fn get_private(&self, ns: &str, coll: &str, key: &str) -> Result<Option<VersionedValue>, StateError>;

    /// Plaintext private keys in `[start, end)` (`None`: no upper bound), at most `limit`.
    fn private_range(
        &self,
        ns: &str,
        coll: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError>;
}

/// The public trace of a private value: its hash and the version that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HashedValue {
    /// SHA-256 of the value.
    pub value_hash: Vec<u8>,
    /// Where it was written.
    pub version: Version,
}

/// How a private key's hash entry changes (every peer applies these).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashedUpdate {
    /// New value hash, or `None` for a delete or purge.
    pub value_hash: Option<Vec<u8>>,
    /// The writing transaction's version.
    pub version: Version,
}

/// How a private key's plaintext changes on a member peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateUpdate {
    /// The plaintext key.
    pub key: String,
    /// New value, or `None` for a delete.
    pub value: Option<Vec<u8>>,
    /// The writing transaction's version.
    pub version: Version,
}

/// Private data changes of a block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivateChanges {
    /// Hash entries, keyed by (namespace, collection, key hash).
    pub hashed: BTreeMap<(String, String, Vec<u8>), HashedUpdate>,
    /// Plaintext for collections this peer is a member of and whose data it holds, same keys.
    pub plaintext: BTreeMap<(String, String, Vec<u8>), PrivateUpdate>,
    /// Private write sets received, by (tx index, namespace, collection): kept for reconciliation and
    /// for delivering blocks with private data.
    pub write_sets: Vec<(u64, String, String, Vec<u8>)>,
    /// Member data this peer should have but does not: (tx index, namespace, collection).
    pub missing: Vec<(u64, String, String)>,
    /// The writes of those missing write sets: (namespace, collection, key hash, version written), so
    /// that a purge or an expiry of the key also ends the wait for data nobody may hold any more.
    pub missing_writes: Vec<(String, String, Vec<u8>, Version)>,
    /// Explicit purges: every version of these keys disappears from this peer.
    pub purges: Vec<(String, String, Vec<u8>)>,
    /// Block-to-live expiries: (block at which to purge, namespace, collection, key hash, version written).
    pub expiries: Vec<(u64, String, String, Vec<u8>, Version)>,
}

/// The exclusive upper bound that makes `key` itself the last key of a range: the smallest string
/// greater than `key`. Validation uses it for ranges a transaction stopped reading early.
pub fn inclusive_end(key: &str) -> String {
    let mut s = String::with_capacity(key.len() + 1);
    s.push_str(key);
    s.push('\0');
    s
}

/// How one key changes when a block commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUpdate {
    /// New value, or `None` when the key is deleted.
    pub value: Option<Vec<u8>>,
    /// Metadata the key carries after the change (value-only writes keep the old metadata).
    pub metadata: BTreeMap<String, Vec<u8>>,
    /// The version of the writing transaction.
    pub version: Version,
}

/// Where a transaction landed and how it was judged; indexed by tx id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block number.
    pub block: u64,
    /// Index within the block.
    pub tx: u64,
    /// The `TxValidationCode` as its numeric value.
    pub code: i32,
}

/// Everything a validated block changes, committed by the ledger in one atomic write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockUpdates {
    /// Final state of every key written by valid transactions, keyed by (namespace, key).
    pub state: BTreeMap<(String, String), KeyUpdate>,
    /// History entries of valid transactions, keyed by (namespace, key).
    pub history: Vec<(String, String, HistoryEntry)>,
    /// First occurrence of each transaction id in the block, with its validation code.
    pub tx_index: Vec<(String, TxLocation)>,
    /// Private data changes.
    pub private: PrivateChanges,
}

/// An in-memory [`StateView`] for unit tests of simulation and validation.
#[derive(Clone, Debug, Default)]
pub struct MemState {
    state: BTreeMap<(String, String), VersionedValue>,
    history: BTreeMap<(String, String), Vec<HistoryEntry>>,
    txs: BTreeMap<String, TxLocation>,
    height: u64,
    hashed: BTreeMap<(String, String, Vec<u8>), HashedValue>,
    private: BTreeMap<(String, String, String), VersionedValue>,
}

impl MemState {
    /// An empty state at height 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key directly (test setup), at the given version.
    pub fn put(&mut self, ns: &str, key: &str, value: &[u8], version: Version) {
        self.state.insert(
            (ns.to_string(), key.to_string()),
            VersionedValue {
                value: value.to_vec(),
                version,
                metadata: BTreeMap::new(),
            },
        );
        self.height = self.height.max(version.block + 1);
    }

    /// Applies a block's updates as the ledger would, advancing the height to `block + 1`.
    pub fn apply(&mut self, block: u64, updates: &BlockUpdates) {
        for ((ns, key), u) in &updates.state {
            let k = (ns.clone(), key.clone());
            match &u.value {
                Some(v) => {
                    self.state.insert(
                        k,
                        VersionedValue {
                            value: v.clone(),
                            version: u.version,
                            metadata: u.metadata.clone(),
                        },
                    );
                }
                None => {
                    self.state.remove(&k);
                }
            }
        }
        for (ns, key, entry) in &updates.history {
            self.history
                .entry((ns.clone(), key.clone()))
                .or_default()
                .push(entry.clone());
        }
        for (tx_id, loc) in &updates.tx_index {
            self.txs.entry(tx_id.clone()).or_insert(*loc);
        }
        let p = &updates.private;
        for ((ns, coll, kh), u) in &p.hashed {
            let k = (ns.clone(), coll.clone(), kh.clone());
            match &u.value_hash {
                Some(h) => {
                    self.hashed.insert(
                        k,
                        HashedValue {
                            value_hash: h.clone(),
                            version: u.version,
                        },
                    );
                }
                None => {
                    self.hashed.remove(&k);
                }
            }
        }
        for ((ns, coll, _), u) in &p.plaintext {
            let k = (ns.clone(), coll.clone(), u.key.clone());
            match &u.value {
                Some(v) => {
                    self.private.insert(
                        k,
                        VersionedValue {
                            value: v.clone(),
                            version: u.version,
                            metadata: BTreeMap::new(),
                        },
                    );
                }
                None => {
                    self.private.remove(&k);
                }
            }
        }
        self.height = block + 1;
    }
}

impl StateView for MemState {
    fn get(&self, ns: &str, key: &str) -> Result<Option<VersionedValue>, StateError> {
        Ok(self.state.get(&(ns.to_string(), key.to_string())).cloned())
    }

    fn range(
        &self,
        ns: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError> {
        let lo = Bound::Included((ns.to_string(), start.to_string()));
        let hi = match end {
            Some(e) => Bound::Excluded((ns.to_string(), e.to_string())),
            None => Bound::Excluded((inclusive_end(ns), String::new())),
        };
        Ok(self
            .state
            .range((lo, hi))
            .filter(|((n, _), _)| n == ns)
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn history(&self, ns: &str, key: &str) -> Result<Vec<HistoryEntry>, StateError> {
        let mut h = self
            .history
            .get(&(ns.to_string(), key.to_string()))
            .cloned()
            .unwrap_or_default();
        h.reverse();
        Ok(h)
    }

    fn tx_exists(&self, tx_id: &str) -> Result<bool, StateError> {
        Ok(self.txs.contains_key(tx_id))
    }

    fn height(&self) -> u64 {
        self.height
    }

    fn get_private_hash(
        &self,
        ns: &str,
        coll: &str,
        key_hash: &[u8],
    ) -> Result<Option<HashedValue>, StateError> {
        Ok(self
            .hashed
            .get(&(ns.to_string(), coll.to_string(), key_hash.to_vec()))
            .cloned())
    }

    fn get_private(&self, ns: &str, coll: &str, key: &str) -> Result<Option<VersionedValue>, StateError> {
        Ok(self
            .private
            .get(&(ns.to_string(), coll.to_string(), key.to_string()))
            .cloned())
    }

    fn private_range(
        &self,
        ns: &str,
        coll: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError> {
        Ok(self
            .private
            .iter()
            .filter(|((n, c, k), _)| {
                n == ns && c == coll && k.as_str() >= start && end.is_none_or(|e| k.as_str() < e)
            })
            .take(limit)
            .map(|((_, _, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_half_open_and_namespaced() {
        let mut s = MemState::new();
        for k in ["a", "b", "c"] {
            s.put("cc", k, b"v", Version::new(0, 0));
        }
        s.put("cc2", "a", b"other", Version::new(0, 1));
        let keys: Vec<_> = s
            .range("cc", "a", Some("c"), usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["a", "b"]);
        let all: Vec<_> = s.range("cc", "", None, usize::MAX).unwrap();
        assert_eq!(all.len(), 3);
        let inclusive: Vec<_> = s.range("cc", "a", Some(&inclusive_end("b")), 10).unwrap();
        assert_eq!(inclusive.len(), 2);
    }
}
