//! Insurer queries: by status, provider, patient and period, paginated with bookmarks, in submission order,
//! scoped to the caller's own claims. All claims are synthetic.

mod common;

use std::collections::BTreeSet;

use chaincode_api::Timestamp;
use chaincode_api::testing::MockContext;
use common::*;
use serde_json::{Value, json};

/// A one-item claim for `n` (a distinct synthetic service code per claim, so none is a duplicate).
fn small(n: usize) -> Value {
    details(
        vec![item(1, &format!("SYN{n:05}"), SERVICE_DATE, 1, "1.00", "1.00")],
        "1.00",
    )
}

/// Every page of `filter` for `insurer`, following bookmarks; returns the claim ids in order.
fn all_pages(ctx: &mut MockContext, insurer: &str, filter: &Value, page_size: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut bookmark = String::new();
    let mut pages = 0;
    loop {
        let page = query(
            ctx,
            adjuster(insurer),
            &[
                "QueryClaims",
                &filter.to_string(),
                &page_size.to_string(),
                &bookmark,
            ],
        )
        .expect("page");
        pages += 1;
        let claims = page["claims"].as_array().expect("claims");
        assert_eq!(page["fetchedRecordsCount"].as_u64(), Some(claims.len() as u64));
        assert!(claims.len() <= page_size);
        ids.extend(claims.iter().map(|c| c["id"].as_str().expect("id").to_string()));
        bookmark = page["bookmark"].as_str().expect("bookmark").to_string();
        if bookmark.is_empty() {
            return (ids, pages);
        }
        assert_eq!(claims.len(), page_size, "only the last page is short");
    }
}

#[test]
fn the_status_query_pages_through_1000_claims_in_order() {
    let mut ctx = covered();
    let mut expected = Vec::new();
    for n in 0..1050 {
        let id = format!("CLM-{n:05}");
        // Every 21st claim goes to the other insurer and must not appear.
        let (insurer, provider) = if n % 21 == 20 {
            (INSURER_B, HOSPITAL_A)
        } else {
            (INSURER_A, [HOSPITAL_A, HOSPITAL_B][n % 2])
        };
        let patient = [PATIENT_1, PATIENT_2][n % 3 % 2];
        submit(&mut ctx, provider, &id, insurer, patient, &small(n)).expect("submit");
        if insurer == INSURER_A {
            expected.push(id);
        }
    }
    assert_eq!(expected.len(), 1000);
    let (ids, pages) = all_pages(&mut ctx, INSURER_A, &json!({"status": "submitted"}), 64);
    assert_eq!(pages, 16, "15 full pages of 64 and one of 40");
    assert_eq!(ids.len(), 1000);
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        1000,
        "no claim on two pages"
    );
    assert_eq!(
        ids, expected,
        "submission order, nothing missing, nothing of InsurerB"
    );

    // Queue the first 300 (QueueClaims takes the oldest); the status ranges follow.
    for _ in 0..3 {
        run(&mut ctx, adjuster(INSURER_A), &["QueueClaims", "100"], None).expect("queue 100");
    }
    let (queued, _) = all_pages(&mut ctx, INSURER_A, &json!({"status": "queued"}), 1000);
    assert_eq!(queued, expected[..300]);
    let (submitted, _) = all_pages(&mut ctx, INSURER_A, &json!({"status": "submitted"}), 1000);
    assert_eq!(submitted, expected[300..]);
    let (everything, _) = all_pages(&mut ctx, INSURER_A, &json!({}), 333);
    assert_eq!(everything, expected);
    let (theirs, _) = all_pages(&mut ctx, INSURER_B, &json!({"status": "submitted"}), 1000);
    assert_eq!(theirs.len(), 50);
}

fn mixed_claims() -> MockContext {
    // Transaction n runs at 2024-03-01T00:00:00Z + n seconds; claims 0..6 alternate hospitals and patients.
    let mut ctx = covered().with_timestamp(Timestamp::new(1_709_251_200, 0));
    for n in 0..6 {
        let provider = [HOSPITAL_A, HOSPITAL_B][n % 2];
        let patient = [PATIENT_1, PATIENT_2][n / 3];
        submit(
            &mut ctx,
            provider,
            &format!("CLM-{n}"),
            INSURER_A,
            patient,
            &small(n),
        )
        .expect("submit");
    }
    ctx
}

fn ids(ctx: &mut MockContext, filter: Value) -> Vec<String> {
    all_pages(ctx, INSURER_A, &filter, 2).0
}

#[test]
fn queries_by_provider_patient_and_period() {
    let mut ctx = mixed_claims();
    assert_eq!(
        ids(&mut ctx, json!({"provider": HOSPITAL_A})),
        ["CLM-0", "CLM-2", "CLM-4"]
    );
    assert_eq!(
        ids(&mut ctx, json!({"provider": HOSPITAL_B})),
        ["CLM-1", "CLM-3", "CLM-5"]
    );
    assert_eq!(
        ids(&mut ctx, json!({"patient": PATIENT_2})),
        ["CLM-3", "CLM-4", "CLM-5"]
    );
    // Period: [from, to) over submission instants, with any RFC 3339 prefix.
    assert_eq!(
        ids(
            &mut ctx,
            json!({"from": "2024-03-01T00:00:02", "to": "2024-03-01T00:00:04"})
        ),
        ["CLM-2", "CLM-3"]
    );
    assert_eq!(ids(&mut ctx, json!({"from": "2024-03"})).len(), 6);
    assert!(ids(&mut ctx, json!({"to": "2024-03-01"})).is_empty());
    assert_eq!(
        ids(
            &mut ctx,
            json!({"provider": HOSPITAL_A, "from": "2024-03-01T00:00:01"})
        ),
        ["CLM-2", "CLM-4"]
    );
    queue(&mut ctx, INSURER_A, "CLM-4").expect("queue");
    queue(&mut ctx, INSURER_A, "CLM-1").expect("queue");
    assert_eq!(
        ids(&mut ctx, json!({"status": "queued", "to": "2024-03-01T00:00:04"})),
        ["CLM-1"]
    );
    assert_eq!(
        ids(&mut ctx, json!({"status": "queued"})),
        ["CLM-1", "CLM-4"],
        "submission order, not queue order"
    );
    assert!(ids(&mut ctx, json!({"status": "paid"})).is_empty());
}

#[test]
fn claims_submitted_at_the_same_instant_are_ordered_by_id() {
    let mut ctx = covered();
    for id in ["CLM-C", "CLM-A", "CLM-B"] {
        ctx.set_timestamp(Timestamp::new(1_709_251_200, 0));
        submit(
            &mut ctx,
            HOSPITAL_A,
            id,
            INSURER_A,
            PATIENT_1,
            &small(id.len() + id.as_bytes()[4] as usize),
        )
        .expect("submit");
    }
    assert_eq!(ids(&mut ctx, json!({})), ["CLM-A", "CLM-B", "CLM-C"]);
}

#[test]
fn queries_are_insurer_only_and_bookmarks_belong_to_their_query() {
    let mut ctx = mixed_claims();
    assert_err(
        query(&mut ctx, billing(HOSPITAL_A), &["QueryClaims", "{}"]),
        403,
        &["needs attribute role=insurer or role=claims_adjuster to query claims"],
    );
    let page = query(
        &mut ctx,
        adjuster(INSURER_A),
        &["QueryClaims", r#"{"provider":"HospitalAMSP"}"#, "1"],
    )
    .expect("page");
    let bookmark = page["bookmark"].as_str().expect("bookmark").to_string();
    assert!(
        bookmark.bytes().all(|b| b.is_ascii_hexdigit()),
        "printable bookmark"
    );
    assert_err(
        query(
            &mut ctx,
            adjuster(INSURER_A),
            &["QueryClaims", r#"{"provider":"HospitalBMSP"}"#, "1", &bookmark],
        ),
        400,
        &["the bookmark belongs to another query"],
    );
    // InsurerB cannot use InsurerA's bookmark to read InsurerA's index.
    assert_err(
        query(
            &mut ctx,
            adjuster(INSURER_B),
            &["QueryClaims", r#"{"provider":"HospitalAMSP"}"#, "1", &bookmark],
        ),
        400,
        &["the bookmark belongs to another query"],
    );
    assert_err(
        query(&mut ctx, adjuster(INSURER_A), &["QueryClaims", "{}", "10", "zz"]),
        400,
        &["argument 3 is not a bookmark returned by QueryClaims"],
    );
    let page = query(&mut ctx, adjuster(INSURER_B), &["QueryClaims", "{}"]).expect("empty");
    assert_eq!(
        page,
        json!({"claims": [], "fetchedRecordsCount": 0, "bookmark": ""})
    );
    let range = &ctx.range_reads()[0];
    let prefix = chaincode_api::create_composite_key("claim~created", &[INSURER_B]).expect("prefix");
    assert!(
        range.start.starts_with(&prefix) && range.end.starts_with(&prefix),
        "scan confined to InsurerB's index"
    );
}
