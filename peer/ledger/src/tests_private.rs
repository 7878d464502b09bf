use peer_core::pvtrwset::hash;
use peer_core::state::{BlockUpdates, HashedUpdate, PrivateUpdate, StateView, Version};

use super::*;

fn write(u: &mut BlockUpdates, tx: u64, block: u64, key: &str, value: &str, btl: u64) {
    let kh = hash(key.as_bytes());
    let v = Version::new(block, tx);
    let k = ("cc".to_string(), "c".to_string(), kh.clone());
    u.private.hashed.insert(
        k.clone(),
        HashedUpdate {
            value_hash: Some(hash(value.as_bytes())),
            version: v,
        },
    );
    u.private.plaintext.insert(
        k,
        PrivateUpdate {
            key: key.into(),
            value: Some(value.as_bytes().to_vec()),
            version: v,
        },
    );
    let set = carechain_proto::kvrwset::KvrwSet {
        writes: vec![carechain_proto::kvrwset::KvWrite {
            key: key.into(),
            is_delete: false,
            value: value.as_bytes().to_vec().into(),
        }],
        ..Default::default()
    };
    u.private
        .write_sets
        .push((tx, "cc".into(), "c".into(), prost::Message::encode_to_vec(&set)));
    if btl > 0 {
        u.private
            .expiries
            .push((block + btl + 1, "cc".into(), "c".into(), kh, v));
    }
}

fn commit(l: &Ledger, n: u64, u: &BlockUpdates) {
    l.commit(n, format!("b{n}").as_bytes(), [n as u8; 32], u).unwrap();
}

#[test]
fn private_values_hashes_and_write_sets_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let mut u = BlockUpdates::default();
    write(&mut u, 0, 0, "patient-1", "synthetic phi", 0);
    commit(&l, 0, &u);
    let s = l.snapshot();
    assert_eq!(
        s.get_private("cc", "c", "patient-1").unwrap().unwrap().value,
        b"synthetic phi"
    );
    let h = s
        .get_private_hash("cc", "c", &hash(b"patient-1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.value_hash, h.version),
        (hash(b"synthetic phi"), Version::new(0, 0))
    );
    assert_eq!(s.private_range("cc", "c", "", None, 10).unwrap().len(), 1);
    assert!(l.private_write_set(0, 0, "cc", "c").unwrap().is_some());
}

#[test]
fn purge_removes_current_and_historical_values_but_keeps_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let mut u = BlockUpdates::default();
    write(&mut u, 0, 0, "k", "v1", 0);
    write(&mut u, 1, 0, "other", "keep", 0);
    commit(&l, 0, &u);
    let mut u = BlockUpdates::default();
    write(&mut u, 0, 1, "k", "v2", 0);
    commit(&l, 1, &u);
    let mut u = BlockUpdates::default();
    let kh = hash(b"k");
    u.private.hashed.insert(
        ("cc".into(), "c".into(), kh.clone()),
        HashedUpdate {
            value_hash: None,
            version: Version::new(2, 0),
        },
    );
    u.private.purges.push(("cc".into(), "c".into(), kh.clone()));
    commit(&l, 2, &u);
    let s = l.snapshot();
    assert!(s.get_private("cc", "c", "k").unwrap().is_none());
    assert!(s.get_private_hash("cc", "c", &kh).unwrap().is_none());
    assert!(
        l.private_write_set(0, 0, "cc", "c").unwrap().is_none(),
        "historical version purged"
    );
    assert!(
        l.private_write_set(1, 0, "cc", "c").unwrap().is_none(),
        "current version purged"
    );
    assert_eq!(s.get_private("cc", "c", "other").unwrap().unwrap().value, b"keep");
    assert!(l.private_write_set(0, 1, "cc", "c").unwrap().is_some());
}

#[test]
fn block_to_live_expires_values_unless_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let mut u = BlockUpdates::default();
    write(&mut u, 0, 0, "short", "v", 3);
    write(&mut u, 1, 0, "renewed", "old", 3);
    commit(&l, 0, &u);
    for n in 1..=3 {
        let mut u = BlockUpdates::default();
        if n == 2 {
            write(&mut u, 0, 2, "renewed", "new", 3);
        }
        commit(&l, n, &u);
        assert!(
            l.snapshot().get_private("cc", "c", "short").unwrap().is_some(),
            "still present after block {n}"
        );
    }
    commit(&l, 4, &BlockUpdates::default());
    let s = l.snapshot();
    assert!(
        s.get_private("cc", "c", "short").unwrap().is_none(),
        "expired at block 0 + 3 + 1"
    );
    assert!(
        s.get_private_hash("cc", "c", &hash(b"short")).unwrap().is_some(),
        "hash stays"
    );
    assert_eq!(
        s.get_private("cc", "c", "renewed").unwrap().unwrap().value,
        b"new"
    );
}

#[test]
fn missing_data_is_listed_until_reconciled() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let mut u = BlockUpdates::default();
    let kh = hash(b"k");
    u.private.hashed.insert(
        ("cc".into(), "c".into(), kh.clone()),
        HashedUpdate {
            value_hash: Some(hash(b"v")),
            version: Version::new(0, 0),
        },
    );
    u.private.missing.push((0, "cc".into(), "c".into()));
    commit(&l, 0, &u);
    let m = l.missing_private_data().unwrap();
    assert_eq!(
        m,
        vec![Missing {
            block: 0,
            tx: 0,
            ns: "cc".into(),
            collection: "c".into()
        }]
    );
    assert!(l.snapshot().get_private("cc", "c", "k").unwrap().is_none());
    l.apply_reconciled(
        Version::new(0, 0),
        "cc",
        "c",
        b"set",
        &[(kh, "k".into(), Some(b"v".to_vec()))],
    )
    .unwrap();
    assert!(l.missing_private_data().unwrap().is_empty());
    assert_eq!(
        l.snapshot().get_private("cc", "c", "k").unwrap().unwrap().value,
        b"v"
    );
}

#[test]
fn transient_entries_are_dropped_when_their_transaction_commits() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    l.put_transient("tx1", 0, b"pvt").unwrap();
    l.put_transient("tx2", 0, b"pvt2").unwrap();
    assert_eq!(l.get_transient("tx1").unwrap().unwrap(), b"pvt");
    let mut u = BlockUpdates::default();
    u.tx_index.push((
        "tx1".into(),
        peer_core::state::TxLocation {
            block: 0,
            tx: 0,
            code: 0,
        },
    ));
    commit(&l, 0, &u);
    assert!(l.get_transient("tx1").unwrap().is_none());
    assert!(l.get_transient("tx2").unwrap().is_some());
}

/// A member that never received a write set stops waiting for it when the value expires or is purged,
/// and data fetched after that is not stored; data reconciled in time still expires.
#[test]
fn missing_data_ends_with_expiry_or_purge_and_reconciled_data_expires() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path(), &LedgerOptions::default()).unwrap();
    let missing = |u: &mut BlockUpdates, block: u64, key: &str, btl: u64| {
        let kh = hash(key.as_bytes());
        let v = Version::new(block, 0);
        u.private.hashed.insert(
            ("cc".into(), "c".into(), kh.clone()),
            HashedUpdate {
                value_hash: Some(hash(b"v")),
                version: v,
            },
        );
        u.private.missing.push((0, "cc".into(), "c".into()));
        u.private
            .missing_writes
            .push(("cc".into(), "c".into(), kh.clone(), v));
        if btl > 0 {
            u.private
                .expiries
                .push((block + btl + 1, "cc".into(), "c".into(), kh, v));
        }
    };
    let reconcile = |block: u64, key: &str| {
        let set = carechain_proto::kvrwset::KvrwSet {
            writes: vec![carechain_proto::kvrwset::KvWrite {
                key: key.into(),
                is_delete: false,
                value: b"v".to_vec().into(),
            }],
            ..Default::default()
        };
        l.apply_reconciled(
            Version::new(block, 0),
            "cc",
            "c",
            &prost::Message::encode_to_vec(&set),
            &[(hash(key.as_bytes()), key.into(), Some(b"v".to_vec()))],
        )
        .unwrap()
    };
    // Block 0: k1 (BTL 1) and block 1: k2 (BTL 1) are missing; k2 is reconciled in time.
    let mut u = BlockUpdates::default();
    missing(&mut u, 0, "k1", 1);
    commit(&l, 0, &u);
    let mut u = BlockUpdates::default();
    missing(&mut u, 1, "k2", 1);
    commit(&l, 1, &u);
    assert!(reconcile(1, "k2"));
    assert_eq!(l.missing_private_data().unwrap().len(), 1);
    // Block 2 expires k1 (written at 0): no longer missing, and a late fetch stores nothing.
    commit(&l, 2, &BlockUpdates::default());
    assert!(l.missing_private_data().unwrap().is_empty());
    assert!(!reconcile(0, "k1"));
    assert!(l.snapshot().get_private("cc", "c", "k1").unwrap().is_none());
    assert!(l.snapshot().get_private("cc", "c", "k2").unwrap().is_some());
    // Block 3 expires the reconciled k2 like any other value.
    commit(&l, 3, &BlockUpdates::default());
    assert!(l.snapshot().get_private("cc", "c", "k2").unwrap().is_none());
    assert!(l.private_write_set(1, 0, "cc", "c").unwrap().is_none());
    // Block 4: k3 missing (no BTL); block 5 purges k3: no longer missing.
    let mut u = BlockUpdates::default();
    missing(&mut u, 4, "k3", 0);
    commit(&l, 4, &u);
    assert_eq!(l.missing_private_data().unwrap().len(), 1);
    let mut u = BlockUpdates::default();
    u.private.purges.push(("cc".into(), "c".into(), hash(b"k3")));
    commit(&l, 5, &u);
    assert!(l.missing_private_data().unwrap().is_empty());
    assert!(!reconcile(4, "k3"));
}
