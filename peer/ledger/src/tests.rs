use std::collections::BTreeMap;

use peer_core::state::{BlockUpdates, HistoryEntry, KeyUpdate, StateView, TxLocation, Version};

use super::*;

fn put(u: &mut BlockUpdates, key: &str, value: Option<&str>, v: Version, tx_id: &str) {
    u.state.insert(
        ("cc".into(), key.into()),
        KeyUpdate {
            value: value.map(|s| s.as_bytes().to_vec()),
            metadata: BTreeMap::new(),
            version: v,
        },
    );
    u.history.push((
        "cc".into(),
        key.into(),
        HistoryEntry {
            tx_id: tx_id.into(),
            version: v,
            timestamp: (1_700_000_000 + v.block as i64, 0),
            is_delete: value.is_none(),
            value: value.unwrap_or_default().as_bytes().to_vec(),
        },
    ));
    u.tx_index.push((
        tx_id.into(),
        TxLocation {
            block: v.block,
            tx: v.tx,
            code: 0,
        },
    ));
}

#[test]
fn commits_are_atomic_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
        assert_eq!(l.height(), 0);
        l.commit(0, b"genesis", [1; 32], &BlockUpdates::default())
            .unwrap();
        let mut u = BlockUpdates::default();
        put(&mut u, "a", Some("1"), Version::new(1, 0), "tx1");
        put(&mut u, "b", Some("2"), Version::new(1, 1), "tx2");
        l.commit(1, b"block1", [2; 32], &u).unwrap();
        let mut u = BlockUpdates::default();
        put(&mut u, "a", None, Version::new(2, 0), "tx3");
        l.commit(2, b"block2", [3; 32], &u).unwrap();
    }
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    assert_eq!(l.height(), 3);
    assert_eq!(l.tip_hash(), Some([3; 32]));
    assert_eq!(l.block_bytes(1).unwrap().unwrap(), b"block1");
    assert_eq!(l.tx_location("tx2").unwrap().unwrap().tx, 1);
    let s = l.snapshot();
    assert_eq!(s.get("cc", "a").unwrap(), None);
    let b = s.get("cc", "b").unwrap().unwrap();
    assert_eq!((b.value.as_slice(), b.version), (&b"2"[..], Version::new(1, 1)));
    let h = s.history("cc", "a").unwrap();
    assert_eq!(h.len(), 2);
    assert!(h[0].is_delete && h[0].tx_id == "tx3");
    assert_eq!(h[1].value, b"1");
    assert!(s.tx_exists("tx1").unwrap());
    assert!(!s.tx_exists("nope").unwrap());
}

#[test]
fn out_of_order_commit_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let mut u = BlockUpdates::default();
    put(&mut u, "a", Some("1"), Version::new(5, 0), "tx1");
    let e = l.commit(5, b"x", [0; 32], &u).unwrap_err();
    assert!(matches!(e, LedgerError::OutOfOrder { got: 5, height: 0 }));
    assert_eq!(l.height(), 0);
    assert_eq!(l.snapshot().get("cc", "a").unwrap(), None);
}

#[test]
fn range_respects_bounds_and_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let mut u = BlockUpdates::default();
    for (i, k) in ["a", "b", "c", "\u{0}asset\u{0}1\u{0}"].iter().enumerate() {
        put(&mut u, k, Some("v"), Version::new(0, i as u64), &format!("t{i}"));
    }
    u.state.insert(
        ("cc2".into(), "a".into()),
        KeyUpdate {
            value: Some(b"x".to_vec()),
            metadata: BTreeMap::new(),
            version: Version::new(0, 9),
        },
    );
    l.commit(0, b"b0", [0; 32], &u).unwrap();
    let s = l.snapshot();
    let keys = |v: Vec<(String, _)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(keys(s.range("cc", "a", Some("c"), 100).unwrap()), vec!["a", "b"]);
    assert_eq!(keys(s.range("cc", "a", None, 100).unwrap()), vec!["a", "b", "c"]);
    assert_eq!(keys(s.range("cc", "", None, 100).unwrap()).len(), 4);
    assert_eq!(keys(s.range("cc", "", None, 2).unwrap()).len(), 2);
    assert_eq!(keys(s.range("cc2", "", None, 100).unwrap()), vec!["a"]);
    assert!(s.range("cc", "c", Some("a"), 100).unwrap().is_empty());
}

#[test]
fn snapshot_does_not_see_later_commits() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let mut u = BlockUpdates::default();
    put(&mut u, "a", Some("old"), Version::new(0, 0), "t0");
    l.commit(0, b"b0", [0; 32], &u).unwrap();
    let snap = l.snapshot();
    let mut u = BlockUpdates::default();
    put(&mut u, "a", Some("new"), Version::new(1, 0), "t1");
    l.commit(1, b"b1", [1; 32], &u).unwrap();
    assert_eq!(snap.get("cc", "a").unwrap().unwrap().value, b"old");
    assert_eq!(snap.height(), 1);
    assert_eq!(l.snapshot().get("cc", "a").unwrap().unwrap().value, b"new");
}
