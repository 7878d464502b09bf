//! What one mock transaction did: the read/write set and event a real endorser would have produced.
//!
//! Tests assert on these to check a contract reads and writes exactly what it should, which is what decides
//! MVCC conflicts and phantom reads once the transaction is validated for real.

use std::collections::BTreeMap;

use crate::KeyEndorsement;

/// How the most recent mock transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Still collecting reads and writes.
    Open,
    /// Applied by `MockContext::commit` (or a successful `submit`).
    Committed,
    /// Thrown away by `MockContext::discard` (a failed `submit`, or any `evaluate`).
    Discarded,
}

/// A chaincode event set by the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Event name.
    pub name: String,
    /// Event payload (may be empty).
    pub payload: Vec<u8>,
}

/// One range query, as the validator would re-run it to detect phantoms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRead {
    /// Start key as requested (inclusive).
    pub start: String,
    /// End key as requested (exclusive; empty = unbounded).
    pub end: String,
    /// Bookmark the query resumed from (empty for a first page).
    pub bookmark: String,
    /// Requested page size (0 = everything).
    pub page_size: u32,
    /// Keys returned, with the mock version (commit height) of each.
    pub keys: Vec<(String, u64)>,
    /// Whether the query reached the end of the range (no bookmark returned).
    pub exhausted: bool,
}

/// The read/write set and event of one mock transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    /// The transaction's id.
    pub tx_id: String,
    /// Whether it is open, committed or discarded.
    pub status: TxStatus,
    /// Keys read, with the committed version seen (`None` = absent). Sorted, like Fabric's rwset.
    pub reads: BTreeMap<String, Option<u64>>,
    /// Range queries, in the order they ran.
    pub range_reads: Vec<RangeRead>,
    /// Buffered writes: `Some(value)` or `None` for a delete. The last write to a key wins.
    pub writes: BTreeMap<String, Option<Vec<u8>>>,
    /// Key-level endorsement changes: `Some(policy)` sets, `None` removes.
    pub policy_writes: BTreeMap<String, Option<KeyEndorsement>>,
    /// The transaction's event, if one was set (the last one wins).
    pub event: Option<Event>,
}

impl TxRecord {
    /// An empty, open record for `tx_id`.
    pub fn open(tx_id: &str) -> TxRecord {
        TxRecord {
            tx_id: tx_id.to_string(),
            status: TxStatus::Open,
            reads: BTreeMap::new(),
            range_reads: Vec::new(),
            writes: BTreeMap::new(),
            policy_writes: BTreeMap::new(),
            event: None,
        }
    }
}
