//! The Raft log of one channel on disk: entries (each a block, a leader's blank entry or the
//! membership), the vote, and the state machine's bookkeeping, in one RocksDB under
//! `<data>/raft/<channel>/`. It sits under ordering in endorse → order → validate: an entry is
//! acknowledged to the leader only after it is synced here, which is what makes a committed block
//! survive the crash of any minority of orderers.
//!
//! Column families: `log` (index → postcard entry) and `meta` (vote, last purged log id, and the state
//! machine's applied log id, membership and current snapshot). Keeping the state machine's bookkeeping
//! in the same database as the log matters: every synced log write also makes the earlier, unsynced
//! "applied" records durable (one write-ahead log), so after a crash the applied record is never older
//! than a purge that relied on it.

// openraft's storage traits return its `StorageError` (224 bytes); the helpers here produce what
// those traits must return, so boxing it would only move the conversion.
#![allow(clippy::result_large_err)]

use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, RaftLogReader, StorageError, Vote};
use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Entry, LogId, NodeId, TypeConfig, decode, encode, storage_error};
use crate::OrdererError;

const CF_LOG: &str = "log";
const CF_META: &str = "meta";
const META_VOTE: &[u8] = b"vote";
const META_PURGED: &[u8] = b"purged";

/// One channel's Raft database, shared by the log store and the state machine.
pub struct RaftDb {
    channel: String,
    db: DB,
}

impl std::fmt::Debug for RaftDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftDb")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RaftDb {
    /// Opens (or creates) the database of `channel` in `path`.
    pub fn open(path: &Path, channel: &str) -> Result<Arc<RaftDb>, OrdererError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cfs = [CF_LOG, CF_META].map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| {
            OrdererError::store(
                channel,
                format!("cannot open the Raft log {}: {e}", path.display()),
            )
        })?;
        Ok(Arc::new(RaftDb {
            channel: channel.to_string(),
            db,
        }))
    }

    /// The channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StorageError<NodeId>> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| self.err(format!("column family {name} is missing")))
    }

    fn err(&self, detail: impl std::fmt::Display) -> StorageError<NodeId> {
        storage_error(&self.channel, detail)
    }

    /// A bookkeeping value.
    pub(crate) fn get_meta<T: DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StorageError<NodeId>> {
        let raw = self
            .db
            .get_cf(self.cf(CF_META)?, key)
            .map_err(|e| self.err(format!("reading {}: {e}", String::from_utf8_lossy(key))))?;
        raw.map(|b| decode(&b))
            .transpose()
            .map_err(|e| self.err(format!("{}: {e}", String::from_utf8_lossy(key))))
    }

    /// A bookkeeping value encoded for [`RaftDb::put_meta`].
    pub(crate) fn meta_value<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, StorageError<NodeId>> {
        encode(value).map_err(|e| self.err(e))
    }

    /// Writes encoded bookkeeping values in one batch; `sync` makes them durable before returning.
    pub(crate) fn put_meta(
        &self,
        values: &[(&[u8], Vec<u8>)],
        sync: bool,
    ) -> Result<(), StorageError<NodeId>> {
        let mut batch = WriteBatch::default();
        for (key, value) in values {
            batch.put_cf(self.cf(CF_META)?, key, value);
        }
        self.write(batch, sync)
    }

    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), StorageError<NodeId>> {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db
            .write_opt(batch, &opts)
            .map_err(|e| self.err(format!("writing the Raft log: {e}")))
    }

    fn entries(&self, start: u64, end: Option<u64>) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let cf = self.cf(CF_LOG)?;
        let from = start.to_be_bytes();
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward))
        {
            let (key, value) = item.map_err(|e| self.err(format!("reading log entries: {e}")))?;
            let index = index_of(&key).ok_or_else(|| self.err("a log key is not 8 bytes"))?;
            if end.is_some_and(|end| index >= end) {
                break;
            }
            let entry: Entry = decode(&value).map_err(|e| self.err(format!("log entry {index}: {e}")))?;
            out.push(entry);
        }
        Ok(out)
    }

    fn last_entry(&self) -> Result<Option<Entry>, StorageError<NodeId>> {
        let cf = self.cf(CF_LOG)?;
        match self.db.iterator_cf(cf, IteratorMode::End).next() {
            None => Ok(None),
            Some(item) => {
                let (_, value) = item.map_err(|e| self.err(format!("reading the last entry: {e}")))?;
                decode(&value)
                    .map(Some)
                    .map_err(|e| self.err(format!("the last log entry: {e}")))
            }
        }
    }

    /// Deletes entries with index in `[from, to)` and writes `meta` alongside, synced.
    fn delete_range(
        &self,
        from: u64,
        to: u64,
        meta: Option<(&[u8], Vec<u8>)>,
    ) -> Result<(), StorageError<NodeId>> {
        let cf = self.cf(CF_LOG)?;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf, from.to_be_bytes(), to.to_be_bytes());
        if to == u64::MAX {
            batch.delete_cf(cf, u64::MAX.to_be_bytes());
        }
        if let Some((key, value)) = meta {
            batch.put_cf(self.cf(CF_META)?, key, value);
        }
        self.write(batch, true)
    }
}

fn index_of(key: &[u8]) -> Option<u64> {
    key.try_into().ok().map(u64::from_be_bytes)
}

/// Runs blocking RocksDB work off the async workers.
async fn blocking<T: Send + 'static>(
    db: &Arc<RaftDb>,
    f: impl FnOnce(&RaftDb) -> Result<T, StorageError<NodeId>> + Send + 'static,
) -> Result<T, StorageError<NodeId>> {
    let db = db.clone();
    let channel = db.channel.clone();
    tokio::task::spawn_blocking(move || f(&db))
        .await
        .map_err(|e| storage_error(&channel, format!("Raft log task failed: {e}")))?
}

/// openraft's log storage over a [`RaftDb`]. Cheap to clone (the log reader is a clone).
#[derive(Clone, Debug)]
pub struct LogStore {
    db: Arc<RaftDb>,
}

impl LogStore {
    /// The log of `db`.
    pub fn new(db: Arc<RaftDb>) -> LogStore {
        LogStore { db }
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + std::fmt::Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let start = match range.start_bound() {
            Bound::Included(s) => *s,
            Bound::Excluded(s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(e) => Some(e.saturating_add(1)),
            Bound::Excluded(e) => Some(*e),
            Bound::Unbounded => None,
        };
        blocking(&self.db, move |db| db.entries(start, end)).await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let purged: Option<LogId> = self.db.get_meta(META_PURGED)?;
        let last = self.db.last_entry()?.map(|e| e.log_id).or(purged);
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let vote = self.db.meta_value(vote)?;
        blocking(&self.db, move |db| db.put_meta(&[(META_VOTE, vote)], true)).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.db.get_meta(META_VOTE)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut batch = WriteBatch::default();
        let cf = self.db.cf(CF_LOG)?;
        for entry in entries {
            let bytes = encode(&entry).map_err(|e| self.db.err(e))?;
            batch.put_cf(cf, entry.log_id.index.to_be_bytes(), bytes);
        }
        // Synced before the callback: the leader counts this orderer toward a quorum only then.
        let written = blocking(&self.db, move |db| db.write(batch, true)).await;
        let io = written
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(io);
        written
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError<NodeId>> {
        blocking(&self.db, move |db| db.delete_range(log_id.index, u64::MAX, None)).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError<NodeId>> {
        let purged = self.db.meta_value(&log_id)?;
        blocking(&self.db, move |db| {
            db.delete_range(0, log_id.index.saturating_add(1), Some((META_PURGED, purged)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;
    use crate::raft::Proposal;

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Normal(Proposal(bytes::Bytes::from(format!("synthetic block {index}")))),
        }
    }

    async fn append(store: &mut LogStore, entries: Vec<Entry>) {
        let mut batch = WriteBatch::default();
        let cf = store.db.cf(CF_LOG).unwrap();
        for e in entries {
            batch.put_cf(cf, e.log_id.index.to_be_bytes(), encode(&e).unwrap());
        }
        store.db.write(batch, true).unwrap();
    }

    #[tokio::test]
    async fn entries_vote_truncation_and_purge_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = LogStore::new(RaftDb::open(dir.path(), "care").unwrap());
            let state = store.get_log_state().await.unwrap();
            assert_eq!((state.last_purged_log_id, state.last_log_id), (None, None));
            append(&mut store, (0..10).map(|i| entry(1, i)).collect()).await;
            store.save_vote(&Vote::new(2, 3)).await.unwrap();
            store.truncate(entry(1, 7).log_id).await.unwrap();
            store.purge(entry(1, 2).log_id).await.unwrap();
        }
        let mut store = LogStore::new(RaftDb::open(dir.path(), "care").unwrap());
        assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(2, 3)));
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(entry(1, 2).log_id));
        assert_eq!(state.last_log_id, Some(entry(1, 6).log_id));
        let got = store.try_get_log_entries(3..=5).await.unwrap();
        assert_eq!(
            got.iter().map(|e| e.log_id.index).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(store.try_get_log_entries(0..3).await.unwrap().len(), 0);
        assert_eq!(store.try_get_log_entries(5..).await.unwrap().len(), 2);
        // Everything purged: the last log id is the purged one.
        store.purge(entry(1, 6).log_id).await.unwrap();
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(entry(1, 6).log_id));
    }
}
