//! Private read/write sets: what simulation records for private data collections, and the two forms
//! it takes. The public form goes into the transaction (and so into every block and every peer): per
//! collection, SHA-256 of each key read (with its version) and of each key and value written, plus the
//! hash of the private write set. The private form (plaintext keys and values) never enters a block:
//! endorsers keep it in their transient store and push it to member peers only.

use std::collections::{BTreeMap, BTreeSet};

use carechain_proto::kvrwset::{HashedRwSet, KvReadHash, KvWrite, KvWriteHash, KvrwSet};
use carechain_proto::rwset::{CollectionHashedReadWriteSet, CollectionPvtReadWriteSet};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::rwset::RwSetError;
use crate::state::Version;

/// SHA-256 of a key or value, as Fabric hashes private data.
pub fn hash(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// One collection of one simulation.
#[derive(Debug, Clone, Default)]
pub struct CollBuilder {
    reads: BTreeMap<String, Option<Version>>,
    writes: BTreeMap<String, Option<Vec<u8>>>,
    purges: BTreeSet<String>,
}

impl CollBuilder {
    /// Records a read (first read wins).
    pub fn read(&mut self, key: &str, version: Option<Version>) {
        self.reads.entry(key.to_string()).or_insert(version);
    }

    /// Records a write (`None`: delete); the last write wins and cancels an earlier purge.
    pub fn write(&mut self, key: &str, value: Option<Vec<u8>>) {
        self.purges.remove(key);
        self.writes.insert(key.to_string(), value);
    }

    /// Records a purge (a delete that also removes history).
    pub fn purge(&mut self, key: &str) {
        self.writes.insert(key.to_string(), None);
        self.purges.insert(key.to_string());
    }

    /// Whether anything is written.
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// The private write set (plaintext, writes only), deterministically encoded.
    pub fn private_bytes(&self) -> Vec<u8> {
        KvrwSet {
            writes: self
                .writes
                .iter()
                .map(|(k, v)| KvWrite {
                    key: k.clone(),
                    is_delete: v.is_none(),
                    value: v.clone().unwrap_or_default().into(),
                })
                .collect(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// The public, hashed form.
    pub fn hashed(&self, name: &str) -> (CollectionHashedReadWriteSet, Option<CollectionPvtReadWriteSet>) {
        let hashed = HashedRwSet {
            hashed_reads: self
                .reads
                .iter()
                .map(|(k, v)| KvReadHash {
                    key_hash: hash(k.as_bytes()).into(),
                    version: v.map(|v| carechain_proto::kvrwset::Version {
                        block_num: v.block,
                        tx_num: v.tx,
                    }),
                })
                .collect(),
            hashed_writes: self
                .writes
                .iter()
                .map(|(k, v)| KvWriteHash {
                    key_hash: hash(k.as_bytes()).into(),
                    is_delete: v.is_none(),
                    value_hash: v.as_ref().map(|v| hash(v)).unwrap_or_default().into(),
                    is_purge: self.purges.contains(k),
                })
                .collect(),
            metadata_writes: Vec::new(),
        };
        let (pvt_hash, pvt) = if self.has_writes() {
            let bytes = self.private_bytes();
            let h = hash(&bytes);
            let pvt = CollectionPvtReadWriteSet {
                collection_name: name.to_string(),
                rwset: bytes.into(),
            };
            (h, Some(pvt))
        } else {
            (Vec::new(), None)
        };
        (
            CollectionHashedReadWriteSet {
                collection_name: name.to_string(),
                hashed_rwset: hashed.encode_to_vec().into(),
                pvt_rwset_hash: pvt_hash.into(),
            },
            pvt,
        )
    }
}

/// One collection of a decoded transaction read/write set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollRwSet {
    /// Collection name.
    pub name: String,
    /// Hashed reads: key hash → version read.
    pub reads: Vec<(Vec<u8>, Option<Version>)>,
    /// Hashed writes.
    pub writes: Vec<HashedWrite>,
    /// SHA-256 of the private write set (empty when nothing is written).
    pub pvt_rwset_hash: Vec<u8>,
}

/// One hashed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedWrite {
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// SHA-256 of the value; `None` for a delete.
    pub value_hash: Option<Vec<u8>>,
    /// Whether the delete also purges history.
    pub is_purge: bool,
}

/// Decodes a `CollectionHashedReadWriteSet`.
pub fn parse_hashed(c: &CollectionHashedReadWriteSet) -> Result<CollRwSet, RwSetError> {
    let h = HashedRwSet::decode(c.hashed_rwset.as_ref())
        .map_err(|e| RwSetError(format!("collection {}: {e}", c.collection_name)))?;
    if c.collection_name.is_empty() {
        return Err(RwSetError("empty collection name".into()));
    }
    Ok(CollRwSet {
        name: c.collection_name.clone(),
        reads: h
            .hashed_reads
            .into_iter()
            .map(|r| {
                (
                    r.key_hash.to_vec(),
                    r.version.map(|v| Version::new(v.block_num, v.tx_num)),
                )
            })
            .collect(),
        writes: h
            .hashed_writes
            .into_iter()
            .map(|w| HashedWrite {
                key_hash: w.key_hash.to_vec(),
                value_hash: (!w.is_delete).then(|| w.value_hash.to_vec()),
                is_purge: w.is_purge,
            })
            .collect(),
        pvt_rwset_hash: c.pvt_rwset_hash.to_vec(),
    })
}

/// The plaintext writes of a private write set, checked against the public hashes: `None` when the data
/// does not match what was endorsed (it is then treated as missing, never applied).
pub fn verified_writes(coll: &CollRwSet, private: &[u8]) -> Option<Vec<(String, Option<Vec<u8>>)>> {
    if hash(private) != coll.pvt_rwset_hash {
        return None;
    }
    let kv = KvrwSet::decode(private).ok()?;
    let writes: Vec<(String, Option<Vec<u8>>)> = kv
        .writes
        .into_iter()
        .map(|w| (w.key, (!w.is_delete).then(|| w.value.to_vec())))
        .collect();
    if writes.len() != coll.writes.len() {
        return None;
    }
    for ((k, v), h) in writes.iter().zip(&coll.writes) {
        if hash(k.as_bytes()) != h.key_hash || v.as_ref().map(|v| hash(v)) != h.value_hash {
            return None;
        }
    }
    Some(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_form_matches_plaintext_and_detects_tampering() {
        let mut b = CollBuilder::default();
        b.read("r", Some(Version::new(1, 2)));
        b.write("k", Some(b"secret".to_vec()));
        b.purge("gone");
        let (h, pvt) = b.hashed("c");
        let parsed = parse_hashed(&h).unwrap();
        assert_eq!(parsed.reads, vec![(hash(b"r"), Some(Version::new(1, 2)))]);
        assert!(parsed.writes.iter().any(|w| w.is_purge && w.value_hash.is_none()));
        let pvt = pvt.unwrap();
        let writes = verified_writes(&parsed, &pvt.rwset).unwrap();
        assert_eq!(writes.len(), 2);
        let mut tampered = pvt.rwset.to_vec();
        let n = tampered.len() - 1;
        tampered[n] ^= 1;
        assert!(verified_writes(&parsed, &tampered).is_none());
        // The public form carries no plaintext.
        assert!(!h.encode_to_vec().windows(6).any(|w| w == b"secret"));
    }
}
