//! MockContext must behave like the real simulator; these tests pin the semantics contracts rely on.

use super::*;
use crate::ContextExt;

fn page_keys(page: &Page) -> Vec<&str> {
    page.items.iter().map(|(k, _)| k.as_str()).collect()
}

fn seeded(keys: &[&str]) -> MockContext {
    keys.iter()
        .fold(MockContext::new(), |ctx, k| ctx.with_state(k, k.as_bytes()))
}

#[test]
fn a_transaction_does_not_read_its_own_writes() {
    let mut ctx = MockContext::new().with_state("a", b"old");
    ctx.put_state("a", b"new").expect("put");
    ctx.put_state("b", b"fresh").expect("put");
    assert_eq!(ctx.get_state("a").expect("get"), Some(b"old".to_vec()));
    assert_eq!(ctx.get_state("b").expect("get"), None);
    let page = ctx.get_state_by_range("", "", 0, "").expect("range");
    assert_eq!(page_keys(&page), ["a"]);

    ctx.commit();
    assert_eq!(ctx.get_state("a").expect("get"), Some(b"new".to_vec()));
    assert_eq!(ctx.get_state("b").expect("get"), Some(b"fresh".to_vec()));
}

#[test]
fn reads_and_writes_are_recorded_with_versions() {
    let mut ctx = MockContext::new().with_state("seed", b"v0");
    ctx.put_state("k", b"1").expect("put");
    ctx.commit();
    assert_eq!(ctx.version("k"), Some(1));
    assert_eq!(ctx.version("seed"), Some(0));

    ctx.get_state("k").expect("get");
    ctx.get_state("seed").expect("get");
    ctx.get_state("absent").expect("get");
    ctx.put_state("k", b"2").expect("put");
    ctx.put_state("k", b"3").expect("put");
    ctx.del_state("seed").expect("del");
    let reads: Vec<_> = ctx.reads().iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(reads, [("absent", None), ("k", Some(1)), ("seed", Some(0))]);
    assert_eq!(
        ctx.writes().get("k"),
        Some(&Some(b"3".to_vec())),
        "last write wins"
    );
    assert_eq!(ctx.writes().get("seed"), Some(&None));
    assert_eq!(ctx.last_tx().status, TxStatus::Open);

    ctx.commit();
    assert_eq!(ctx.state("k"), Some(&b"3"[..]));
    assert_eq!(ctx.state("seed"), None);
    assert_eq!(ctx.version("k"), Some(2));
    assert_eq!(ctx.height(), 2);
    assert_eq!(ctx.last_tx().status, TxStatus::Committed);
    assert_eq!(ctx.last_tx().tx_id, "mock-tx-2");
}

#[test]
fn history_is_newest_first_with_tx_ids_timestamps_and_deletes() {
    let mut ctx = MockContext::new()
        .with_tx_id("tx-create")
        .with_timestamp(Timestamp::new(1_000, 0));
    ctx.put_state("k", b"v1").expect("put");
    ctx.commit();
    ctx.put_state("k", b"v2").expect("put");
    ctx.commit();
    ctx.del_state("k").expect("del");
    ctx.put_state("other", b"x").expect("put");
    ctx.commit();

    let history = ctx.get_history_for_key("k").expect("history");
    let summary: Vec<_> = history
        .iter()
        .map(|m| {
            (
                m.tx_id.as_str(),
                m.value.as_slice(),
                m.timestamp.seconds,
                m.is_delete,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("mock-tx-3", &b""[..], 1_002, true),
            ("mock-tx-2", &b"v2"[..], 1_001, false),
            ("tx-create", &b"v1"[..], 1_000, false),
        ]
    );
    assert!(ctx.get_history_for_key("never").expect("history").is_empty());
}

#[test]
fn range_excludes_end_and_empty_bounds_are_open() {
    let mut ctx = seeded(&["a", "b", "c", "d"]);
    let page = ctx.get_state_by_range("b", "d", 0, "").expect("range");
    assert_eq!(page_keys(&page), ["b", "c"]);
    assert_eq!(page.items[0].1, b"b");
    assert!(page.bookmark.is_empty());
    assert_eq!(
        page_keys(&ctx.get_state_by_range("", "c", 0, "").expect("range")),
        ["a", "b"]
    );
    assert_eq!(
        page_keys(&ctx.get_state_by_range("c", "", 0, "").expect("range")),
        ["c", "d"]
    );
    assert!(
        ctx.get_state_by_range("d", "b", 0, "")
            .expect("inverted")
            .items
            .is_empty()
    );
    assert!(
        ctx.get_state_by_range("b", "b", 0, "")
            .expect("empty")
            .items
            .is_empty()
    );
    let read = &ctx.range_reads()[0];
    assert_eq!((read.start.as_str(), read.end.as_str()), ("b", "d"));
    assert_eq!(read.keys, [("b".to_string(), 0), ("c".to_string(), 0)]);
    assert!(read.exhausted);
}

#[test]
fn pagination_walks_the_range_with_bookmarks() {
    let mut ctx = seeded(&["k1", "k2", "k3", "k4", "k5", "z"]);
    let mut seen = Vec::new();
    let mut bookmark = String::new();
    let mut pages = 0;
    loop {
        let page = ctx.get_state_by_range("k", "l", 2, &bookmark).expect("range");
        seen.extend(page.items.iter().map(|(k, _)| k.clone()));
        pages += 1;
        if page.bookmark.is_empty() {
            break;
        }
        bookmark = page.bookmark;
    }
    assert_eq!(seen, ["k1", "k2", "k3", "k4", "k5"]);
    assert_eq!(pages, 3);
    let exhausted: Vec<bool> = ctx.range_reads().iter().map(|r| r.exhausted).collect();
    assert_eq!(exhausted, [false, false, true]);

    // A page that ends exactly at the end of the range reports no bookmark.
    let page = ctx.get_state_by_range("k", "l", 5, "").expect("range");
    assert_eq!(page.items.len(), 5);
    assert!(page.bookmark.is_empty());
    // A bookmark before start does not widen the range.
    assert_eq!(
        page_keys(&ctx.get_state_by_range("k4", "", 0, "a").expect("range")),
        ["k4", "k5", "z"]
    );
}

#[test]
fn bad_input_is_rejected_and_changes_nothing() {
    let mut ctx = MockContext::new().with_state("k", b"v");
    let err = ctx.put_state("", b"v").expect_err("empty key");
    assert_eq!(err.message(), "key must not be an empty string");
    let err = ctx.put_state("k", b"").expect_err("empty value");
    assert!(err.message().contains("use del_state"), "{err}");
    assert!(ctx.del_state("").is_err());
    assert!(ctx.set_event("", b"x").is_err());
    let empty = KeyEndorsement::new(Role::Peer).expect("peer");
    assert!(ctx.set_key_endorsement("k", Some(&empty)).is_err());
    assert!(ctx.set_key_endorsement("", None).is_err());
    assert!(ctx.writes().is_empty());
    assert!(ctx.last_tx().policy_writes.is_empty());
    ctx.commit();
    assert_eq!(ctx.state("k"), Some(&b"v"[..]));
}

#[test]
fn one_event_per_transaction_the_last_wins() {
    let mut ctx = MockContext::new();
    ctx.set_event("First", b"1").expect("event");
    ctx.set_event("Second", b"").expect("event");
    let event = ctx.event().expect("event set");
    assert_eq!(
        (event.name.as_str(), event.payload.as_slice()),
        ("Second", &b""[..])
    );
    ctx.commit();
    assert!(ctx.event().is_some(), "still visible after commit");
    ctx.get_state("x").expect("next tx");
    assert!(ctx.event().is_none(), "the next transaction starts clean");
}

#[test]
fn key_endorsement_is_metadata_of_the_value() {
    let policy = KeyEndorsement::of(Role::Peer, ["Org2MSP", "Org1MSP"]).expect("policy");
    let mut ctx = MockContext::new().with_state("consent", b"v");
    ctx.set_key_endorsement("consent", Some(&policy)).expect("set");
    ctx.set_key_endorsement("absent", Some(&policy))
        .expect("set on absent key");
    assert_eq!(
        ctx.key_endorsement("consent").expect("read"),
        None,
        "not its own writes"
    );
    ctx.commit();
    assert_eq!(ctx.committed_endorsement("consent"), Some(&policy));
    assert_eq!(
        ctx.version("consent"),
        Some(1),
        "a policy change is a new version"
    );
    assert_eq!(ctx.committed_endorsement("absent"), None);
    assert_eq!(ctx.state("absent"), None);

    ctx.put_state("consent", b"v2").expect("update");
    ctx.commit();
    assert_eq!(
        ctx.key_endorsement("consent").expect("read"),
        Some(policy.clone())
    );
    assert_eq!(
        ctx.reads().get("consent"),
        Some(&Some(2)),
        "policy read records the key"
    );

    ctx.set_key_endorsement("consent", None).expect("remove");
    ctx.commit();
    assert_eq!(ctx.committed_endorsement("consent"), None);

    ctx.set_key_endorsement("consent", Some(&policy)).expect("set");
    ctx.commit();
    ctx.del_state("consent").expect("delete");
    ctx.commit();
    ctx.put_state("consent", b"again").expect("recreate");
    ctx.commit();
    assert_eq!(
        ctx.committed_endorsement("consent"),
        None,
        "delete dropped the policy"
    );
}

#[test]
fn builders_set_identity_transient_and_tx_info() {
    let mut ctx = MockContext::new()
        .with_msp("HospitalAMSP", Role::Admin)
        .with_attr("role", "physician")
        .with_transient("secret", b"s3cr3t")
        .with_channel("care")
        .with_tx_id("tx-1")
        .with_timestamp(Timestamp::new(10, 0));
    assert_eq!(ctx.caller().msp_id, "HospitalAMSP");
    assert_eq!(ctx.caller().role, Role::Admin);
    assert_eq!(ctx.caller().subject, "Synthetic User 1");
    assert!(ctx.caller().id.contains("HospitalAMSP"));
    assert_eq!(ctx.caller().attr("role"), Some("physician"));
    assert_eq!(ctx.transient("secret"), Some(&b"s3cr3t"[..]));
    assert_eq!(ctx.transient("other"), None);
    assert_eq!(
        (
            ctx.tx().tx_id.as_str(),
            ctx.tx().channel_id.as_str(),
            ctx.tx().timestamp
        ),
        ("tx-1", "care", Timestamp::new(10, 0))
    );

    ctx.put_state("k", b"v").expect("put");
    ctx.commit();
    assert_eq!(
        ctx.transient("secret"),
        None,
        "transient input belongs to one proposal"
    );
    assert_eq!(
        (ctx.tx().tx_id.as_str(), ctx.tx().timestamp.seconds),
        ("mock-tx-2", 11)
    );

    let other = synthetic_caller("Org2MSP", Role::Client, "Synthetic User 2");
    assert_ne!(other.id, ctx.caller().id);
    ctx.set_caller(other.clone());
    assert_eq!(ctx.caller(), &other);
}

#[test]
fn context_ext_helpers_work_on_the_mock() {
    let mut ctx = MockContext::new().with_state("bad", b"{not json");
    ctx.put_json("n", &41).expect("put json");
    ctx.commit();
    assert_eq!(ctx.get_json::<i64>("n").expect("get json"), Some(41));
    assert_eq!(ctx.get_json::<i64>("none").expect("absent"), None);
    assert!(ctx.state_exists("n").expect("exists"));
    assert!(!ctx.state_exists("none").expect("exists"));
    assert_eq!(ctx.must_get("n").expect("present"), b"41");
    let err = ctx.must_get("none").expect_err("absent");
    assert_eq!(
        (err.status(), err.message()),
        (404, "key \"none\" does not exist")
    );
    let err = ctx.must_get_json::<i64>("none").expect_err("absent");
    assert_eq!(err.status(), 404);
    let err = ctx.get_json::<i64>("bad").expect_err("malformed");
    assert_eq!(err.status(), 500);
    assert!(err.message().contains("\"bad\""), "{err}");
}

#[test]
fn composite_and_simple_ranges_are_kept_apart() {
    let mut ctx = MockContext::new();
    for (patient, org) in [("p1", "orgA"), ("p1", "orgB"), ("p2", "orgA")] {
        let key = ctx.create_composite_key("consent", &[patient, org]).expect("key");
        ctx.put_state(&key, org.as_bytes()).expect("put");
    }
    let other = ctx.create_composite_key("consentX", &["p1"]).expect("key");
    ctx.put_state(&other, b"x").expect("put");
    ctx.put_state("asset1", b"a").expect("put");
    ctx.commit();

    let page = ctx
        .get_state_by_partial_composite_key("consent", &["p1"], 0, "")
        .expect("partial");
    let orgs: Vec<Vec<&str>> = page
        .items
        .iter()
        .map(|(k, _)| ctx.split_composite_key(k).expect("composite").1)
        .collect();
    assert_eq!(orgs, [["p1", "orgA"], ["p1", "orgB"]]);
    let all = ctx
        .get_state_by_partial_composite_key("consent", &[], 0, "")
        .expect("partial");
    assert_eq!(all.items.len(), 3, "consentX is a different object type");

    let simple = ctx.get_simple_state_by_range("", "", 0, "").expect("simple");
    assert_eq!(page_keys(&simple), ["asset1"]);
    assert_eq!(ctx.get_state_by_range("", "", 0, "").expect("raw").items.len(), 5);
    assert!(ctx.get_simple_state_by_range(&other, "", 0, "").is_err());
}

/// A contract that writes then fails, to check `submit` keeps nothing from failed invocations.
struct WriteThenFail;

impl Contract for WriteThenFail {
    fn name(&self) -> &str {
        "write-then-fail"
    }
    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        ctx.put_state("k", call.str_arg(0)?.as_bytes())?;
        match call.function {
            "Fail" => Err(ContractError::Conflict("refused".into())),
            _ => Ok(b"ok".to_vec()),
        }
    }
}

#[test]
fn submit_commits_successes_and_discards_failures() {
    let mut ctx = MockContext::new();
    assert_eq!(ctx.submit(&WriteThenFail, &["Write", "1"]).expect("ok"), b"ok");
    assert_eq!(ctx.state("k"), Some(&b"1"[..]));
    let err = ctx.submit(&WriteThenFail, &["Fail", "2"]).expect_err("fails");
    assert_eq!(err.status(), 409);
    assert_eq!(ctx.state("k"), Some(&b"1"[..]));
    assert_eq!(ctx.last_tx().status, TxStatus::Discarded);
    assert_eq!(
        ctx.writes().get("k"),
        Some(&Some(b"2".to_vec())),
        "record kept for inspection"
    );

    assert_eq!(ctx.evaluate(&WriteThenFail, &["Write", "3"]).expect("ok"), b"ok");
    assert_eq!(ctx.state("k"), Some(&b"1"[..]), "evaluate never commits");
    assert_eq!(ctx.height(), 1);

    let bytes: Vec<Vec<u8>> = vec![b"Write".to_vec(), vec![0xff]];
    assert_eq!(
        ctx.submit(&WriteThenFail, &bytes).expect_err("bad utf8").status(),
        400
    );
    assert!(ctx.submit(&WriteThenFail, &[] as &[&str]).is_err());
}

/// A contract exercising private data: `put c k` (value from transient "v"), `get c k`, `hash c k`,
/// `purge c k`, `range c`.
struct Private;

impl Contract for Private {
    fn name(&self) -> &str {
        "private"
    }
    fn invoke(&self, ctx: &mut dyn Context, call: &Call<'_>) -> Result<Vec<u8>, ContractError> {
        let c = call.str_arg(0)?;
        match call.function {
            "put" => {
                let v = ctx.transient("v").map(<[u8]>::to_vec).unwrap_or_default();
                ctx.put_private_data(c, call.str_arg(1)?, &v).map(|_| vec![])
            }
            "get" => Ok(ctx.get_private_data(c, call.str_arg(1)?)?.unwrap_or_default()),
            "hash" => Ok(ctx
                .get_private_data_hash(c, call.str_arg(1)?)?
                .unwrap_or_default()),
            "purge" => ctx.purge_private_data(c, call.str_arg(1)?).map(|_| vec![]),
            "range" => Ok(ctx
                .get_private_data_by_range(c, "", "")?
                .len()
                .to_string()
                .into_bytes()),
            _ => Err(ContractError::BadRequest("unknown".into())),
        }
    }
}

#[test]
fn private_data_is_for_members_and_hashes_are_for_everyone() {
    let mut ctx = MockContext::new()
        .with_collection("members", true)
        .with_collection("others", false)
        .with_transient("v", b"synthetic phi");
    ctx.submit(&Private, &["put", "members", "k"]).unwrap();
    assert_eq!(ctx.private_state("members", "k"), Some(&b"synthetic phi"[..]));
    assert_eq!(
        ctx.evaluate(&Private, &["get", "members", "k"]).unwrap(),
        b"synthetic phi"
    );
    let h = ctx.evaluate(&Private, &["hash", "members", "k"]).unwrap();
    assert_eq!(h.len(), 32);
    // A non-member may write (blind) and see hashes, but not read values.
    assert_eq!(
        ctx.evaluate(&Private, &["get", "others", "k"])
            .unwrap_err()
            .status(),
        403
    );
    assert_eq!(
        ctx.evaluate(&Private, &["range", "others"]).unwrap_err().status(),
        403
    );
    assert!(
        ctx.evaluate(&Private, &["hash", "others", "k"])
            .unwrap()
            .is_empty()
    );
    // Undeclared collections are refused.
    assert_eq!(
        ctx.evaluate(&Private, &["get", "nope", "k"])
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn private_writes_are_not_read_back_and_purge_removes_data() {
    let mut ctx = MockContext::new()
        .with_collection("members", true)
        .with_transient("v", b"v1");
    ctx.submit(&Private, &["put", "members", "k"]).unwrap();
    ctx.submit(&Private, &["purge", "members", "k"]).unwrap();
    assert_eq!(ctx.private_state("members", "k"), None);
    assert_eq!(ctx.purged(), &[("members".to_string(), "k".to_string())]);
    assert_eq!(ctx.evaluate(&Private, &["range", "members"]).unwrap(), b"0");
}
