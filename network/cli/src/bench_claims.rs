//! The `claims` workload of `carechain bench`: a hospital's billing clerk submits FHIR R4 Claims to the
//! Insurer through the gateway, as a hospital's billing system would. Each submission puts the claim's
//! details in the (hospital, insurer) collection, is endorsed by both orgs (the collection's policy),
//! and is checked for duplicates over the contract's secondary indexes. Client `c` bills its own
//! synthetic patient, covered by a coverage the Insurer's `claims` user registers first; service dates
//! and codes vary per transaction so that no claim duplicates another.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::json;

use crate::bench::BenchArgs;

/// The org that registers coverage and is billed.
const INSURER: &str = "Insurer";
const INSURER_MSP: &str = "InsurerMSP";
/// CPT codes billed in turn (synthetic use).
const CODES: [&str; 10] = [
    "99223", "99232", "99233", "71046", "80053", "85025", "93000", "36415", "99285", "74177",
];

/// `bench-{run}-{client}` of a transaction id `bench-{run}-{client}-{n}`.
fn client_tag(tx_tag: &str) -> &str {
    tx_tag.rsplit_once('-').map_or(tx_tag, |(head, _)| head)
}

/// Registers one 2024 coverage per client, as the Insurer's `claims` user (`role=insurer`).
pub async fn seed(args: &BenchArgs, run: &str) -> anyhow::Result<()> {
    // Through the load's own gateway: when its commit status returns, that peer holds the coverage
    // the first claims read.
    let peer_org = crate::bench_target::load_org(args)?;
    let gw = crate::bench_target::connect_as(args, &peer_org, INSURER, "claims").await?;
    let none = BTreeMap::new();
    let calls: Vec<Vec<Vec<u8>>> = (0..args.clients)
        .map(|c| {
            let tag = format!("bench-{run}-{c}");
            [
                "RegisterCoverage",
                &format!("COV-{tag}"),
                &format!("SYN-{tag}"),
                "2024-01-01",
                "2024-12-31",
            ]
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect()
        })
        .collect();
    let mut calls = calls.into_iter().peekable();
    while calls.peek().is_some() {
        let mut pending = tokio::task::JoinSet::new();
        for call in calls.by_ref().take(256) {
            let (gw, channel, none) = (gw.clone(), args.channel.clone(), none.clone());
            pending.spawn(async move { gw.submit_transaction(&channel, "claims", &call, &none).await });
        }
        while let Some(done) = pending.join_next().await {
            done?.context("registering the bench patients' coverage")?;
        }
    }
    Ok(())
}

/// Day `ordinal` (0-based) of 2024, a leap year, as an ISO date.
fn date_2024(ordinal: u64) -> String {
    const MONTHS: [u64; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut day = ordinal % 366;
    for (m, len) in MONTHS.iter().enumerate() {
        if day < *len {
            return format!("2024-{:02}-{:02}", m + 1, day + 1);
        }
        day -= len;
    }
    "2024-12-31".to_string()
}

/// `SubmitClaim` number `n` of the client whose transaction tag is `tx_tag`: the call and its transient
/// claim (one item, 150.00 USD).
pub fn submit(tx_tag: &str, n: u64) -> (Vec<Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    let tag = client_tag(tx_tag);
    let code = CODES[(n / 366) as usize % CODES.len()];
    let claim = json!({
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J18.9"}]}}],
        "item": [{
            "sequence": 1,
            "diagnosisSequence": [1],
            "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": code}]},
            "servicedDate": date_2024(n % 366),
            "net": {"value": "150.00", "currency": "USD"}
        }],
        "total": {"value": "150.00", "currency": "USD"}
    });
    let call = [
        "SubmitClaim",
        tx_tag,
        INSURER_MSP,
        &format!("COV-{tag}"),
        &format!("SYN-{tag}"),
    ]
    .iter()
    .map(|a| a.as_bytes().to_vec())
    .collect();
    (
        call,
        BTreeMap::from([("claim".to_string(), claim.to_string().into_bytes())]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cover_2024_and_services_do_not_repeat_within_a_client() {
        assert_eq!(date_2024(0), "2024-01-01");
        assert_eq!(date_2024(59), "2024-02-29");
        assert_eq!(date_2024(365), "2024-12-31");
        assert_eq!(client_tag("bench-19a-3-17"), "bench-19a-3");
        let mut services = std::collections::BTreeSet::new();
        for n in 0..3660 {
            let (call, transient) = submit("bench-19a-3-0", n);
            assert_eq!(call[3], b"COV-bench-19a-3");
            let claim: serde_json::Value = serde_json::from_slice(&transient["claim"]).unwrap_or_default();
            let item = &claim["item"][0];
            let service = (
                item["servicedDate"].to_string(),
                item["productOrService"].to_string(),
            );
            assert!(services.insert(service), "claim {n} repeats a service");
        }
    }
}
