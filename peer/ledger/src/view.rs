//! Snapshot reads of the world state: the [`StateView`] endorsers simulate against and validators
//! check read versions against. Backed by a RocksDB snapshot, so a commit landing in the middle of a
//! simulation is invisible to it.

use peer_core::state::{HashedValue, HistoryEntry, StateError, StateView, VersionedValue};
use rocksdb::{DB, Direction, IteratorMode, ReadOptions, SnapshotWithThreadMode};

use crate::{CF_HISTORY, CF_STATE, CF_TXIDS, Ledger, LedgerError, codec, private};

/// A point-in-time view of one channel's ledger.
pub struct LedgerSnapshot<'a> {
    ledger: &'a Ledger,
    snap: SnapshotWithThreadMode<'a, DB>,
    height: u64,
}

impl<'a> LedgerSnapshot<'a> {
    pub(crate) fn new(ledger: &'a Ledger) -> Self {
        // Read the height first: a commit between the two calls only makes the snapshot newer than the
        // recorded height, and heights are only used as a lower bound.
        let height = ledger.height();
        LedgerSnapshot {
            ledger,
            snap: ledger.db.snapshot(),
            height,
        }
    }

    fn opts(&self, lower: Vec<u8>, upper: Vec<u8>) -> ReadOptions {
        let mut o = ReadOptions::default();
        o.set_snapshot(&self.snap);
        o.set_iterate_lower_bound(lower);
        o.set_iterate_upper_bound(upper);
        o
    }
}

fn err(e: LedgerError) -> StateError {
    StateError(e.to_string())
}

fn rerr(e: rocksdb::Error) -> StateError {
    StateError(e.to_string())
}

impl StateView for LedgerSnapshot<'_> {
    fn get(&self, ns: &str, key: &str) -> Result<Option<VersionedValue>, StateError> {
        let cf = self.ledger.cf(CF_STATE).map_err(err)?;
        match self
            .snap
            .get_pinned_cf(cf, codec::state_key(ns, key))
            .map_err(rerr)?
        {
            Some(raw) => codec::decode_value(&raw).map(Some).map_err(err),
            None => Ok(None),
        }
    }

    fn range(
        &self,
        ns: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError> {
        let cf = self.ledger.cf(CF_STATE).map_err(err)?;
        let lower = codec::state_key(ns, start);
        let upper = match end {
            Some(e) => codec::state_key(ns, e),
            None => codec::ns_end(ns),
        };
        if lower >= upper {
            return Ok(Vec::new());
        }
        let prefix = ns.len() + 1;
        let opts = self.opts(lower.clone(), upper);
        let iter = self
            .ledger
            .db
            .iterator_cf_opt(cf, opts, IteratorMode::From(&lower, Direction::Forward));
        let mut out = Vec::new();
        for item in iter.take(limit) {
            let (k, v) = item.map_err(rerr)?;
            let key = std::str::from_utf8(&k[prefix..])
                .map_err(|_| StateError("state key is not UTF-8".into()))?
                .to_string();
            out.push((key, codec::decode_value(&v).map_err(err)?));
        }
        Ok(out)
    }

    fn history(&self, ns: &str, key: &str) -> Result<Vec<HistoryEntry>, StateError> {
        let cf = self.ledger.cf(CF_HISTORY).map_err(err)?;
        let prefix = codec::history_prefix(ns, key);
        let mut upper = prefix.clone();
        upper.extend_from_slice(&[0xff; 17]);
        let opts = self.opts(prefix.clone(), upper);
        let iter = self
            .ledger
            .db
            .iterator_cf_opt(cf, opts, IteratorMode::From(&prefix, Direction::Forward));
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item.map_err(rerr)?;
            out.push(codec::decode_history(&k, &v).map_err(err)?);
        }
        out.reverse();
        Ok(out)
    }

    fn tx_exists(&self, tx_id: &str) -> Result<bool, StateError> {
        let cf = self.ledger.cf(CF_TXIDS).map_err(err)?;
        Ok(self
            .snap
            .get_pinned_cf(cf, tx_id.as_bytes())
            .map_err(rerr)?
            .is_some())
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
        let cf = self.ledger.cf(private::CF_PVT_HASHED).map_err(err)?;
        let Some(raw) = self
            .snap
            .get_pinned_cf(cf, private::coll_key(ns, coll, key_hash))
            .map_err(rerr)?
        else {
            return Ok(None);
        };
        let version =
            private::parse_version(&raw).ok_or_else(|| StateError("malformed private hash entry".into()))?;
        Ok(Some(HashedValue {
            value_hash: raw[16..].to_vec(),
            version,
        }))
    }

    fn get_private(&self, ns: &str, coll: &str, key: &str) -> Result<Option<VersionedValue>, StateError> {
        let cf = self.ledger.cf(private::CF_PVT_STATE).map_err(err)?;
        match self
            .snap
            .get_pinned_cf(cf, private::coll_key(ns, coll, key.as_bytes()))
            .map_err(rerr)?
        {
            Some(raw) => codec::decode_value(&raw).map(Some).map_err(err),
            None => Ok(None),
        }
    }

    fn private_range(
        &self,
        ns: &str,
        coll: &str,
        start: &str,
        end: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, VersionedValue)>, StateError> {
        let cf = self.ledger.cf(private::CF_PVT_STATE).map_err(err)?;
        let prefix = private::coll_prefix(ns, coll);
        let lower = private::coll_key(ns, coll, start.as_bytes());
        let upper = match end {
            Some(e) => private::coll_key(ns, coll, e.as_bytes()),
            None => {
                let mut u = prefix.clone();
                if let Some(last) = u.last_mut() {
                    *last = 1;
                }
                u
            }
        };
        if lower >= upper {
            return Ok(Vec::new());
        }
        let opts = self.opts(lower.clone(), upper);
        let iter = self
            .ledger
            .db
            .iterator_cf_opt(cf, opts, IteratorMode::From(&lower, Direction::Forward));
        let mut out = Vec::new();
        for item in iter.take(limit) {
            let (k, v) = item.map_err(rerr)?;
            let key = std::str::from_utf8(&k[prefix.len()..])
                .map_err(|_| StateError("private key is not UTF-8".into()))?
                .to_string();
            out.push((key, codec::decode_value(&v).map_err(err)?));
        }
        Ok(out)
    }
}
