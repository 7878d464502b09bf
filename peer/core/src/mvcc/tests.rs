use super::*;
use crate::rwset::{RwSetBuilder, kv_read, range_info};
use crate::state::MemState;
use prost::Message;

fn rw(b: RwSetBuilder) -> TxRwSet {
    TxRwSet::parse(&b.build().encode_to_vec()).unwrap()
}

fn state() -> MemState {
    let mut s = MemState::new();
    s.put("cc", "a", b"1", Version::new(1, 0));
    s.put("cc", "b", b"2", Version::new(1, 1));
    s.put("cc", "d", b"4", Version::new(1, 2));
    s
}

#[test]
fn current_reads_are_valid_and_stale_reads_conflict() {
    let s = state();
    let pending = BlockUpdates::default();
    let mut ok = RwSetBuilder::new();
    ok.add_read("cc", "a", Some(Version::new(1, 0)));
    ok.add_read("cc", "zz", None);
    assert_eq!(check(&s, &pending, &rw(ok)).unwrap(), MvccOutcome::Valid);

    let mut stale = RwSetBuilder::new();
    stale.add_read("cc", "a", Some(Version::new(0, 5)));
    assert!(
        matches!(check(&s, &pending, &rw(stale)).unwrap(), MvccOutcome::ReadConflict { key, .. } if key == "a")
    );

    let mut appeared = RwSetBuilder::new();
    appeared.add_read("cc", "b", None);
    assert!(matches!(
        check(&s, &pending, &rw(appeared)).unwrap(),
        MvccOutcome::ReadConflict { .. }
    ));
}

#[test]
fn two_transactions_on_one_snapshot_only_first_wins() {
    let s = state();
    let mut pending = BlockUpdates::default();
    let mk = || {
        let mut b = RwSetBuilder::new();
        b.add_read("cc", "a", Some(Version::new(1, 0)));
        b.add_write("cc", "a", b"new".to_vec());
        rw(b)
    };
    let (t1, t2) = (mk(), mk());
    assert_eq!(check(&s, &pending, &t1).unwrap(), MvccOutcome::Valid);
    let tx = ValidTx {
        tx_id: "t1",
        version: Version::new(2, 0),
        timestamp: (0, 0),
    };
    apply_valid_tx(&s, &mut pending, &tx, &t1).unwrap();
    assert!(matches!(
        check(&s, &pending, &t2).unwrap(),
        MvccOutcome::ReadConflict { .. }
    ));
    assert_eq!(pending.history.len(), 1);
}

fn scan(start: &str, end: &str, exhausted: bool, keys: &[(&str, Version)]) -> TxRwSet {
    let mut b = RwSetBuilder::new();
    let reads = keys.iter().map(|(k, v)| kv_read(k, Some(*v))).collect();
    b.add_range_query("cc", range_info(start, end, exhausted, reads));
    rw(b)
}

#[test]
fn phantom_insert_into_scanned_range_is_detected() {
    let mut s = state();
    let seen = [
        ("a", Version::new(1, 0)),
        ("b", Version::new(1, 1)),
        ("d", Version::new(1, 2)),
    ];
    let tx = scan("a", "e", true, &seen);
    assert_eq!(
        check(&s, &BlockUpdates::default(), &tx).unwrap(),
        MvccOutcome::Valid
    );
    s.put("cc", "c", b"3", Version::new(2, 0));
    assert!(matches!(
        check(&s, &BlockUpdates::default(), &tx).unwrap(),
        MvccOutcome::Phantom { .. }
    ));
}

#[test]
fn phantom_from_earlier_transaction_in_same_block() {
    let s = state();
    let seen = [
        ("a", Version::new(1, 0)),
        ("b", Version::new(1, 1)),
        ("d", Version::new(1, 2)),
    ];
    let tx = scan("a", "", true, &seen);
    let mut pending = BlockUpdates::default();
    let mut w = RwSetBuilder::new();
    w.add_write("cc", "c", b"x".to_vec());
    let vt = ValidTx {
        tx_id: "w",
        version: Version::new(2, 0),
        timestamp: (0, 0),
    };
    apply_valid_tx(&s, &mut pending, &vt, &rw(w)).unwrap();
    assert!(matches!(
        check(&s, &pending, &tx).unwrap(),
        MvccOutcome::Phantom { .. }
    ));
}

#[test]
fn early_stopped_scan_ignores_keys_after_its_last_read() {
    let mut s = state();
    // The scan read a and b and stopped: a later insert after "b" is outside what it saw.
    let tx = scan(
        "a",
        "b",
        false,
        &[("a", Version::new(1, 0)), ("b", Version::new(1, 1))],
    );
    s.put("cc", "c", b"3", Version::new(2, 0));
    assert_eq!(
        check(&s, &BlockUpdates::default(), &tx).unwrap(),
        MvccOutcome::Valid
    );
    s.put("cc", "ab", b"x", Version::new(2, 1));
    assert!(matches!(
        check(&s, &BlockUpdates::default(), &tx).unwrap(),
        MvccOutcome::Phantom { .. }
    ));
}

#[test]
fn deleting_an_absent_key_in_block_is_not_a_phantom() {
    let s = state();
    let seen = [
        ("a", Version::new(1, 0)),
        ("b", Version::new(1, 1)),
        ("d", Version::new(1, 2)),
    ];
    let tx = scan("a", "z", true, &seen);
    let mut pending = BlockUpdates::default();
    let mut w = RwSetBuilder::new();
    w.add_delete("cc", "c");
    let vt = ValidTx {
        tx_id: "w",
        version: Version::new(2, 0),
        timestamp: (0, 0),
    };
    apply_valid_tx(&s, &mut pending, &vt, &rw(w)).unwrap();
    assert_eq!(check(&s, &pending, &tx).unwrap(), MvccOutcome::Valid);
}

#[test]
fn value_writes_keep_metadata_and_deletes_drop_it() {
    let mut s = MemState::new();
    let mut meta = BTreeMap::new();
    meta.insert("VALIDATION_PARAMETER".to_string(), vec![7]);
    let mut pending = BlockUpdates::default();
    let mut b = RwSetBuilder::new();
    b.add_write("cc", "k", b"v1".to_vec());
    b.add_metadata_write("cc", "k", meta.clone());
    let vt = ValidTx {
        tx_id: "t1",
        version: Version::new(1, 0),
        timestamp: (0, 0),
    };
    apply_valid_tx(&s, &mut pending, &vt, &rw(b)).unwrap();
    s.apply(1, &pending);
    assert_eq!(s.get("cc", "k").unwrap().unwrap().metadata, meta);

    let mut pending = BlockUpdates::default();
    let mut b = RwSetBuilder::new();
    b.add_write("cc", "k", b"v2".to_vec());
    let vt = ValidTx {
        tx_id: "t2",
        version: Version::new(2, 0),
        timestamp: (0, 0),
    };
    apply_valid_tx(&s, &mut pending, &vt, &rw(b)).unwrap();
    s.apply(2, &pending);
    let v = s.get("cc", "k").unwrap().unwrap();
    assert_eq!((v.value.as_slice(), &v.metadata), (&b"v2"[..], &meta));
}
