use super::*;
use crate::rwset::TxRwSet;
use crate::state::{MemState, Version};
use carechain_proto::kvrwset::range_query_info::ReadsInfo;
use chaincode_api::ContextExt;
use prost::Message;

fn sim<'a>(view: &'a MemState, transient: &'a BTreeMap<String, Vec<u8>>) -> Simulator<'a> {
    let caller = Caller::new("Org1MSP", Role::Client, "id1", "User1");
    let tx = TxInfo {
        tx_id: "tx1".into(),
        channel_id: "ch".into(),
        timestamp: Timestamp::new(1_700_000_000, 0),
    };
    static NO_PRIVATE: std::sync::OnceLock<PrivateAccess> = std::sync::OnceLock::new();
    Simulator::new(
        view,
        "cc",
        caller,
        tx,
        transient,
        NO_PRIVATE.get_or_init(PrivateAccess::default),
    )
}

fn parsed(s: Simulator<'_>) -> TxRwSet {
    let (rw, _) = s.finish();
    TxRwSet::parse(&rw.build().encode_to_vec()).unwrap()
}

fn state() -> MemState {
    let mut m = MemState::new();
    for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
        m.put("cc", k, k.as_bytes(), Version::new(1, i as u64));
    }
    m.put("cc", "\u{0}obj\u{0}x\u{0}", b"composite", Version::new(1, 9));
    m
}

#[test]
fn reads_record_versions_and_do_not_see_own_writes() {
    let m = state();
    let t = BTreeMap::new();
    let mut s = sim(&m, &t);
    s.put_state("a", b"new").unwrap();
    assert_eq!(s.get_state("a").unwrap().unwrap(), b"a");
    assert_eq!(s.get_state("zz").unwrap(), None);
    let rw = parsed(s);
    let ns = &rw.namespaces[0];
    assert_eq!(
        ns.reads,
        vec![("a".into(), Some(Version::new(1, 0))), ("zz".into(), None)]
    );
    assert_eq!(ns.writes, vec![("a".into(), Some(b"new".to_vec()))]);
}

#[test]
fn pagination_records_exact_span_and_bookmark() {
    let m = state();
    let t = BTreeMap::new();
    let mut s = sim(&m, &t);
    let p1 = s.get_simple_state_by_range("", "", 2, "").unwrap();
    assert_eq!(
        p1.items.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(p1.bookmark, "c");
    let p2 = s.get_simple_state_by_range("", "", 2, &p1.bookmark).unwrap();
    assert_eq!(p2.items.len(), 2);
    assert_eq!(p2.bookmark, "");
    let rw = parsed(s);
    let r = &rw.namespaces[0].ranges;
    assert_eq!(
        (r[0].start_key.as_str(), r[0].end_key.as_str(), r[0].itr_exhausted),
        ("\u{1}", "b", false)
    );
    assert_eq!((r[1].start_key.as_str(), r[1].itr_exhausted), ("c", true));
    let Some(ReadsInfo::RawReads(q)) = &r[1].reads_info else {
        panic!("raw reads")
    };
    assert_eq!(q.kv_reads.len(), 2);
}

#[test]
fn plain_ranges_skip_composite_keys_and_composite_helpers_find_them() {
    let m = state();
    let t = BTreeMap::new();
    let mut s = sim(&m, &t);
    let simple = s.get_simple_state_by_range("", "", 0, "").unwrap();
    assert_eq!(simple.items.len(), 4);
    let raw = s.get_state_by_range("", "", 0, "").unwrap();
    assert_eq!(raw.items.len(), 5);
    let comp = s.get_state_by_partial_composite_key("obj", &[], 0, "").unwrap();
    assert_eq!(comp.items.len(), 1);
}

#[test]
fn bad_input_is_rejected() {
    let m = state();
    let t = BTreeMap::new();
    let mut s = sim(&m, &t);
    assert_eq!(s.put_state("", b"v").unwrap_err().status(), 400);
    assert_eq!(s.put_state("k", b"").unwrap_err().status(), 400);
    assert_eq!(s.set_event("", b"x").unwrap_err().status(), 400);
    assert!(s.get_state_by_range("b", "d", 1, "a").is_err());
}

#[test]
fn key_endorsement_roundtrips_through_metadata() {
    let mut m = state();
    let t = BTreeMap::new();
    let mut s = sim(&m, &t);
    let p = KeyEndorsement::of(Role::Peer, ["Org2MSP", "Org1MSP"]).unwrap();
    s.set_key_endorsement("a", Some(&p)).unwrap();
    let rw = parsed(s);
    let (key, meta) = &rw.namespaces[0].metadata_writes[0];
    assert_eq!(key, "a");
    // Commit the metadata and read it back through a new simulation.
    let mut pending = crate::state::BlockUpdates::default();
    let vt = crate::mvcc::ValidTx {
        tx_id: "t",
        version: Version::new(2, 0),
        timestamp: (0, 0),
    };
    crate::mvcc::apply_valid_tx(&m, &mut pending, &vt, &rw).unwrap();
    m.apply(2, &pending);
    assert_eq!(m.get("cc", "a").unwrap().unwrap().metadata, *meta);
    let mut s = sim(&m, &t);
    let back = s.key_endorsement("a").unwrap().unwrap();
    assert_eq!(back.role, Role::Peer);
    assert_eq!(back.orgs, vec!["Org1MSP".to_string(), "Org2MSP".to_string()]);
}

#[test]
fn transient_and_history_are_available() {
    let mut m = MemState::new();
    let mut pending = crate::state::BlockUpdates::default();
    let mut b = RwSetBuilder::new();
    b.add_write("cc", "k", b"v1".to_vec());
    let rw = TxRwSet::parse(&b.build().encode_to_vec()).unwrap();
    let vt = crate::mvcc::ValidTx {
        tx_id: "first",
        version: Version::new(0, 0),
        timestamp: (5, 0),
    };
    crate::mvcc::apply_valid_tx(&m, &mut pending, &vt, &rw).unwrap();
    m.apply(0, &pending);
    let mut t = BTreeMap::new();
    t.insert("secret".to_string(), b"phi".to_vec());
    let mut s = sim(&m, &t);
    assert_eq!(s.transient("secret"), Some(&b"phi"[..]));
    let h = s.get_history_for_key("k").unwrap();
    assert_eq!((h[0].tx_id.as_str(), h[0].timestamp.seconds), ("first", 5));
}
