//! The insurer's work queue on a multi-process network (issue 10): 1,000 claims from two hospitals, then the
//! insurer pages through them by status with bookmarks, in submission order, without a gap or a repeat;
//! `QueueClaims` moves exactly the oldest ones; a provider filter returns only that hospital's claims;
//! another insurer's query sees none of them; and a bookmark cannot be replayed against another filter.
//! All data is synthetic.

#![allow(clippy::unwrap_used)]

mod claims_net;

use std::collections::BTreeMap;
use std::sync::Arc;

use carechain_tests::{TestNet, args};
use claims_net::*;
use serde_json::Value;

const CLAIMS: usize = 1000;
const TASKS: usize = 16;
const PATIENTS: usize = 4;

fn patient(n: usize) -> String {
    format!("SYN-PSEUDO-{:04}", n % PATIENTS)
}

/// Claim `n`: from HospitalA when even, HospitalB when odd; its own synthetic service code, so no two are
/// duplicates.
fn claim(n: usize) -> (usize, Vec<String>, Value) {
    let hospital = if n.is_multiple_of(2) {
        HOSPITAL_A
    } else {
        HOSPITAL_B
    };
    let date = format!("2024-{:02}-{:02}", 1 + n % 12, 1 + n % 28);
    let doc = simple_claim(&format!("SYN{n:05}"), &date);
    (hospital, submit_args(&format!("CLM-{n:05}"), &patient(n)), doc)
}

/// Submits the 1,000 claims from `TASKS` concurrent clients; returns the committed public records.
async fn submit_all(net: &Arc<TestNet>) -> Vec<Value> {
    let mut tasks = Vec::new();
    for k in 0..TASKS {
        let net = net.clone();
        tasks.push(tokio::spawn(async move {
            let gws = [
                net.gateway(HOSPITAL_A, "billing").await.unwrap(),
                net.gateway(HOSPITAL_B, "billing").await.unwrap(),
            ];
            let mut out = Vec::new();
            for n in (k..CLAIMS).step_by(TASKS) {
                let (hospital, call, doc) = claim(n);
                let gw = &gws[hospital];
                let c = gw
                    .submit_transaction(
                        CH,
                        CC,
                        &args(&call.iter().map(String::as_str).collect::<Vec<_>>()),
                        &transient("claim", &doc),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("claim {n}: {e}"));
                out.push(serde_json::from_slice::<Value>(&c.result).unwrap());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// Every page of `filter` as `gw` sees it, with `size` records per page; asserts the page sizes and that
/// only the last bookmark is empty.
async fn pages(gw: &carechain_gateway::client::GatewayClient, filter: &str, size: usize) -> Vec<Value> {
    let mut bookmark = String::new();
    let mut records = Vec::new();
    loop {
        let page = query(gw, &["QueryClaims", filter, &size.to_string(), &bookmark])
            .await
            .unwrap();
        let claims = page["claims"].as_array().unwrap();
        assert_eq!(page["fetchedRecordsCount"], claims.len());
        records.extend(claims.iter().cloned());
        bookmark = page["bookmark"].as_str().unwrap().to_string();
        if bookmark.is_empty() {
            return records;
        }
        assert_eq!(claims.len(), size, "only the last page may be short");
    }
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Records sorted by submission instant, ties by id: the order every query promises.
fn in_submission_order(mut records: Vec<Value>) -> Vec<Value> {
    records.sort_by(|a, b| {
        (a["created"].as_str(), a["id"].as_str()).cmp(&(b["created"].as_str(), b["id"].as_str()))
    });
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_insurer_pages_through_1000_claims_by_status_in_submission_order() {
    let net = Arc::new(start().await);
    for p in 0..PATIENTS {
        cover(&net, INSURER, &patient(p)).await;
    }
    let started = std::time::Instant::now();
    let submitted = submit_all(&net).await;
    eprintln!("{CLAIMS} claims committed in {:?}", started.elapsed());
    let h = net.height(HOSPITAL_A).await.unwrap();
    net.wait_height(h, WAIT).await.unwrap();
    assert_eq!(submitted.len(), CLAIMS);
    let expected = in_submission_order(submitted);

    let adjuster = net.gateway(INSURER, "adjuster").await.unwrap();
    let all = pages(&adjuster, r#"{"status":"submitted"}"#, 100).await;
    assert_eq!(all.len(), CLAIMS);
    assert_eq!(ids(&all), ids(&expected), "every claim once, in submission order");
    assert!(
        all.iter()
            .all(|r| r["status"] == "submitted" && r["insurer"] == INSURER_MSP)
    );
    // Another page size walks the same sequence.
    assert_eq!(ids(&pages(&adjuster, "{}", 333).await), ids(&expected));

    // The 300 oldest go to the work queue in one transaction (a range read validation re-checks).
    let c = submit(&net, &adjuster, &["QueueClaims", "300"], &BTreeMap::new())
        .await
        .unwrap();
    let result: Value = serde_json::from_slice(&c.result).unwrap();
    assert_eq!(result["more"], true);
    let queued = pages(&adjuster, r#"{"status":"queued"}"#, 100).await;
    let still = pages(&adjuster, r#"{"status":"submitted"}"#, 100).await;
    assert_eq!(ids(&queued), ids(&expected[..300]), "exactly the oldest 300");
    assert_eq!(ids(&still), ids(&expected[300..]));

    // A provider filter returns that hospital's claims only, in order.
    let from_b = pages(&adjuster, r#"{"provider":"HospitalBMSP"}"#, 100).await;
    let expected_b: Vec<&Value> = expected
        .iter()
        .filter(|r| r["provider"] == HOSPITAL_B_MSP)
        .collect();
    assert_eq!(from_b.len(), CLAIMS / 2);
    assert!(from_b.iter().zip(&expected_b).all(|(a, b)| a["id"] == b["id"]));

    // Another insurer's range is its own: none of these claims.
    let other = net.gateway(INSURER_B, "adjuster").await.unwrap();
    let theirs = query(&other, &["QueryClaims", r#"{"status":"submitted"}"#, "1000"])
        .await
        .unwrap();
    assert_eq!(theirs["fetchedRecordsCount"], 0);
    assert_eq!(theirs["bookmark"], "");

    // A bookmark of one query is refused by another.
    let first = query(&adjuster, &["QueryClaims", r#"{"status":"submitted"}"#, "10"])
        .await
        .unwrap();
    let bookmark = first["bookmark"].as_str().unwrap();
    refused(
        query(
            &adjuster,
            &["QueryClaims", r#"{"status":"queued"}"#, "10", bookmark],
        )
        .await,
        &["400", "the bookmark belongs to another query"],
        "a bookmark replayed against another filter",
    );
}
