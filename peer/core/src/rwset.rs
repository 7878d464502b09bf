//! Read/write sets: built during endorsement by the simulator, carried in the transaction, and checked
//! by MVCC at validation.
//!
//! [`RwSetBuilder`] records what a simulation read (with versions), which ranges it scanned and what it
//! wrote, and encodes Fabric's `TxReadWriteSet`. Every endorser of a transaction must produce
//! byte-identical results, so namespaces and keys are emitted in sorted order and each key's first read
//! and last write win. [`TxRwSet::parse`] is the validation-side decoder.

use std::collections::BTreeMap;

use carechain_proto::kvrwset::{
    KvMetadataEntry, KvMetadataWrite, KvRead, KvWrite, KvrwSet, QueryReads, RangeQueryInfo,
    range_query_info::ReadsInfo,
};
use carechain_proto::rwset::{NsPvtReadWriteSet, NsReadWriteSet, TxPvtReadWriteSet, TxReadWriteSet};
use prost::Message;

use crate::pvtrwset::{CollBuilder, CollRwSet, parse_hashed};
use crate::state::Version;

/// Fabric's name for the key-level endorsement policy metadata entry.
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

#[derive(Default, Debug, Clone)]
struct NsBuilder {
    reads: BTreeMap<String, Option<Version>>,
    ranges: Vec<RangeQueryInfo>,
    writes: BTreeMap<String, Option<Vec<u8>>>,
    metadata_writes: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    collections: BTreeMap<String, CollBuilder>,
}

/// Accumulates one simulation's reads, range scans and writes.
#[derive(Default, Debug, Clone)]
pub struct RwSetBuilder {
    namespaces: BTreeMap<String, NsBuilder>,
}

impl RwSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn ns(&mut self, ns: &str) -> &mut NsBuilder {
        self.namespaces.entry(ns.to_string()).or_default()
    }

    /// Records that `key` was read at `version` (`None`: the key did not exist). The first read of a
    /// key is what counts: later reads in the same simulation saw the same snapshot.
    pub fn add_read(&mut self, ns: &str, key: &str, version: Option<Version>) {
        self.ns(ns).reads.entry(key.to_string()).or_insert(version);
    }

    /// Records a range scan for phantom detection.
    pub fn add_range_query(&mut self, ns: &str, info: RangeQueryInfo) {
        self.ns(ns).ranges.push(info);
    }

    /// Records a write; the last write of a key wins.
    pub fn add_write(&mut self, ns: &str, key: &str, value: Vec<u8>) {
        self.ns(ns).writes.insert(key.to_string(), Some(value));
    }

    /// Records a delete; it replaces an earlier write of the same key.
    pub fn add_delete(&mut self, ns: &str, key: &str) {
        self.ns(ns).writes.insert(key.to_string(), None);
    }

    /// Records a metadata update of `key` (all entries the key carries afterwards).
    pub fn add_metadata_write(&mut self, ns: &str, key: &str, entries: BTreeMap<String, Vec<u8>>) {
        self.ns(ns).metadata_writes.insert(key.to_string(), entries);
    }

    /// The recorder of private collection `coll` of namespace `ns`.
    pub fn collection(&mut self, ns: &str, coll: &str) -> &mut CollBuilder {
        self.ns(ns).collections.entry(coll.to_string()).or_default()
    }

    /// Whether anything was written (a read-only simulation need not be submitted).
    pub fn has_writes(&self) -> bool {
        self.namespaces.values().any(|n| {
            !n.writes.is_empty()
                || !n.metadata_writes.is_empty()
                || n.collections.values().any(CollBuilder::has_writes)
        })
    }

    /// Encodes Fabric's `TxReadWriteSet` (private data as hashes only), deterministically.
    pub fn build(&self) -> TxReadWriteSet {
        let ns_rwset = self
            .namespaces
            .iter()
            .map(|(ns, b)| NsReadWriteSet {
                namespace: ns.clone(),
                rwset: b.to_kvrwset().encode_to_vec().into(),
                collection_hashed_rwset: b.collections.iter().map(|(name, c)| c.hashed(name).0).collect(),
            })
            .collect();
        TxReadWriteSet {
            data_model: 0,
            ns_rwset,
        }
    }

    /// The private write sets (plaintext), if any collection was written.
    pub fn build_private(&self) -> Option<TxPvtReadWriteSet> {
        let ns_pvt_rwset: Vec<NsPvtReadWriteSet> = self
            .namespaces
            .iter()
            .filter_map(|(ns, b)| {
                let colls: Vec<_> = b
                    .collections
                    .iter()
                    .filter_map(|(name, c)| c.hashed(name).1)
                    .collect();
                (!colls.is_empty()).then(|| NsPvtReadWriteSet {
                    namespace: ns.clone(),
                    collection_pvt_rwset: colls,
                })
            })
            .collect();
        (!ns_pvt_rwset.is_empty()).then_some(TxPvtReadWriteSet {
            data_model: 0,
            ns_pvt_rwset,
        })
    }
}

impl NsBuilder {
    fn to_kvrwset(&self) -> KvrwSet {
        KvrwSet {
            reads: self.reads.iter().map(|(k, v)| kv_read(k, *v)).collect(),
            range_queries_info: self.ranges.clone(),
            writes: self
                .writes
                .iter()
                .map(|(k, v)| KvWrite {
                    key: k.clone(),
                    is_delete: v.is_none(),
                    value: v.clone().unwrap_or_default().into(),
                })
                .collect(),
            metadata_writes: self
                .metadata_writes
                .iter()
                .map(|(k, entries)| KvMetadataWrite {
                    key: k.clone(),
                    entries: entries
                        .iter()
                        .map(|(name, value)| KvMetadataEntry {
                            name: name.clone(),
                            value: value.clone().into(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A `KVRead` protobuf for `key` at `version`.
pub fn kv_read(key: &str, version: Option<Version>) -> KvRead {
    KvRead {
        key: key.to_string(),
        version: version.map(|v| carechain_proto::kvrwset::Version {
            block_num: v.block,
            tx_num: v.tx,
        }),
    }
}

/// Builds the `RangeQueryInfo` of a scan: its start, the end actually covered, whether it ran to the
/// end, and every key read with its version.
pub fn range_info(start: &str, end: &str, exhausted: bool, reads: Vec<KvRead>) -> RangeQueryInfo {
    RangeQueryInfo {
        start_key: start.to_string(),
        end_key: end.to_string(),
        itr_exhausted: exhausted,
        reads_info: Some(ReadsInfo::RawReads(QueryReads { kv_reads: reads })),
    }
}

/// One namespace of a decoded read/write set.
#[derive(Debug, Clone, PartialEq)]
pub struct NsRwSet {
    /// Chaincode name.
    pub namespace: String,
    /// Reads with the versions seen (`None`: key absent).
    pub reads: Vec<(String, Option<Version>)>,
    /// Range scans.
    pub ranges: Vec<RangeQueryInfo>,
    /// Writes; `None` deletes.
    pub writes: Vec<(String, Option<Vec<u8>>)>,
    /// Metadata updates: key → all entries afterwards.
    pub metadata_writes: Vec<(String, BTreeMap<String, Vec<u8>>)>,
    /// Private collections touched, in hashed form.
    pub collections: Vec<CollRwSet>,
}

/// A decoded `TxReadWriteSet`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TxRwSet {
    /// Namespaces in the order they appear.
    pub namespaces: Vec<NsRwSet>,
}

/// Why a read/write set could not be decoded (validation code BAD_RWSET).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed read/write set: {0}")]
pub struct RwSetError(pub String);

impl TxRwSet {
    /// Decodes the `results` bytes of a `ChaincodeAction`.
    pub fn parse(bytes: &[u8]) -> Result<TxRwSet, RwSetError> {
        let tx = TxReadWriteSet::decode(bytes).map_err(|e| RwSetError(e.to_string()))?;
        let mut namespaces = Vec::with_capacity(tx.ns_rwset.len());
        for ns in tx.ns_rwset {
            let kv = KvrwSet::decode(ns.rwset.as_ref())
                .map_err(|e| RwSetError(format!("namespace {}: {e}", ns.namespace)))?;
            if ns.namespace.is_empty() {
                return Err(RwSetError("empty namespace".into()));
            }
            let collections = ns
                .collection_hashed_rwset
                .iter()
                .map(parse_hashed)
                .collect::<Result<Vec<_>, _>>()?;
            namespaces.push(NsRwSet {
                collections,
                namespace: ns.namespace,
                reads: kv
                    .reads
                    .into_iter()
                    .map(|r| (r.key, r.version.map(|v| Version::new(v.block_num, v.tx_num))))
                    .collect(),
                ranges: kv.range_queries_info,
                writes: kv
                    .writes
                    .into_iter()
                    .map(|w| (w.key, (!w.is_delete).then(|| w.value.to_vec())))
                    .collect(),
                metadata_writes: kv
                    .metadata_writes
                    .into_iter()
                    .map(|m| {
                        let entries = m
                            .entries
                            .into_iter()
                            .map(|e| (e.name, e.value.to_vec()))
                            .collect();
                        (m.key, entries)
                    })
                    .collect(),
            });
        }
        Ok(TxRwSet { namespaces })
    }

    /// Whether the transaction writes any key, key metadata or private key.
    pub fn has_writes(&self) -> bool {
        self.namespaces.iter().any(|n| {
            !n.writes.is_empty()
                || !n.metadata_writes.is_empty()
                || n.collections.iter().any(|c| !c.writes.is_empty())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_is_deterministic_and_roundtrips() {
        let mk = |order: bool| {
            let mut b = RwSetBuilder::new();
            let keys = if order { ["b", "a"] } else { ["a", "b"] };
            for k in keys {
                b.add_read("cc", k, Some(Version::new(1, 2)));
                b.add_write("cc", k, k.as_bytes().to_vec());
            }
            b.add_delete("other", "x");
            b.build().encode_to_vec()
        };
        assert_eq!(mk(true), mk(false));
        let parsed = TxRwSet::parse(&mk(true)).unwrap();
        assert_eq!(parsed.namespaces.len(), 2);
        assert_eq!(
            parsed.namespaces[0].reads[0],
            ("a".into(), Some(Version::new(1, 2)))
        );
        assert_eq!(parsed.namespaces[1].writes[0], ("x".into(), None));
        assert!(parsed.has_writes());
    }

    #[test]
    fn first_read_and_last_write_win() {
        let mut b = RwSetBuilder::new();
        b.add_read("cc", "k", None);
        b.add_read("cc", "k", Some(Version::new(9, 9)));
        b.add_write("cc", "k", b"1".to_vec());
        b.add_delete("cc", "k");
        let p = TxRwSet::parse(&b.build().encode_to_vec()).unwrap();
        assert_eq!(p.namespaces[0].reads, vec![("k".to_string(), None)]);
        assert_eq!(p.namespaces[0].writes, vec![("k".to_string(), None)]);
    }

    #[test]
    fn garbage_is_bad_rwset() {
        assert!(TxRwSet::parse(&[0xff, 0xff, 0xff]).is_err());
    }
}
