//! Which entry becomes which block: the pure rule, deterministic (no tokio).

use carechain_channel::block::new_block;
use openraft::CommittedLeaderId;

use super::*;
use crate::ordering::sign_block;
use crate::raft::sim::test_signer;

fn tip_after(block: &Block) -> ChainTip {
    let h = block.header.as_ref().unwrap();
    ChainTip {
        height: h.number + 1,
        hash: header_hash(h),
    }
}

#[test]
fn only_the_block_that_extends_the_chain_is_appended() {
    let genesis = new_block(0, &[], vec![Bytes::from_static(b"synthetic genesis")]);
    let tip = tip_after(&genesis);
    let next = new_block(1, &tip.hash, vec![Bytes::from_static(b"tx")]);
    assert_eq!(classify(&tip, &next), Apply::Append(tip_after(&next)));
    // A deposed leader's proposal for a number already taken, one past a gap, and one chained on a
    // block that never committed are all skipped.
    let taken = new_block(0, &[], vec![Bytes::from_static(b"other")]);
    assert!(
        matches!(classify(&tip, &taken), Apply::Skip(m) if m.contains("does not follow the chain's height 1"))
    );
    let gap = new_block(2, &tip.hash, vec![]);
    assert!(matches!(classify(&tip, &gap), Apply::Skip(_)));
    let orphan = new_block(1, &[9; 32], vec![]);
    assert!(matches!(classify(&tip, &orphan), Apply::Skip(m) if m.contains("block 1")));
    let mut tampered = next.clone();
    tampered
        .data
        .as_mut()
        .unwrap()
        .data
        .push(Bytes::from_static(b"forged"));
    assert!(matches!(classify(&tip, &tampered), Apply::Skip(_)));
    assert!(matches!(classify(&tip, &Block::default()), Apply::Skip(m) if m.contains("no header")));
    // The empty chain takes block 0 with no previous hash.
    assert_eq!(classify(&ChainTip::default(), &genesis), Apply::Append(tip));
}

struct NoBlocks;

impl BlockSource for NoBlocks {
    fn fetch(&self, _: u64, _: u64) -> BoxFuture<'_, Result<Vec<Block>, OrdererError>> {
        Box::pin(async { Err(OrdererError::Unavailable("synthetic: no consenters".into())) })
    }
}

fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

/// Reopens a state machine over `dir` whose chain is genesis + one block carried by entry `carried`,
/// with `recorded` as the applied record.
async fn reopened(dir: &std::path::Path, carried: LogId, recorded: Option<LogId>) -> Option<LogId> {
    let store = Arc::new(BlockStore::open(&dir.join("chain"), "care").unwrap());
    if store.height() == 0 {
        let genesis = new_block(0, &[], vec![Bytes::from_static(b"synthetic genesis")]);
        store.append(&genesis).unwrap();
        let mut block = new_block(1, &tip_after(&genesis).hash, vec![Bytes::from_static(b"tx")]);
        sign_block(&mut block, &test_signer(), 0, block_metadata(&carried)).unwrap();
        store.append(&block).unwrap();
    }
    let db = RaftDb::open(&dir.join("raft"), "care").unwrap();
    db.put_meta(&[(META_APPLIED, db.meta_value(&recorded).unwrap())], true)
        .unwrap();
    let (tx_events, _rx) = mpsc::unbounded_channel();
    let mut sm = StateMachine::open(StateMachineParams {
        db,
        height: watch::channel(store.height()).1,
        store,
        tx_events,
        source: Arc::new(NoBlocks),
        trigger: SnapshotTrigger::new(1 << 20),
    })
    .unwrap();
    sm.applied_state().await.unwrap().0
}

#[tokio::test]
async fn a_restart_resumes_after_the_last_stored_block_or_the_applied_record_whichever_is_later() {
    let dir = tempfile::tempdir().unwrap();
    // Crashed after the chain stored block 1 (entry 7) but before the applied record caught up.
    assert_eq!(
        reopened(dir.path(), log_id(2, 7), Some(log_id(2, 5))).await,
        Some(log_id(2, 7))
    );
    // Blank entries applied after the last block: the record is ahead.
    assert_eq!(
        reopened(dir.path(), log_id(2, 7), Some(log_id(3, 9))).await,
        Some(log_id(3, 9))
    );
    // No record at all: the block decides.
    assert_eq!(reopened(dir.path(), log_id(2, 7), None).await, Some(log_id(2, 7)));
    let stored = BlockStore::open(&dir.path().join("chain"), "care").unwrap();
    assert_eq!(
        block_log_id(&stored.block(1).unwrap().unwrap()),
        Some(log_id(2, 7))
    );
    assert_eq!(block_log_id(&stored.block(0).unwrap().unwrap()), None);
}
