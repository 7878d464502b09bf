//! Private data storage of one channel's ledger, written in the same atomic batch as the block:
//!
//! - `pvt_hashed` (every peer): `ns \0 coll \0 keyhash` → version ‖ value hash;
//! - `pvt_state` (members): `ns \0 coll \0 key` → version ‖ value, with `pvt_keyidx` mapping key hashes
//!   back to keys (purges and expiries arrive as hashes);
//! - `pvt_blocks` (members): `block ‖ tx ‖ ns \0 coll` → the private write set received for that
//!   transaction, kept for reconciliation and block delivery with private data, with `pvt_history`
//!   indexing which of them hold a key;
//! - `pvt_missing`: `block ‖ tx ‖ ns \0 coll` for data this member should hold but does not yet;
//! - `pvt_expiry`: `block ‖ ns \0 coll \0 keyhash` → version: when block-to-live removes a value;
//! - `transient`: tx id → height ‖ private write sets received at endorsement, until commit.
//!
//! An explicit purge removes a key's current value and every stored write set that holds it, on this
//! peer; the hashes stay, so old blocks still validate.

use carechain_proto::kvrwset::KvrwSet;
use peer_core::pvtrwset::hash;
use peer_core::state::{PrivateChanges, Version};
use prost::Message;
use rocksdb::{Direction, IteratorMode, WriteBatch};

use crate::{Ledger, LedgerError, codec};

pub(crate) const CF_PVT_HASHED: &str = "pvt_hashed";
pub(crate) const CF_PVT_STATE: &str = "pvt_state";
pub(crate) const CF_PVT_KEYIDX: &str = "pvt_keyidx";
pub(crate) const CF_PVT_BLOCKS: &str = "pvt_blocks";
pub(crate) const CF_PVT_HISTORY: &str = "pvt_history";
pub(crate) const CF_PVT_MISSING: &str = "pvt_missing";
pub(crate) const CF_PVT_EXPIRY: &str = "pvt_expiry";
pub(crate) const CF_TRANSIENT: &str = "transient";

/// Every private column family.
pub(crate) const CFS: [&str; 8] = [
    CF_PVT_HASHED,
    CF_PVT_STATE,
    CF_PVT_KEYIDX,
    CF_PVT_BLOCKS,
    CF_PVT_HISTORY,
    CF_PVT_MISSING,
    CF_PVT_EXPIRY,
    CF_TRANSIENT,
];

/// Transient entries older than this many blocks are dropped even if their transaction never commits.
pub const TRANSIENT_RETENTION_BLOCKS: u64 = 1000;

pub(crate) fn coll_prefix(ns: &str, coll: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + coll.len() + 2);
    k.extend_from_slice(ns.as_bytes());
    k.push(0);
    k.extend_from_slice(coll.as_bytes());
    k.push(0);
    k
}

pub(crate) fn coll_key(ns: &str, coll: &str, tail: &[u8]) -> Vec<u8> {
    let mut k = coll_prefix(ns, coll);
    k.extend_from_slice(tail);
    k
}

fn tx_key(block: u64, tx: u64, ns: &str, coll: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + ns.len() + coll.len() + 1);
    k.extend_from_slice(&block.to_be_bytes());
    k.extend_from_slice(&tx.to_be_bytes());
    k.extend_from_slice(ns.as_bytes());
    k.push(0);
    k.extend_from_slice(coll.as_bytes());
    k
}

fn parse_tx_key(k: &[u8]) -> Option<(u64, u64, String, String)> {
    let (b, rest) = k.split_at_checked(8)?;
    let (t, rest) = rest.split_at_checked(8)?;
    let s = std::str::from_utf8(rest).ok()?;
    let (ns, coll) = s.split_once('\0')?;
    Some((
        u64::from_be_bytes(b.try_into().ok()?),
        u64::from_be_bytes(t.try_into().ok()?),
        ns.into(),
        coll.into(),
    ))
}

fn version_bytes(v: Version) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&v.block.to_be_bytes());
    out[8..].copy_from_slice(&v.tx.to_be_bytes());
    out
}

pub(crate) fn parse_version(raw: &[u8]) -> Option<Version> {
    let (b, t) = raw.split_at_checked(8)?;
    Some(Version::new(
        u64::from_be_bytes(b.try_into().ok()?),
        u64::from_be_bytes(t.get(..8)?.try_into().ok()?),
    ))
}

/// A stored private write set: (tx index, namespace, collection, bytes).
pub type StoredWriteSet = (u64, String, String, Vec<u8>);

/// One verified write of a reconciled write set: (key hash, key, value; `None` for a delete).
pub type ReconciledWrite = (Vec<u8>, String, Option<Vec<u8>>);

/// A missing private write set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Block number.
    pub block: u64,
    /// Transaction index.
    pub tx: u64,
    /// Namespace (chaincode).
    pub ns: String,
    /// Collection.
    pub collection: String,
}

impl Ledger {
    /// Adds a block's private changes to its commit batch. Reads current private state to resolve purges
    /// and expiries (the committer is the only writer, so the reads are consistent).
    pub(crate) fn batch_private(
        &self,
        batch: &mut WriteBatch,
        number: u64,
        p: &PrivateChanges,
    ) -> Result<(), LedgerError> {
        let (hashed, state, keyidx) = (
            self.cf(CF_PVT_HASHED)?,
            self.cf(CF_PVT_STATE)?,
            self.cf(CF_PVT_KEYIDX)?,
        );
        let (blocks, history, missing, expiry) = (
            self.cf(CF_PVT_BLOCKS)?,
            self.cf(CF_PVT_HISTORY)?,
            self.cf(CF_PVT_MISSING)?,
            self.cf(CF_PVT_EXPIRY)?,
        );
        for ((ns, coll, kh), u) in &p.hashed {
            let k = coll_key(ns, coll, kh);
            match &u.value_hash {
                Some(h) => {
                    let mut v = version_bytes(u.version).to_vec();
                    v.extend_from_slice(h);
                    batch.put_cf(hashed, k, v);
                }
                None => batch.delete_cf(hashed, k),
            }
        }
        for ((ns, coll, kh), u) in &p.plaintext {
            let sk = coll_key(ns, coll, u.key.as_bytes());
            match &u.value {
                Some(v) => {
                    batch.put_cf(state, sk, codec::encode_value(v, u.version, &Default::default()));
                    batch.put_cf(keyidx, coll_key(ns, coll, kh), u.key.as_bytes());
                }
                None => batch.delete_cf(state, sk),
            }
            let mut hk = coll_key(ns, coll, kh);
            hk.push(0);
            hk.extend_from_slice(&version_bytes(u.version));
            batch.put_cf(history, hk, []);
        }
        for (tx, ns, coll, bytes) in &p.write_sets {
            batch.put_cf(blocks, tx_key(number, *tx, ns, coll), bytes);
        }
        for (tx, ns, coll) in &p.missing {
            batch.put_cf(missing, tx_key(number, *tx, ns, coll), []);
        }
        // Missing writes are indexed like held ones, so a purge or an expiry of the key finds them.
        for (ns, coll, kh, v) in &p.missing_writes {
            let mut hk = coll_key(ns, coll, kh);
            hk.push(0);
            hk.extend_from_slice(&version_bytes(*v));
            batch.put_cf(history, hk, []);
        }
        for (at, ns, coll, kh, v) in &p.expiries {
            let mut k = at.to_be_bytes().to_vec();
            k.extend_from_slice(&coll_key(ns, coll, kh));
            batch.put_cf(expiry, k, version_bytes(*v));
        }
        for (ns, coll, kh) in &p.purges {
            self.purge_key(batch, ns, coll, kh, None)?;
        }
        self.expire(batch, number)?;
        Ok(())
    }

    /// Removes a key's plaintext and its stored write sets (all of them, or only the one written at
    /// `only`), on this peer. Write sets of those versions still awaited from other members stop being
    /// missing: a purged or expired value is one no peer may serve any more.
    fn purge_key(
        &self,
        batch: &mut WriteBatch,
        ns: &str,
        coll: &str,
        kh: &[u8],
        only: Option<Version>,
    ) -> Result<(), LedgerError> {
        let (state, keyidx, blocks, history, missing) = (
            self.cf(CF_PVT_STATE)?,
            self.cf(CF_PVT_KEYIDX)?,
            self.cf(CF_PVT_BLOCKS)?,
            self.cf(CF_PVT_HISTORY)?,
            self.cf(CF_PVT_MISSING)?,
        );
        let key = self.db.get_cf(keyidx, coll_key(ns, coll, kh))?;
        let mut prefix = coll_key(ns, coll, kh);
        prefix.push(0);
        for item in self
            .db
            .iterator_cf(history, IteratorMode::From(&prefix, Direction::Forward))
        {
            let (hk, _) = item?;
            if !hk.starts_with(&prefix) {
                break;
            }
            let Some(v) = parse_version(&hk[prefix.len()..]) else {
                continue;
            };
            if only.is_some_and(|o| o != v) {
                continue;
            }
            let tk = tx_key(v.block, v.tx, ns, coll);
            if let Some(raw) = self.db.get_cf(blocks, &tk)? {
                let mut set =
                    KvrwSet::decode(raw.as_slice()).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
                set.writes.retain(|w| hash(w.key.as_bytes()) != kh);
                if set.writes.is_empty() {
                    batch.delete_cf(blocks, &tk);
                } else {
                    batch.put_cf(blocks, &tk, set.encode_to_vec());
                }
            }
            batch.delete_cf(missing, &tk);
            batch.delete_cf(history, &hk);
        }
        if let Some(v) = only {
            // Expiry of a version this peer never received (no history entry if it predates the index).
            batch.delete_cf(missing, tx_key(v.block, v.tx, ns, coll));
        }
        let Some(key) = key else { return Ok(()) };
        if only.is_none() {
            batch.delete_cf(state, coll_key(ns, coll, &key));
            batch.delete_cf(keyidx, coll_key(ns, coll, kh));
        } else if let Some(raw) = self.db.get_cf(state, coll_key(ns, coll, &key))?
            && let Ok(cur) = codec::decode_value(&raw)
            && Some(cur.version) == only
        {
            batch.delete_cf(state, coll_key(ns, coll, &key));
        }
        Ok(())
    }

    /// Applies the block-to-live expiries due at block `number`.
    fn expire(&self, batch: &mut WriteBatch, number: u64) -> Result<(), LedgerError> {
        let expiry = self.cf(CF_PVT_EXPIRY)?;
        let prefix = number.to_be_bytes();
        let due: Vec<(Vec<u8>, Vec<u8>)> = self
            .db
            .iterator_cf(expiry, IteratorMode::From(&prefix, Direction::Forward))
            .take_while(|i| i.as_ref().is_ok_and(|(k, _)| k.starts_with(&prefix)))
            .filter_map(Result::ok)
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        for (k, v) in due {
            let version = parse_version(&v);
            // coll key: ns \0 coll \0 keyhash (the hash is binary, so split on the first two NULs).
            let parts: Vec<&[u8]> = k[8..].splitn(3, |b| *b == 0).collect();
            if let ([ns, coll, kh], Some(version)) = (parts.as_slice(), version) {
                let (ns, coll) = (
                    String::from_utf8_lossy(ns).to_string(),
                    String::from_utf8_lossy(coll).to_string(),
                );
                self.purge_key(batch, &ns, &coll, kh, Some(version))?;
            }
            batch.delete_cf(expiry, &k);
        }
        Ok(())
    }

    /// Keeps a transaction's private write sets until it commits (or is forgotten).
    pub fn put_transient(&self, tx_id: &str, height: u64, pvt: &[u8]) -> Result<(), LedgerError> {
        let mut v = height.to_be_bytes().to_vec();
        v.extend_from_slice(pvt);
        Ok(self.db.put_cf(self.cf(CF_TRANSIENT)?, tx_id.as_bytes(), v)?)
    }

    /// The private write sets held for a transaction.
    pub fn get_transient(&self, tx_id: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .db
            .get_cf(self.cf(CF_TRANSIENT)?, tx_id.as_bytes())?
            .and_then(|v| v.get(8..).map(<[u8]>::to_vec)))
    }

    /// Drops transient entries of committed transactions and entries older than the retention.
    pub(crate) fn batch_transient_cleanup(
        &self,
        batch: &mut WriteBatch,
        number: u64,
        tx_ids: &[String],
    ) -> Result<(), LedgerError> {
        let t = self.cf(CF_TRANSIENT)?;
        for id in tx_ids {
            batch.delete_cf(t, id.as_bytes());
        }
        // A full scan every 100 blocks keeps the store bounded without a second index.
        if number.is_multiple_of(100) {
            for item in self.db.iterator_cf(t, IteratorMode::Start) {
                let (k, v) = item?;
                let h = v
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                if h + TRANSIENT_RETENTION_BLOCKS < number {
                    batch.delete_cf(t, k);
                }
            }
        }
        Ok(())
    }

    /// Private data this peer should hold but does not.
    pub fn missing_private_data(&self) -> Result<Vec<Missing>, LedgerError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_PVT_MISSING)?, IteratorMode::Start) {
            let (k, _) = item?;
            if let Some((block, tx, ns, collection)) = parse_tx_key(&k) {
                out.push(Missing {
                    block,
                    tx,
                    ns,
                    collection,
                });
            }
        }
        Ok(out)
    }

    /// The private write set this peer holds for (block, tx, ns, collection).
    pub fn private_write_set(
        &self,
        block: u64,
        tx: u64,
        ns: &str,
        coll: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .db
            .get_cf(self.cf(CF_PVT_BLOCKS)?, tx_key(block, tx, ns, coll))?)
    }

    /// Every private write set stored for transactions of `block`: (tx, ns, collection, bytes).
    pub fn private_write_sets_of_block(&self, block: u64) -> Result<Vec<StoredWriteSet>, LedgerError> {
        let prefix = block.to_be_bytes();
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            self.cf(CF_PVT_BLOCKS)?,
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            if let Some((_, tx, ns, coll)) = parse_tx_key(&k) {
                out.push((tx, ns, coll, v.to_vec()));
            }
        }
        Ok(out)
    }

    /// Stores private data fetched by the reconciler for a missing entry. `writes` are the verified
    /// (key hash, key, value) of the write set, written by the transaction at `version`; values are
    /// applied only where that transaction's write is still the current one. Nothing is stored once
    /// the entry is no longer missing (received meanwhile, or purged or expired while it was fetched);
    /// returns whether the data was stored.
    pub fn apply_reconciled(
        &self,
        version: Version,
        ns: &str,
        coll: &str,
        bytes: &[u8],
        writes: &[ReconciledWrite],
    ) -> Result<bool, LedgerError> {
        // Excludes a commit between the check and the write, so a purge or an expiry it applies cannot
        // be undone by data fetched before it.
        let _commit = self.private_writer.lock();
        let tk = tx_key(version.block, version.tx, ns, coll);
        if self.db.get_cf(self.cf(CF_PVT_MISSING)?, &tk)?.is_none() {
            return Ok(false);
        }
        let mut batch = WriteBatch::default();
        let (hashed, state, keyidx, history) = (
            self.cf(CF_PVT_HASHED)?,
            self.cf(CF_PVT_STATE)?,
            self.cf(CF_PVT_KEYIDX)?,
            self.cf(CF_PVT_HISTORY)?,
        );
        batch.put_cf(
            self.cf(CF_PVT_BLOCKS)?,
            tx_key(version.block, version.tx, ns, coll),
            bytes,
        );
        batch.delete_cf(
            self.cf(CF_PVT_MISSING)?,
            tx_key(version.block, version.tx, ns, coll),
        );
        for (kh, key, value) in writes {
            let mut hk = coll_key(ns, coll, kh);
            hk.push(0);
            hk.extend_from_slice(&version_bytes(version));
            batch.put_cf(history, hk, []);
            // Indexed even for a superseded version: a later purge or expiry finds the key through it.
            batch.put_cf(keyidx, coll_key(ns, coll, kh), key.as_bytes());
            let current = self
                .db
                .get_cf(hashed, coll_key(ns, coll, kh))?
                .and_then(|v| parse_version(&v));
            if current == Some(version)
                && let Some(v) = value
            {
                batch.put_cf(
                    state,
                    coll_key(ns, coll, key.as_bytes()),
                    codec::encode_value(v, version, &Default::default()),
                );
            }
        }
        self.db.write_opt(batch, &self.write_opts)?;
        Ok(true)
    }
}
