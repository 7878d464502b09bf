//! The off-chain analytics store end to end (issue 12), on a real multi-process network (HospitalA,
//! HospitalB, Lab, Research, Insurer; `records` deployed with its collections) and the real `carechain
//! analytics` binary, once with the embedded SQLite store and once with a PostgreSQL server started for
//! the test (the Debian package; the PostgreSQL test fails when it is not installed):
//!
//! - records written before the sync exists are caught up; the sync is SIGKILLed again and again while
//!   records keep coming, and after the last restart the store holds exactly the rows written for
//!   patients with research consent: none duplicated, none missing;
//! - with the sync following, a new record appears in the store shortly after its commit (the delay is
//!   measured and printed; asserted only against a generous bound); records of a patient without research
//!   consent never appear; the lag metric and `status` report zero blocks behind;
//! - Safe Harbor end to end: a patient born 1929-03-14 with ZIP 03601 appears as `90+`, ZIP3 `000`, no birth
//!   year, and no column holds a date or free text;
//! - `report` gives the k-anonymity and l-diversity of the designed dataset; `export` is refused below
//!   k = 5 with the offending classes named and no file written, and allowed over `sex` with k = 2 (CSV and
//!   Parquet);
//! - analysts' queries are read-only;
//! - a doctor's and an insurer's certificates are refused by `query`, `export` and `report`;
//! - after the patient revokes the research consent, the patient's rows leave the next export.
//!
//! Every patient, date and value is synthetic.

#![allow(clippy::unwrap_used)]

mod analytics_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use analytics_support::records::{self, Patient, RESEARCH};
use analytics_support::{ANALYST, Analytics, Backend, DOCTOR, INSURER_USER};
use carechain_tests::TestNet;
use serde_json::{Value, json};

/// A patient with the Safe Harbor values the store must show for them (age at 2024-03-01).
struct Subject {
    patient: Patient,
    band: &'static str,
    zip3: &'static str,
}

fn subjects() -> Vec<Subject> {
    let s = |n, birth, gender, zip, research, band, zip3| Subject {
        patient: Patient::new(n, birth, gender, zip, research),
        band,
        zip3,
    };
    vec![
        s(1, "1986-01-10", "female", "10001", true, "35-39", "100"),
        s(2, "1987-02-02", "female", "10001", true, "35-39", "100"),
        s(3, "1985-06-30", "female", "10001", true, "35-39", "100"),
        s(4, "1961-07-15", "male", "94105", true, "60-64", "941"),
        s(5, "1960-01-01", "male", "94105", true, "60-64", "941"),
        // Age 94 on the record date, ZIP in the restricted area 036.
        s(6, "1929-03-14", "female", "03601", true, "90+", "000"),
        // No research consent: nothing of this patient may ever reach the store.
        s(7, "1982-05-05", "male", "30301", false, "40-44", "303"),
    ]
}

/// The category only the patient without research consent gets.
const NO_CONSENT: &str = "synthetic-noconsent";

/// What the store must hold: rows per (category, age band, sex, zip3).
#[derive(Default)]
struct Expected {
    rows: BTreeMap<(String, String, String, String), u64>,
    per_patient: BTreeMap<u64, u64>,
    next_record: BTreeMap<u64, u64>,
}

impl Expected {
    fn total(&self) -> u64 {
        self.rows.values().sum()
    }

    fn add(&mut self, s: &Subject, category: &str) {
        if !s.patient.research {
            return;
        }
        let key = (
            category.to_string(),
            s.band.to_string(),
            s.patient.gender.to_string(),
            s.zip3.to_string(),
        );
        *self.rows.entry(key).or_default() += 1;
        *self.per_patient.entry(s.patient.n).or_default() += 1;
    }

    fn remove_patient(&mut self, s: &Subject) {
        self.per_patient.remove(&s.patient.n);
    }
}

/// Writes `categories` for `s`, one after the other; returns how many.
async fn write(net: &TestNet, s: &Subject, first: u64, categories: &[&str]) {
    for (i, c) in categories.iter().enumerate() {
        records::record(net, &s.patient, first + i as u64, c).await;
    }
}

/// Every patient writes `per` (its categories) concurrently, patients in parallel.
async fn write_all(
    net: &TestNet,
    subjects: &[Subject],
    expected: &mut Expected,
    per: impl Fn(&Subject) -> Vec<&'static str>,
) {
    let plans: Vec<(usize, u64, Vec<&'static str>)> = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let cats = per(s);
            let first = *expected.next_record.get(&s.patient.n).unwrap_or(&0);
            (i, first, cats)
        })
        .collect();
    futures::future::join_all(
        plans
            .iter()
            .map(|(i, first, cats)| write(net, &subjects[*i], *first, cats)),
    )
    .await;
    for (i, _, cats) in plans {
        let s = &subjects[i];
        *expected.next_record.entry(s.patient.n).or_default() += cats.len() as u64;
        for c in cats {
            expected.add(s, c);
        }
    }
}

fn grouped(an: &Analytics, net: &TestNet) -> BTreeMap<(String, String, String, String), u64> {
    an.query(
        net,
        "SELECT category, age_band, sex, zip3, COUNT(*) AS n FROM entries GROUP BY category, age_band, sex, zip3",
    )
    .into_iter()
    .map(|r| {
        let f = |k: &str| r[k].as_str().unwrap().to_string();
        ((f("category"), f("age_band"), f("sex"), f("zip3")), f("n").parse().unwrap())
    })
    .collect()
}

/// Starts and SIGKILLs the sync until the writers are done and at least eight kills happened. Each run holds
/// its store transactions open for half a second before committing (a hidden crash-test flag) and stays
/// down a while, so blocks pile up. Every other run, when the store is behind, is killed once its log says
/// it is applying blocks in its first or second transaction (inside the open transaction); the others at
/// arbitrary moments (starting up, between transactions). Returns (kills, kills inside an open transaction: the run's log says it was applying
/// blocks and had not committed them).
async fn crash_loop(an: &mut Analytics, net: &TestNet, writing: &AtomicBool) -> (usize, usize) {
    let up = [150u64, 700, 350, 1200];
    let down = [300u64, 150, 400, 250];
    let (mut kills, mut inside) = (0, 0);
    let mut trail = Vec::new();
    while writing.load(Ordering::SeqCst) || kills < 8 {
        let height = net.height(RESEARCH).await.unwrap();
        let behind = an.peek().is_none_or(|(cp, _)| cp.next_block() < height);
        let from = an.log_text().len();
        an.start_sync_with(net, &["--commit-delay-ms", "500"]);
        if kills % 2 == 0 && behind {
            // Inside the run's first or second transaction (after the first one committed).
            let want = 1 + (kills / 2) % 2;
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while an.log_text()[from..].matches("applying blocks").count() < want
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(up[(kills / 2) % up.len()])).await;
        }
        an.kill_sync();
        kills += 1;
        let run = an.log_text().split_off(from);
        if run.rfind("applying blocks") > run.rfind("committed blocks") {
            inside += 1;
        }
        trail.push((height, an.peek().map(|(cp, s)| (cp.next_block(), s.entries))));
        tokio::time::sleep(Duration::from_millis(down[kills % down.len()])).await;
    }
    println!("(peer height, store (next block, rows)) at each kill: {trail:?}");
    (kills, inside)
}

async fn scenario(backend: Backend) {
    let subjects = subjects();
    let patients: Vec<Patient> = subjects.iter().map(|s| s.patient.clone()).collect();
    let net = records::network(&patients).await;
    let mut an = Analytics::new(backend);
    let mut expected = Expected::default();

    // Records written before the sync exists.
    futures::future::join_all(patients.iter().map(|p| records::enroll(&net, p))).await;
    write_all(&net, &subjects, &mut expected, |s| match s.patient.n {
        1 | 6 => vec!["laboratory", "vital-signs"],
        3 => vec!["imaging"],
        7 => vec![NO_CONSENT],
        _ => vec!["laboratory"],
    })
    .await;

    // Crash the sync again and again while more records come in.
    let writing = AtomicBool::new(true);
    let mut batch = Expected {
        next_record: expected.next_record.clone(),
        ..Expected::default()
    };
    let writer = async {
        for round in ["laboratory", "vital-signs", "laboratory"] {
            write_all(&net, &subjects, &mut batch, |s| match s.patient.n {
                7 => vec![NO_CONSENT],
                _ => vec![round],
            })
            .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        writing.store(false, Ordering::SeqCst);
    };
    let ((), (kills, inside)) = futures::join!(writer, crash_loop(&mut an, &net, &writing));
    for (k, n) in batch.rows {
        *expected.rows.entry(k).or_default() += n;
    }
    for (p, n) in batch.per_patient {
        *expected.per_patient.entry(p).or_default() += n;
    }
    expected.next_record = batch.next_record;
    println!("{backend:?}: sync killed {kills} times, {inside} of them inside an open store transaction");
    an.start_sync(&net);
    let (_, stats) = an.wait_caught_up(&net).await;
    assert_eq!(
        stats.entries,
        expected.total(),
        "no duplicated and no missing row"
    );
    assert_eq!(stats.patients, 6, "one subject per consenting patient");
    assert_eq!(grouped(&an, &net), expected.rows, "exactly the rows written");
    assert!(
        inside > 0,
        "at least one kill must land inside an open transaction"
    );

    following(&mut an, &net, &subjects, &mut expected).await;
    safe_harbor(&an, &net);
    privacy_report(&an, &net, &expected);
    read_only(&an, &net, backend, &expected);
    refused_identities(&an, &net);
    revocation(&mut an, &net, &subjects, &mut expected).await;
    an.kill_sync();
}

/// The sync follows: new rows appear shortly after their commit; a patient without consent never does.
async fn following(an: &mut Analytics, net: &TestNet, subjects: &[Subject], expected: &mut Expected) {
    let p2 = &subjects[1];
    let mut delays = Vec::new();
    for _ in 0..3 {
        let r = expected.next_record[&2];
        records::record(net, &p2.patient, r, "laboratory").await;
        *expected.next_record.get_mut(&2).unwrap() += 1;
        expected.add(p2, "laboratory");
        delays.push(an.wait_entries(expected.total()).await);
    }
    println!("commit → row in the store: {delays:?}");
    assert!(delays.iter().all(|d| *d < Duration::from_secs(10)), "{delays:?}");
    // The patient without consent writes, then p2 does: once p2's row is in, p7's block was processed.
    let p7 = &subjects[6];
    records::record(net, &p7.patient, expected.next_record[&7], NO_CONSENT).await;
    let r = expected.next_record[&2];
    records::record(net, &p2.patient, r, "laboratory").await;
    *expected.next_record.get_mut(&2).unwrap() += 1;
    expected.add(p2, "laboratory");
    an.wait_entries(expected.total()).await;
    an.wait_caught_up(net).await;
    let none = an.query(
        net,
        &format!("SELECT COUNT(*) AS n FROM entries WHERE category = '{NO_CONSENT}' OR zip3 = '303'"),
    );
    assert_eq!(
        none,
        [json!({"n": "0"})],
        "nothing of the patient without research consent"
    );
    // The lag metric and the status agree: nothing behind.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let m = an.http_get("/metrics");
        if m.contains("carechain_analytics_lag_blocks 0") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "lag never reached 0:\n{m}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = an.run(net, ANALYST, "status", &["--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["entries"], json!(expected.total()), "{status}");
    assert_eq!(
        status["nextBlock"],
        json!(net.height(RESEARCH).await.unwrap()),
        "{status}"
    );
}

/// Age 94 → 90+, ZIP 03601 → 000, no birth year; no date or free-text column.
fn safe_harbor(an: &Analytics, net: &TestNet) {
    let old = an.query(net, "SELECT zip3, birth_year, COUNT(*) AS n FROM entries WHERE age_band = '90+' GROUP BY zip3, birth_year");
    assert_eq!(old, [json!({"zip3": "000", "birth_year": null, "n": "5"})]);
    let one = an.query(net, "SELECT * FROM entries LIMIT 1");
    let columns: Vec<&String> = one[0].as_object().unwrap().keys().collect();
    assert_eq!(
        columns,
        [
            "age_band",
            "birth_year",
            "category",
            "entry",
            "sex",
            "subject",
            "year",
            "zip3"
        ]
    );
    let years = an.query(net, "SELECT DISTINCT year FROM entries");
    assert_eq!(years, [json!({"year": "2024"})], "dates reduced to the year");
}

/// k and l of the designed dataset; exports refused below k = 5, allowed over `sex` with k = 2.
fn privacy_report(an: &Analytics, net: &TestNet, expected: &Expected) {
    let out = an.run(net, ANALYST, "report", &["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["k"].clone(), r["l"].clone(), r["patients"].clone()),
        (json!(1), json!(2), json!(6)),
        "{r}"
    );
    let classes: Vec<(Value, Value, usize)> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].clone(),
                g["patients"].clone(),
                g["sensitive"].as_object().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            (json!(["90+", "", "female", "000"]), json!(1), 2),
            (json!(["60-64", "", "male", "941"]), json!(2), 2),
            (json!(["35-39", "", "female", "100"]), json!(3), 3),
        ]
    );
    let refused = an.home.path().join("refused.csv");
    let out = an.run(
        net,
        ANALYST,
        "export",
        &["--format", "csv", "--output", refused.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a k = 1 export must be refused");
    assert!(
        err.contains("k-anonymity over (age_band, birth_year, sex, zip3) is 1 (threshold 5)"),
        "{err}"
    );
    assert!(
        err.contains("age_band=90+, birth_year=(suppressed), sex=female, zip3=000: 1 patients"),
        "{err}"
    );
    assert!(
        err.contains("age_band=60-64, birth_year=(suppressed), sex=male, zip3=941: 2 patients"),
        "{err}"
    );
    assert!(!refused.exists(), "a refused export writes nothing");
    let csv = export(an, net, "csv");
    assert_eq!(csv.lines().count() as u64, expected.total() + 1);
    assert_eq!(
        csv.lines().next(),
        Some("entry,subject,category,year,age_band,birth_year,sex,zip3")
    );
    let parquet = an.home.path().join("export.parquet");
    let out = an.run(
        net,
        ANALYST,
        "export",
        &[
            "--qi",
            "sex",
            "--k",
            "2",
            "--format",
            "parquet",
            "--output",
            parquet.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&parquet).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
}

/// An export over `sex` with k = 2, as CSV text.
fn export(an: &Analytics, net: &TestNet, name: &str) -> String {
    let path = an.home.path().join(format!("{name}.csv"));
    let _ = std::fs::remove_file(&path);
    let out = an.run(
        net,
        ANALYST,
        "export",
        &[
            "--qi",
            "sex",
            "--k",
            "2",
            "--format",
            "csv",
            "--output",
            path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(path).unwrap()
}

/// An analyst's query cannot write, nor read the linking table (SQLite's authorizer; PostgreSQL leaves it
/// to the database login's grants).
fn read_only(an: &Analytics, net: &TestNet, backend: Backend, expected: &Expected) {
    for sql in [
        "DELETE FROM deid_entry",
        "UPDATE deid_entry SET zip3 = '036'",
        "SELECT 1; DELETE FROM deid_entry",
    ] {
        let out = an.run(net, ANALYST, "query", &[sql]);
        assert!(!out.status.success(), "{sql} must fail");
    }
    if backend == Backend::Sqlite {
        let out = an.run(net, ANALYST, "query", &["SELECT * FROM subject_link"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("refused"), "{err}");
    }
    let n = an.query(net, "SELECT COUNT(*) AS n FROM entries");
    assert_eq!(n, [json!({"n": expected.total().to_string()})], "nothing changed");
}

/// Doctors and insurers may not read the dataset.
fn refused_identities(an: &Analytics, net: &TestNet) {
    for (who, role) in [(DOCTOR, "doctor"), (INSURER_USER, "insurer")] {
        let file = an.home.path().join(format!("{role}.csv"));
        let attempts: [(&str, Vec<&str>); 3] = [
            ("query", vec!["SELECT COUNT(*) FROM entries"]),
            ("report", vec![]),
            (
                "export",
                vec![
                    "--qi",
                    "sex",
                    "--k",
                    "1",
                    "--format",
                    "csv",
                    "--output",
                    file.to_str().unwrap(),
                ],
            ),
        ];
        for (sub, args) in attempts {
            let out = an.run(net, who, sub, &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{role} {sub} must be refused");
            assert!(
                err.contains("access denied") && err.contains(&format!("has role {role}")),
                "{role} {sub}: {err}"
            );
            assert!(out.stdout.is_empty(), "{role} {sub} printed data");
        }
        assert!(!file.exists());
    }
    let log = std::fs::read_to_string(an.home.path().join("analytics/care-access.log")).unwrap();
    assert!(
        log.lines().filter(|l| l.contains("\"denied\"")).count() >= 6,
        "{log}"
    );
}

/// The patient revokes research consent: their rows leave the next export.
async fn revocation(an: &mut Analytics, net: &TestNet, subjects: &[Subject], expected: &mut Expected) {
    let before = export(an, net, "before").lines().count() as u64 - 1;
    let p1 = &subjects[0];
    let p1_rows = expected.per_patient[&1];
    records::revoke(net, &p1.patient).await;
    expected.remove_patient(p1);
    an.wait_entries(before - p1_rows).await;
    an.wait_caught_up(net).await;
    let after = export(an, net, "after").lines().count() as u64 - 1;
    assert_eq!(
        after,
        before - p1_rows,
        "the revoking patient's {p1_rows} rows are gone"
    );
    let out = an.run(net, ANALYST, "report", &["--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["patients"], json!(5));
    assert_eq!(r["rows"], json!(expected.per_patient.values().sum::<u64>()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analytics_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analytics_postgres() {
    scenario(Backend::Postgres).await;
}
