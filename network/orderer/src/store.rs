//! The orderer's block store: one RocksDB database per channel under `<data>/chains/<channel>/`.
//!
//! It is the end of the ordering stage of endorse → order → validate: a block is final for this
//! orderer once it is here, and Deliver serves peers from here. Each append writes the block, the new
//! height and the new tip hash in one synced `WriteBatch`, so after a crash the store holds either the
//! whole block or nothing, and its height always matches its blocks. Appends check the hash chain, so
//! a bug upstream cannot write a block that does not extend the tip.

use std::path::{Path, PathBuf};

use carechain_channel::block::{check_chain, header_hash};
use carechain_proto::common::Block;
use parking_lot::{Mutex, RwLock};
use prost::Message;
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

use crate::OrdererError;
use crate::ordering::ChainTip;

const CF_BLOCKS: &str = "blocks";
const CF_META: &str = "meta";
const META_HEIGHT: &[u8] = b"height";
const META_TIP: &[u8] = b"tip";

/// One channel's chain on disk. Share it behind an `Arc`: reads come from any task, appends only from
/// the channel's chain actor.
pub struct BlockStore {
    channel: String,
    path: PathBuf,
    db: DB,
    write_opts: WriteOptions,
    tip: RwLock<ChainTip>,
    writer: Mutex<()>,
}

impl std::fmt::Debug for BlockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockStore")
            .field("channel", &self.channel)
            .field("path", &self.path)
            .field("tip", &*self.tip.read())
            .finish()
    }
}

impl BlockStore {
    /// Opens (or creates) the store of `channel` in `path` and recovers its tip.
    pub fn open(path: &Path, channel: &str) -> Result<BlockStore, OrdererError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cfs = [CF_BLOCKS, CF_META].map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)
            .map_err(|e| OrdererError::store(channel, format!("cannot open {}: {e}", path.display())))?;
        let mut write_opts = WriteOptions::default();
        // An orderer acknowledges blocks to consensus and serves them to peers: they must survive a
        // power loss, not just a process crash.
        write_opts.set_sync(true);
        let store = BlockStore {
            channel: channel.to_string(),
            path: path.to_path_buf(),
            db,
            write_opts,
            tip: RwLock::new(ChainTip::default()),
            writer: Mutex::new(()),
        };
        let tip = store.recover_tip()?;
        *store.tip.write() = tip;
        Ok(store)
    }

    /// The channel this store belongs to.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of blocks.
    pub fn height(&self) -> u64 {
        self.tip.read().height
    }

    /// Height and last header hash.
    pub fn tip(&self) -> ChainTip {
        *self.tip.read()
    }

    /// Block `number`, or `None` beyond the tip.
    pub fn block(&self, number: u64) -> Result<Option<Block>, OrdererError> {
        let raw = self
            .db
            .get_cf(self.cf(CF_BLOCKS)?, number.to_be_bytes())
            .map_err(|e| self.err(format!("reading block {number}: {e}")))?;
        raw.map(|b| {
            Block::decode(b.as_slice()).map_err(|e| self.err(format!("block {number} does not decode: {e}")))
        })
        .transpose()
    }

    /// The last block, if any.
    pub fn last_block(&self) -> Result<Option<Block>, OrdererError> {
        match self.height() {
            0 => Ok(None),
            h => self.block(h - 1),
        }
    }

    /// Appends `block`, which must be the next block of the chain, with its height and tip in one
    /// synced batch. A refused block leaves the store unchanged.
    pub fn append(&self, block: &Block) -> Result<ChainTip, OrdererError> {
        // One writer at a time; readers keep seeing the old tip during the synced write.
        let _writer = self.writer.lock();
        let tip = self.tip();
        let header = block
            .header
            .as_ref()
            .ok_or_else(|| self.err("refusing a block without a header"))?;
        if header.number != tip.height {
            return Err(self.err(format!(
                "refusing block {}: the next block of the chain is {}",
                header.number, tip.height
            )));
        }
        let prev = (tip.height > 0).then_some(&tip.hash);
        check_chain(block, prev).map_err(|e| self.err(format!("refusing block: {e}")))?;
        let next = ChainTip {
            height: tip.height + 1,
            hash: header_hash(header),
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_BLOCKS)?,
            header.number.to_be_bytes(),
            block.encode_to_vec(),
        );
        batch.put_cf(self.cf(CF_META)?, META_HEIGHT, next.height.to_be_bytes());
        batch.put_cf(self.cf(CF_META)?, META_TIP, next.hash);
        self.db
            .write_opt(batch, &self.write_opts)
            .map_err(|e| self.err(format!("writing block {}: {e}", header.number)))?;
        *self.tip.write() = next;
        Ok(next)
    }

    fn recover_tip(&self) -> Result<ChainTip, OrdererError> {
        let meta = self.cf(CF_META)?;
        let get = |key: &[u8]| {
            self.db
                .get_cf(meta, key)
                .map_err(|e| self.err(format!("reading {}: {e}", String::from_utf8_lossy(key))))
        };
        let height = match get(META_HEIGHT)? {
            None => return Ok(ChainTip::default()),
            Some(raw) => u64::from_be_bytes(
                raw.as_slice()
                    .try_into()
                    .map_err(|_| self.err("stored height is not 8 bytes"))?,
            ),
        };
        let hash: [u8; 32] = get(META_TIP)?
            .and_then(|raw| raw.as_slice().try_into().ok())
            .ok_or_else(|| self.err(format!("height {height} is recorded without a 32-byte tip hash")))?;
        // Height and tip were written with the block in one batch; a mismatch means the files were
        // tampered with or mixed up, and serving from them would fork the chain.
        let last = self
            .db
            .get_cf(self.cf(CF_BLOCKS)?, (height.saturating_sub(1)).to_be_bytes())
            .map_err(|e| self.err(e))?
            .and_then(|raw| Block::decode(raw.as_slice()).ok())
            .and_then(|b| b.header);
        match last {
            Some(h) if h.number + 1 == height && header_hash(&h) == hash => Ok(ChainTip { height, hash }),
            _ => Err(self.err(format!(
                "recorded height {height} and tip {} do not match the stored block {}",
                hex::encode(hash),
                height.saturating_sub(1)
            ))),
        }
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, OrdererError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| self.err(format!("column family {name} is missing")))
    }

    fn err(&self, detail: impl std::fmt::Display) -> OrdererError {
        OrdererError::store(&self.channel, detail)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use carechain_channel::block::new_block;

    use super::*;

    fn chain(n: u64) -> Vec<Block> {
        let mut out: Vec<Block> = Vec::new();
        let mut prev = [0u8; 32];
        for i in 0..n {
            let b = new_block(
                i,
                if i == 0 { &[] } else { &prev },
                vec![Bytes::from(format!("synthetic tx {i}"))],
            );
            prev = header_hash(b.header.as_ref().unwrap());
            out.push(b);
        }
        out
    }

    #[test]
    fn appends_and_recovers_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let blocks = chain(3);
        {
            let store = BlockStore::open(dir.path(), "care").unwrap();
            assert_eq!(store.tip(), ChainTip::default());
            assert!(store.last_block().unwrap().is_none());
            for b in &blocks {
                store.append(b).unwrap();
            }
            assert_eq!(store.height(), 3);
        }
        let store = BlockStore::open(dir.path(), "care").unwrap();
        assert_eq!(store.height(), 3);
        assert_eq!(store.tip().hash, header_hash(blocks[2].header.as_ref().unwrap()));
        assert_eq!(store.block(1).unwrap().as_ref(), Some(&blocks[1]));
        assert_eq!(store.block(3).unwrap(), None);
        let next = new_block(3, &store.tip().hash, vec![]);
        assert_eq!(store.append(&next).unwrap().height, 4);
    }

    #[test]
    fn refused_blocks_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlockStore::open(dir.path(), "care").unwrap();
        let blocks = chain(2);
        store.append(&blocks[0]).unwrap();
        let before = store.tip();
        // A gap, a repeat, a broken link and a tampered data hash are all refused.
        let gap = new_block(2, &before.hash, vec![]);
        assert!(
            matches!(store.append(&gap), Err(OrdererError::Store { detail, .. }) if detail.contains("next block of the chain is 1"))
        );
        assert!(store.append(&blocks[0]).is_err());
        let unlinked = new_block(1, &[9; 32], vec![]);
        assert!(
            matches!(store.append(&unlinked), Err(OrdererError::Store { detail, .. }) if detail.contains("previous hash"))
        );
        let mut tampered = blocks[1].clone();
        tampered
            .data
            .as_mut()
            .unwrap()
            .data
            .push(Bytes::from_static(b"forged"));
        assert!(store.append(&tampered).is_err());
        assert_eq!(store.tip(), before);
        assert_eq!(store.block(1).unwrap(), None);
        drop(store);
        assert_eq!(BlockStore::open(dir.path(), "care").unwrap().tip(), before);
    }

    #[test]
    fn inconsistent_metadata_is_detected_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = BlockStore::open(dir.path(), "care").unwrap();
            store.append(&chain(1)[0]).unwrap();
            // Simulate a store whose tip record does not match its blocks.
            let mut wrong = WriteBatch::default();
            wrong.put_cf(store.cf(CF_META).unwrap(), META_TIP, [1u8; 32]);
            store.db.write(wrong).unwrap();
        }
        let err = BlockStore::open(dir.path(), "care").unwrap_err();
        assert!(
            err.to_string().contains("do not match the stored block 0"),
            "{err}"
        );
    }
}
