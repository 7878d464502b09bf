//! The peer's ledger for one channel, on RocksDB: the block store, the tx-id index, the versioned
//! world state and the key history. It is the last step of endorse → order → validate: the committer
//! hands it a validated block and the [`BlockUpdates`] that validation computed, and it writes all of
//! it in **one atomic `WriteBatch`**, together with the new height and tip hash (the savepoint). A
//! `kill -9` at any moment therefore restarts at the last committed block with consistent state.
//!
//! Endorsers read through [`Ledger::snapshot`], a RocksDB snapshot: simulation sees one consistent
//! point in time and never blocks a commit.
//!
//! Column families: `blocks` (number → block bytes), `txids` (tx id → block, index, code), `state`
//! (`ns \0 key` → version, metadata, value), `history` (`ns \0 len key block tx` → tx id, timestamp,
//! value), `meta` (height and tip hash).

mod codec;
mod private;
mod view;

use std::path::Path;

use parking_lot::RwLock;
use peer_core::state::{BlockUpdates, TxLocation};
use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

pub use private::{Missing, ReconciledWrite, StoredWriteSet, TRANSIENT_RETENTION_BLOCKS};
pub use view::LedgerSnapshot;

const CF_BLOCKS: &str = "blocks";
const CF_TXIDS: &str = "txids";
const CF_STATE: &str = "state";
const CF_HISTORY: &str = "history";
const CF_META: &str = "meta";
const META_HEIGHT: &[u8] = b"height";
const META_TIP: &[u8] = b"tip_hash";

/// Ledger failures: storage errors and violated commit preconditions. Invalid transactions are not
/// errors here; they arrive already judged.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// RocksDB reported an error.
    #[error("ledger storage error: {0}")]
    Storage(#[from] rocksdb::Error),
    /// Stored bytes do not decode; the database is damaged or from an incompatible version.
    #[error("ledger data is corrupt: {0}")]
    Corrupt(String),
    /// A block was offered out of order.
    #[error("block {got} cannot be committed: the ledger height is {height}, so block {height} is next")]
    OutOfOrder {
        /// The block number offered.
        got: u64,
        /// The current height (the number of the next block).
        height: u64,
    },
}

/// Tuning of the RocksDB instance.
#[derive(Clone, Debug)]
pub struct LedgerOptions {
    /// fsync the write-ahead log on every block commit (durability across power loss, not only
    /// process crashes).
    pub sync_writes: bool,
    /// Block cache shared by the column families, in bytes.
    pub block_cache_bytes: usize,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            sync_writes: true,
            block_cache_bytes: 64 << 20,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Tip {
    height: u64,
    hash: Option<[u8; 32]>,
}

/// One channel's ledger. Share it behind an `Arc`; commits must come from a single committer.
pub struct Ledger {
    pub(crate) db: DB,
    pub(crate) write_opts: WriteOptions,
    tip: RwLock<Tip>,
    /// Held by a commit and by [`Ledger::apply_reconciled`]: both read private state, then write.
    pub(crate) private_writer: parking_lot::Mutex<()>,
}

impl Ledger {
    /// Opens (or creates) the ledger stored in `path`, recovering height and tip from the savepoint.
    pub fn open(path: &Path, opts: &LedgerOptions) -> Result<Ledger, LedgerError> {
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cache = Cache::new_lru_cache(opts.block_cache_bytes);
        let names = [CF_BLOCKS, CF_TXIDS, CF_STATE, CF_HISTORY, CF_META]
            .into_iter()
            .chain(private::CFS);
        let cfs: Vec<ColumnFamilyDescriptor> = names
            .map(|name| {
                let mut cf_opts = Options::default();
                cf_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
                let mut table = BlockBasedOptions::default();
                table.set_block_cache(&cache);
                // Point lookups dominate state and tx-id reads; bloom filters skip SST files that
                // cannot hold the key.
                table.set_bloom_filter(10.0, false);
                cf_opts.set_block_based_table_factory(&table);
                ColumnFamilyDescriptor::new(name, cf_opts)
            })
            .collect();
        let db = DB::open_cf_descriptors(&db_opts, path, cfs)?;
        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(opts.sync_writes);
        let ledger = Ledger {
            db,
            write_opts,
            tip: RwLock::new(Tip::default()),
            private_writer: parking_lot::Mutex::new(()),
        };
        let tip = ledger.read_tip()?;
        *ledger.tip.write() = tip;
        Ok(ledger)
    }

    pub(crate) fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, LedgerError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| LedgerError::Corrupt(format!("column family {name} missing")))
    }

    fn read_tip(&self) -> Result<Tip, LedgerError> {
        let meta = self.cf(CF_META)?;
        let height = match self.db.get_cf(meta, META_HEIGHT)? {
            Some(raw) => u64::from_be_bytes(raw.as_slice().try_into().map_err(|_| codec::corrupt("height"))?),
            None => 0,
        };
        let hash = match self.db.get_cf(meta, META_TIP)? {
            Some(raw) => Some(
                raw.as_slice()
                    .try_into()
                    .map_err(|_| codec::corrupt("tip hash"))?,
            ),
            None => None,
        };
        Ok(Tip { height, hash })
    }

    /// Number of committed blocks (the number of the next block).
    pub fn height(&self) -> u64 {
        self.tip.read().height
    }

    /// Header hash of the last committed block, `None` for an empty ledger.
    pub fn tip_hash(&self) -> Option<[u8; 32]> {
        self.tip.read().hash
    }

    /// Commits block `number` (its serialized bytes, with validation codes already in its metadata),
    /// its header hash and the state changes of its valid transactions, atomically.
    pub fn commit(
        &self,
        number: u64,
        block_bytes: &[u8],
        header_hash: [u8; 32],
        updates: &BlockUpdates,
    ) -> Result<(), LedgerError> {
        let height = self.height();
        if number != height {
            return Err(LedgerError::OutOfOrder { got: number, height });
        }
        let _private = self.private_writer.lock();
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_BLOCKS)?, number.to_be_bytes(), block_bytes);
        let txids = self.cf(CF_TXIDS)?;
        for (tx_id, loc) in &updates.tx_index {
            batch.put_cf(txids, tx_id.as_bytes(), codec::encode_location(loc));
        }
        let state = self.cf(CF_STATE)?;
        for ((ns, key), u) in &updates.state {
            let k = codec::state_key(ns, key);
            match &u.value {
                Some(v) => batch.put_cf(state, k, codec::encode_value(v, u.version, &u.metadata)),
                None => batch.delete_cf(state, k),
            }
        }
        let history = self.cf(CF_HISTORY)?;
        for (ns, key, entry) in &updates.history {
            batch.put_cf(
                history,
                codec::history_key(ns, key, entry.version),
                codec::encode_history(entry),
            );
        }
        self.batch_private(&mut batch, number, &updates.private)?;
        let committed: Vec<String> = updates.tx_index.iter().map(|(id, _)| id.clone()).collect();
        self.batch_transient_cleanup(&mut batch, number, &committed)?;
        let meta = self.cf(CF_META)?;
        batch.put_cf(meta, META_HEIGHT, (number + 1).to_be_bytes());
        batch.put_cf(meta, META_TIP, header_hash);
        self.db.write_opt(batch, &self.write_opts)?;
        *self.tip.write() = Tip {
            height: number + 1,
            hash: Some(header_hash),
        };
        Ok(())
    }

    /// The serialized block `number`, as committed (with its validation codes).
    pub fn block_bytes(&self, number: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.db.get_cf(self.cf(CF_BLOCKS)?, number.to_be_bytes())?)
    }

    /// Where a transaction was committed and its validation code.
    pub fn tx_location(&self, tx_id: &str) -> Result<Option<TxLocation>, LedgerError> {
        match self.db.get_pinned_cf(self.cf(CF_TXIDS)?, tx_id.as_bytes())? {
            Some(raw) => Ok(Some(codec::decode_location(&raw)?)),
            None => Ok(None),
        }
    }

    /// A consistent point-in-time view of the world state for simulation or validation.
    pub fn snapshot(&self) -> LedgerSnapshot<'_> {
        LedgerSnapshot::new(self)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_private;
