//! The same store suite on both backends: SQLite in a temp dir, PostgreSQL on a throwaway server
//! ([`crate::testing::TestPostgres`]; the PostgreSQL tests fail when the server is not installed).

#![allow(clippy::unwrap_used)]

use super::*;
use crate::events::{BlockEffects, Op};
use crate::link::LinkKey;
use crate::safeharbor::{DeidRow, RestrictedZip3, Sanitized};
use crate::testing::TestPostgres;

const T1: &str = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";
const T2: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

fn key() -> LinkKey {
    LinkKey::from_bytes(&[9; 32])
}

fn row(category: &str, zip3: &str) -> DeidRow {
    DeidRow {
        category: category.into(),
        year: 2024,
        age_band: "90+".into(),
        birth_year: None,
        sex: "female".into(),
        zip3: zip3.into(),
    }
}

fn entry(token: &str, category: &str, zip3: &str) -> Op {
    Op::Entry(Sanitized {
        token: token.into(),
        row: row(category, zip3),
        dropped: Vec::new(),
    })
}

fn hash(n: u64) -> [u8; 32] {
    [n as u8 + 1; 32]
}

/// Block `n` chained to block `n - 1` of this test chain.
fn block(n: u64, ops: Vec<Op>) -> BlockEffects {
    BlockEffects {
        number: n,
        hash: hash(n),
        previous_hash: if n == 0 { Vec::new() } else { hash(n - 1).to_vec() },
        config: (n == 0).then(|| b"synthetic config block".to_vec()),
        ops,
        skipped: Vec::new(),
        dropped_fields: Vec::new(),
    }
}

fn summary(store: &mut Store) -> Vec<(String, DeidRow)> {
    let rows = store.rows().unwrap();
    let mut out: Vec<(String, DeidRow)> = rows.into_iter().map(|r| (r.subject, r.row)).collect();
    out.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    out
}

fn init_rules(loc: &Location) {
    let mut s = Store::open(loc, Access::Write).unwrap();
    let cp = s.init("care", "records", &key()).unwrap();
    assert_eq!((cp.last_block, cp.next_block()), (None, 0));
    let again = s.init("care", "records", &key()).unwrap();
    assert_eq!(again, cp);
    assert!(matches!(
        s.init("supply", "records", &key()),
        Err(StoreError::OtherChannel { .. })
    ));
    assert!(matches!(
        s.init("care", "records", &LinkKey::from_bytes(&[8; 32])),
        Err(StoreError::OtherKey)
    ));
    assert_eq!(s.restricted_zip3().unwrap(), RestrictedZip3::hhs());
}

fn entries_revocations_and_subjects(loc: &Location) {
    let mut s = Store::open(loc, Access::Write).unwrap();
    s.init("care", "records", &key()).unwrap();
    let applied = s
        .apply(
            &[
                block(0, Vec::new()),
                block(
                    1,
                    vec![entry(T1, "laboratory", "100"), entry(T2, "laboratory", "941")],
                ),
                block(2, vec![entry(T1, "vital-signs", "100")]),
            ],
            &key(),
        )
        .unwrap();
    assert_eq!((applied.blocks, applied.entries), (3, 3));
    assert_eq!(
        s.config_block().unwrap(),
        Some(b"synthetic config block".to_vec())
    );
    let rows = summary(&mut s);
    assert_eq!(rows.len(), 3);
    let t1_subjects: Vec<&String> = rows
        .iter()
        .filter(|(_, r)| r.zip3 == "100")
        .map(|(s, _)| s)
        .collect();
    assert_eq!(t1_subjects[0], t1_subjects[1], "one patient, one subject");
    assert_ne!(
        t1_subjects[0],
        &rows.iter().find(|(_, r)| r.zip3 == "941").unwrap().0
    );
    for (subject, _) in &rows {
        assert!(subject != T1 && subject != T2, "subjects are not research tokens");
    }
    assert_eq!(
        s.stats().unwrap(),
        Stats {
            entries: 3,
            patients: 2
        }
    );
    // The revocation removes the patient's rows; a later entry (a new consent) starts a new subject.
    let applied = s
        .apply(&[block(3, vec![Op::Revoke { token: T1.into() }])], &key())
        .unwrap();
    assert_eq!((applied.removed, applied.revoked), (2, 1));
    assert_eq!(
        s.stats().unwrap(),
        Stats {
            entries: 1,
            patients: 1
        }
    );
    s.apply(&[block(4, vec![entry(T1, "imaging", "100")])], &key())
        .unwrap();
    let rows = summary(&mut s);
    assert_eq!(rows.len(), 2);
    let new_subject = &rows.iter().find(|(_, r)| r.category == "imaging").unwrap().0;
    assert!(!t1_subjects.contains(&new_subject));
    // Revoking a token the store never saw changes nothing.
    let applied = s
        .apply(
            &[block(
                5,
                vec![Op::Revoke {
                    token: "ab".repeat(16),
                }],
            )],
            &key(),
        )
        .unwrap();
    assert_eq!(applied.removed, 0);
    assert_eq!(s.checkpoint().unwrap().last_block, Some(5));
}

fn exactly_once(loc: &Location) {
    let mut s = Store::open(loc, Access::Write).unwrap();
    s.init("care", "records", &key()).unwrap();
    s.apply(
        &[
            block(0, Vec::new()),
            block(1, vec![entry(T1, "laboratory", "100")]),
        ],
        &key(),
    )
    .unwrap();
    // A replay after a reconnect: block 1 again, then 2.
    let applied = s
        .apply(
            &[
                block(1, vec![entry(T1, "laboratory", "100")]),
                block(2, vec![entry(T2, "laboratory", "100")]),
            ],
            &key(),
        )
        .unwrap();
    assert_eq!((applied.blocks, applied.entries), (1, 1));
    assert_eq!(s.stats().unwrap().entries, 2);
    // A gap fails the whole run: block 3 of the same run is not applied either.
    let err = s
        .apply(
            &[
                block(3, vec![entry(T1, "laboratory", "100")]),
                block(5, Vec::new()),
            ],
            &key(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Gap { expected: 4, got: 5 }), "{err}");
    assert_eq!(s.stats().unwrap().entries, 2);
    assert_eq!(s.checkpoint().unwrap().last_block, Some(2));
    // A block of another chain is refused.
    let mut forked = block(3, vec![entry(T1, "laboratory", "100")]);
    forked.previous_hash = vec![0xee; 32];
    assert!(matches!(
        s.apply(&[forked], &key()),
        Err(StoreError::Fork { number: 3, .. })
    ));
    assert_eq!(s.stats().unwrap().entries, 2);
    // Reopening resumes where the store is.
    drop(s);
    let mut s = Store::open(loc, Access::Write).unwrap();
    assert_eq!(s.init("care", "records", &key()).unwrap().next_block(), 3);
}

fn restricted_table_and_height(loc: &Location) {
    let mut s = Store::open(loc, Access::Write).unwrap();
    s.init("care", "records", &key()).unwrap();
    s.apply(
        &[block(
            0,
            vec![entry(T1, "laboratory", "100"), entry(T2, "laboratory", "941")],
        )],
        &key(),
    )
    .unwrap();
    let changed = s
        .set_restricted_zip3(&RestrictedZip3::new(["100"]).unwrap())
        .unwrap();
    assert_eq!(changed, 1);
    let zips: Vec<String> = summary(&mut s).into_iter().map(|(_, r)| r.zip3).collect();
    assert_eq!(zips, ["000", "941"]);
    assert_eq!(
        s.restricted_zip3().unwrap(),
        RestrictedZip3::new(["100"]).unwrap()
    );
    s.observe_height(9).unwrap();
    let cp = s.checkpoint().unwrap();
    assert_eq!(cp.peer_height.as_ref().map(|(h, _)| *h), Some(9));
    assert_eq!(cp.lag(), Some(8));
}

fn analyst_queries(loc: &Location) {
    {
        let mut s = Store::open(loc, Access::Write).unwrap();
        s.init("care", "records", &key()).unwrap();
        s.apply(
            &[block(
                0,
                vec![entry(T1, "laboratory", "100"), entry(T2, "imaging", "941")],
            )],
            &key(),
        )
        .unwrap();
    }
    let mut r = Store::open(loc, Access::Read).unwrap();
    let q = r
        .query("SELECT category, COUNT(*) AS n, AVG(year) AS mean FROM entries GROUP BY category ORDER BY category;")
        .unwrap();
    assert_eq!(q.columns, ["category", "n", "mean"]);
    assert_eq!(q.rows.len(), 2);
    assert_eq!(q.rows[0][0].as_deref(), Some("imaging"));
    assert_eq!(q.rows[0][1].as_deref(), Some("1"));
    assert!(q.rows[0][2].as_deref().unwrap().starts_with("2024"));
    for bad in [
        "DELETE FROM deid_entry",
        "UPDATE deid_entry SET zip3 = '100'",
        "SELECT 1; DELETE FROM deid_entry",
        "INSERT INTO restricted_zip3 VALUES ('123')",
    ] {
        assert!(r.query(bad).is_err(), "{bad} must fail");
    }
    assert_eq!(r.stats().unwrap().entries, 2, "nothing was changed");
}

fn read_access_never_creates(loc: &Location) {
    match Store::open(loc, Access::Read) {
        Err(StoreError::Missing(_)) => {}
        Ok(mut s) => assert!(matches!(s.checkpoint(), Err(StoreError::Missing(_)))),
        Err(e) => panic!("{e}"),
    }
}

fn suite(loc: impl Fn(&str) -> Location) {
    read_access_never_creates(&loc("missing"));
    init_rules(&loc("init"));
    entries_revocations_and_subjects(&loc("entries"));
    exactly_once(&loc("once"));
    restricted_table_and_height(&loc("zip"));
    analyst_queries(&loc("query"));
}

#[test]
fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    suite(|name| Location::Sqlite(dir.path().join(format!("{name}.sqlite"))));
}

#[test]
fn sqlite_analysts_read_only_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let loc = Location::Sqlite(dir.path().join("a.sqlite"));
    analyst_queries(&loc);
    let mut r = Store::open(&loc, Access::Read).unwrap();
    for hidden in [
        "SELECT * FROM subject_link",
        "SELECT link_check FROM analytics_meta",
        "ATTACH DATABASE 'x.sqlite' AS x",
        "PRAGMA table_info(entries)",
    ] {
        let err = r.query(hidden).unwrap_err();
        assert!(matches!(err, StoreError::Refused(_)), "{hidden}: {err}");
    }
    let q = r
        .query("SELECT prefix FROM restricted_zip3 ORDER BY prefix LIMIT 1")
        .unwrap();
    assert_eq!(q.rows, [[Some("036".to_string())]]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("a.sqlite"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the store file is private to its owner");
    }
}

#[test]
fn postgres_store() {
    let pg = TestPostgres::start().unwrap_or_else(|e| panic!("{e}"));
    suite(|name| Location::Postgres(pg.database(name).unwrap()));
}

#[test]
fn locations_parse_and_hide_passwords() {
    assert_eq!(
        "a/b.sqlite".parse::<Location>().unwrap(),
        Location::Sqlite("a/b.sqlite".into())
    );
    assert_eq!(
        "sqlite:/x.db".parse::<Location>().unwrap(),
        Location::Sqlite("/x.db".into())
    );
    let pg: Location = "postgres://ana:secret@db:5432/care".parse().unwrap();
    assert_eq!(
        pg,
        Location::Postgres("postgres://ana:secret@db:5432/care".into())
    );
    assert_eq!(pg.to_string(), "postgres://ana:***@db:5432/care");
    let kv: Location = "postgres:host=/run/pg dbname=care password=secret"
        .parse()
        .unwrap();
    assert_eq!(kv.to_string(), "postgres:host=/run/pg dbname=care password=***");
    assert!("".parse::<Location>().is_err());
}
